#include "web/inflate.h"

#include <brotli/decode.h>
#include <zlib.h>

#include <memory>

#include "common/text.h"

namespace cargomon::web {
namespace {

Inflated zlib_inflate(std::string_view body, std::size_t limit) {
    z_stream zs{};
    // 15 + 32: accept a gzip or a zlib header, so "deflate" as most clients send it works too.
    if (inflateInit2(&zs, 15 + 32) != Z_OK) return {InflateStatus::corrupt, {}};
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
    Inflated out;
    char chunk[16384];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
    zs.avail_in = static_cast<uInt>(body.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(chunk);
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) return {InflateStatus::corrupt, {}};
        std::size_t produced = sizeof chunk - zs.avail_out;
        if (out.data.size() + produced > limit) return {InflateStatus::too_large, {}};
        out.data.append(chunk, produced);
        if (rc == Z_OK && produced == 0 && zs.avail_in == 0) return {InflateStatus::corrupt, {}};  // truncated
    }
    return out;
}

Inflated brotli_inflate(std::string_view body, std::size_t limit) {
    std::unique_ptr<BrotliDecoderState, void (*)(BrotliDecoderState*)> state(
        BrotliDecoderCreateInstance(nullptr, nullptr, nullptr), BrotliDecoderDestroyInstance);
    if (!state) return {InflateStatus::corrupt, {}};
    Inflated out;
    const auto* next_in = reinterpret_cast<const uint8_t*>(body.data());
    std::size_t avail_in = body.size();
    uint8_t chunk[16384];
    while (true) {
        uint8_t* next_out = chunk;
        std::size_t avail_out = sizeof chunk;
        auto rc = BrotliDecoderDecompressStream(state.get(), &avail_in, &next_in, &avail_out, &next_out, nullptr);
        std::size_t produced = sizeof chunk - avail_out;
        if (out.data.size() + produced > limit) return {InflateStatus::too_large, {}};
        out.data.append(reinterpret_cast<const char*>(chunk), produced);
        if (rc == BROTLI_DECODER_RESULT_SUCCESS) return out;
        if (rc == BROTLI_DECODER_RESULT_ERROR || rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
            return {InflateStatus::corrupt, {}};
    }
}

}  // namespace

Inflated inflate_body(std::string_view encoding, std::string_view body, std::size_t limit) {
    std::string coding = to_lower(trim(encoding));
    if (coding.empty() || coding == "identity") {
        if (body.size() > limit) return {InflateStatus::too_large, {}};
        return {InflateStatus::ok, std::string(body)};
    }
    if (coding == "gzip" || coding == "x-gzip" || coding == "deflate") return zlib_inflate(body, limit);
    if (coding == "br") return brotli_inflate(body, limit);
    return {InflateStatus::unsupported, {}};
}

}  // namespace cargomon::web
