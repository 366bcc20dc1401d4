#pragma once
// gzip for tests that serve or decode compressed bodies: a text, or a "bomb" (zeros,
// compressed about 1000 to 1, as deflate allows at most) made without holding its
// decoded size in memory. Link ZLIB::ZLIB.
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cargomon::testing {

// `zeros` zero bytes after `text`, as one gzip member.
inline std::string gzip(std::string_view text, std::uint64_t zeros = 0) {
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    std::string out;
    char buf[64 * 1024];
    auto pump = [&](const char* data, std::size_t size, int flush) {
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
        z.avail_in = static_cast<uInt>(size);
        do {
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = sizeof buf;
            deflate(&z, flush);
            out.append(buf, sizeof buf - z.avail_out);
        } while (z.avail_out == 0);
    };
    pump(text.data(), text.size(), Z_NO_FLUSH);
    static const std::string block(1 << 20, '\0');
    for (std::uint64_t left = zeros; left > 0;) {
        const std::size_t n = left < block.size() ? static_cast<std::size_t>(left) : block.size();
        pump(block.data(), n, Z_NO_FLUSH);
        left -= n;
    }
    pump(nullptr, 0, Z_FINISH);
    deflateEnd(&z);
    return out;
}

// A gzip member of `bytes` zero bytes: ~1 MiB of it inflates to 1 GiB.
inline std::string gzip_bomb(std::uint64_t bytes) { return gzip("", bytes); }

}  // namespace cargomon::testing
