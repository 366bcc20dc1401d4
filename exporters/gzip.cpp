#include "exporters/gzip.h"

#include <zlib.h>

#include <cctype>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace cargomon::exporters {
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

std::string gzip_compress(std::string_view data) {
    if (data.size() > std::numeric_limits<uInt>::max()) throw std::length_error("gzip: input above 4 GiB");
    z_stream stream{};
    constexpr int gzip_window = 15 + 16;  // +16 asks zlib for the gzip header and trailer
    if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, gzip_window, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&stream, Z_FINISH);
    deflateEnd(&stream);
    if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate failed");
    out.resize(stream.total_out);
    return out;
}

}  // namespace cargomon::exporters
