#include "web/gzip.h"

#include <zlib.h>

#include <cctype>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace cargomon::web {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
    while (!accept_encoding.empty()) {
        auto comma = accept_encoding.find(',');
        auto item = accept_encoding.substr(0, comma);
        accept_encoding = comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
        auto semi = item.find(';');
        auto coding = lower(trim(item.substr(0, semi)));
        double q = 1;
        if (semi != std::string_view::npos) {
            auto param = trim(item.substr(semi + 1));
            if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
                auto value = param.substr(2);
                auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
                if (ec != std::errc{}) q = 0;
            }
        }
        if ((coding == "gzip" || coding == "x-gzip" || coding == "*") && q > 0) return true;
    }
    return false;
}

std::string gzip_compress(const std::vector<std::string_view>& pieces) {
    z_stream stream{};
    constexpr int gzip_window = 15 + 16;  // +16 asks zlib for the gzip header and trailer
    if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, gzip_window, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    std::string out;
    char buf[64 * 1024];
    auto drain = [&](int flush) {
        int rc;
        do {
            stream.next_out = reinterpret_cast<Bytef*>(buf);
            stream.avail_out = sizeof buf;
            rc = deflate(&stream, flush);
            out.append(buf, sizeof buf - stream.avail_out);
        } while (stream.avail_out == 0 && rc == Z_OK);
        return rc;
    };
    for (auto piece : pieces) {
        // zlib counts input in 32-bit units, so feed big pieces in slices.
        while (!piece.empty()) {
            auto slice = piece.substr(0, std::numeric_limits<uInt>::max());
            piece.remove_prefix(slice.size());
            stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(slice.data()));
            stream.avail_in = static_cast<uInt>(slice.size());
            drain(Z_NO_FLUSH);
        }
    }
    int rc = drain(Z_FINISH);
    deflateEnd(&stream);
    if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate failed");
    return out;
}

}  // namespace cargomon::web
