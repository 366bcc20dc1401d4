#pragma once
// Test helper: the inverse of gzip_compress, written against zlib directly.
#include <zlib.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace cargomon::web::testing_support {

inline std::string gunzip(std::string_view data) {
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2");
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    std::string out;
    char buf[65536];
    int rc;
    do {
        stream.next_out = reinterpret_cast<Bytef*>(buf);
        stream.avail_out = sizeof buf;
        rc = inflate(&stream, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&stream);
            throw std::runtime_error("not gzip data");
        }
        out.append(buf, sizeof buf - stream.avail_out);
    } while (rc != Z_STREAM_END);
    inflateEnd(&stream);
    return out;
}

}  // namespace cargomon::web::testing_support
