#include "exporters/gzip.h"

#include <zlib.h>

#include <cctype>
#include <charconv>
#include <limits>
#include <stdexcept>

#include "common/text.h"

namespace cargomon::exporters {

bool accepts_gzip(std::string_view accept_encoding) {
    while (!accept_encoding.empty()) {
        auto comma = accept_encoding.find(',');
        auto item = accept_encoding.substr(0, comma);
        accept_encoding = comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
        auto semi = item.find(';');
        auto coding = to_lower(trim(item.substr(0, semi)));
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

namespace {

// Raw deflate (no header) of the pieces. `finish` ends the stream with its final block;
// otherwise it ends with a full flush: byte-aligned, not final, and with no back
// reference needed by what follows, so an independently compressed stream may follow.
std::string deflate_raw(const std::vector<std::string_view>& pieces, bool finish, uLong& crc, std::size_t& length) {
    z_stream stream{};
    // Negative window bits: raw deflate; gzip_join writes the header and trailer itself.
    if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    crc = crc32(0L, Z_NULL, 0);
    length = 0;
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
        length += piece.size();
        // zlib counts input in 32-bit units, so feed big pieces in slices.
        while (!piece.empty()) {
            auto slice = piece.substr(0, std::numeric_limits<uInt>::max());
            piece.remove_prefix(slice.size());
            stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(slice.data()));
            stream.avail_in = static_cast<uInt>(slice.size());
            crc = crc32(crc, stream.next_in, stream.avail_in);
            drain(Z_NO_FLUSH);
        }
    }
    int rc = drain(finish ? Z_FINISH : Z_FULL_FLUSH);
    deflateEnd(&stream);
    if (finish ? rc != Z_STREAM_END : rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("zlib: deflate failed");
    return out;
}

void put_le32(std::string& out, uLong value) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

}  // namespace

GzipTail gzip_tail(const std::vector<std::string_view>& pieces) {
    GzipTail tail;
    tail.deflated = deflate_raw(pieces, true, tail.crc, tail.length);
    return tail;
}

std::string gzip_join(const std::vector<std::string_view>& head, const GzipTail& tail) {
    uLong crc = 0;
    std::size_t length = 0;
    // RFC 1952 member header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
    std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    out += deflate_raw(head, false, crc, length);
    out += tail.deflated;
    put_le32(out, crc32_combine(crc, tail.crc, static_cast<z_off_t>(tail.length)));
    put_le32(out, static_cast<uLong>((length + tail.length) & 0xffffffffu));
    return out;
}

std::string gzip_compress(const std::vector<std::string_view>& pieces) { return gzip_join({}, gzip_tail(pieces)); }

}  // namespace cargomon::exporters
