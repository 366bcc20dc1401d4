#include "common/inflate.h"

#include <brotli/decode.h>
#include <zlib.h>

#include <algorithm>
#include <stdexcept>

#include "common/text.h"

namespace cargomon {
namespace {

enum class Coding { identity, zlib, gzip, brotli, unknown };

Coding coding_of(std::string_view encoding) {
    const std::string coding = to_lower(trim(encoding));
    if (coding.empty() || coding == "identity") return Coding::identity;
    if (coding == "gzip" || coding == "x-gzip") return Coding::gzip;
    if (coding == "deflate") return Coding::zlib;
    if (coding == "br") return Coding::brotli;
    return Coding::unknown;
}

constexpr std::size_t kChunk = 16384;
// zlib counts input in 32-bit uInt: a larger piece is fed in slices.
constexpr std::size_t kMaxSlice = std::size_t{1} << 30;

}  // namespace

struct Inflater::Zlib {
    z_stream z{};
    bool members = false;  // gzip: another member may follow the end of one
    bool started = false;  // any input yet
    bool ended = false;    // the last stream (member) reached its end
    ~Zlib() { inflateEnd(&z); }
};

struct Inflater::Brotli {
    BrotliDecoderState* state = nullptr;
    bool started = false;
    bool ended = false;
    ~Brotli() { BrotliDecoderDestroyInstance(state); }
};

bool inflate_supported(std::string_view encoding) { return coding_of(encoding) != Coding::unknown; }

Inflater::Inflater(std::string_view encoding, std::uint64_t limit, Sink sink) : limit_(limit), sink_(std::move(sink)) {
    switch (coding_of(encoding)) {
        case Coding::identity:
            kind_ = Kind::identity;
            break;
        case Coding::zlib:
        case Coding::gzip:
            kind_ = Kind::zlib;
            zlib_ = std::make_unique<Zlib>();
            zlib_->members = coding_of(encoding) == Coding::gzip;
            // 15 + 32: a gzip or a zlib header, so "deflate" as most clients send it works too.
            if (inflateInit2(&zlib_->z, 15 + 32) != Z_OK) throw std::runtime_error("inflate: cannot start zlib");
            break;
        case Coding::brotli:
            kind_ = Kind::brotli;
            brotli_ = std::make_unique<Brotli>();
            brotli_->state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
            if (!brotli_->state) throw std::runtime_error("inflate: cannot start brotli");
            break;
        case Coding::unknown:
            throw std::invalid_argument("unsupported content coding \"" + printable(encoding, 64) + "\"");
    }
}

Inflater::~Inflater() = default;

InflateStatus Inflater::emit(const char* data, std::size_t size) {
    if (size == 0) return status_;
    if (size > limit_ - produced_) return fail(InflateStatus::too_large);
    produced_ += size;
    sink_({data, size});
    return status_;
}

InflateStatus Inflater::write(std::string_view encoded) {
    if (status_ != InflateStatus::ok) return status_;
    if (encoded.size() > kMaxSlice) {
        for (std::size_t at = 0; at < encoded.size() && status_ == InflateStatus::ok; at += kMaxSlice)
            write(encoded.substr(at, kMaxSlice));
        return status_;
    }
    if (kind_ == Kind::identity) return emit(encoded.data(), encoded.size());
    char out[kChunk];
    if (kind_ == Kind::zlib) {
        Zlib& s = *zlib_;
        z_stream& z = s.z;
        s.started = s.started || !encoded.empty();
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(encoded.data()));
        z.avail_in = static_cast<uInt>(encoded.size());
        for (;;) {
            if (s.ended) {
                if (z.avail_in == 0) break;
                // Only gzip has members; after a zlib stream nothing may follow.
                if (!s.members || inflateReset(&z) != Z_OK) return fail(InflateStatus::corrupt);
                s.ended = false;
            }
            z.next_out = reinterpret_cast<Bytef*>(out);
            z.avail_out = sizeof out;
            const int rc = inflate(&z, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) return fail(InflateStatus::corrupt);
            if (emit(out, sizeof out - z.avail_out) != InflateStatus::ok) return status_;
            if (rc == Z_STREAM_END) {
                s.ended = true;
                continue;
            }
            // All input taken and room left for output: zlib needs more input.
            if ((z.avail_in == 0 && z.avail_out != 0) || rc == Z_BUF_ERROR) break;
        }
        return status_;
    }
    Brotli& s = *brotli_;
    s.started = s.started || !encoded.empty();
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(encoded.data());
    std::size_t avail_in = encoded.size();
    for (;;) {
        if (s.ended) return avail_in == 0 ? status_ : fail(InflateStatus::corrupt);
        auto* next_out = reinterpret_cast<std::uint8_t*>(out);
        std::size_t avail_out = sizeof out;
        const auto rc = BrotliDecoderDecompressStream(s.state, &avail_in, &next_in, &avail_out, &next_out, nullptr);
        if (rc == BROTLI_DECODER_RESULT_ERROR) return fail(InflateStatus::corrupt);
        if (emit(out, sizeof out - avail_out) != InflateStatus::ok) return status_;
        if (rc == BROTLI_DECODER_RESULT_SUCCESS) s.ended = true;
        else if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return status_;
    }
}

InflateStatus Inflater::finish() {
    if (status_ != InflateStatus::ok) return status_;
    // No bytes at all is an empty body (a 204 may still name a coding); some bytes that
    // stop before the stream's end are a cut one.
    if (kind_ == Kind::zlib && zlib_->started && !zlib_->ended) return fail(InflateStatus::corrupt);
    if (kind_ == Kind::brotli && brotli_->started && !brotli_->ended) return fail(InflateStatus::corrupt);
    return status_;
}

Inflated inflate_body(std::string_view encoding, std::string_view body, std::size_t limit) {
    if (!inflate_supported(encoding)) return {InflateStatus::unsupported, {}};
    Inflated out;
    Inflater inflater(encoding, limit, [&](std::string_view decoded) { out.data.append(decoded); });
    InflateStatus status = inflater.write(body);
    if (status == InflateStatus::ok) status = inflater.finish();
    if (status != InflateStatus::ok) return {status, {}};
    return out;
}

}  // namespace cargomon
