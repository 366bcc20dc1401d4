#pragma once
// One series' samples in a compressed chunk, after Gorilla (Pelkonen et al., VLDB 2015)
// as Prometheus' XOR chunks encode them: a timestamp as the change of its delta from the
// previous one (a regular interval costs one bit), a value as its XOR with the previous
// one (an unchanged value costs one bit, a counter's small step a dozen or two). Ours is
// not byte-compatible with Prometheus' chunk files (nothing reads those here); the ideas
// and the ~120 samples a chunk are the same.
//
// Layout, bits in order, most significant first:
//   sample 0: t as a zig-zag varint (8-bit groups), v as its 64 bits
//   sample 1: t - t0 as a zig-zag varint, v as below
//   sample n: dod = (t - t[n-1]) - (t[n-1] - t[n-2]):
//             '0' dod 0 | '10' 14 bits | '110' 17 bits | '1110' 20 bits | '1111' 64 bits
//             (two's complement), then v as below
//   v:        '0' same bits as before | '10' the XOR's significant bits inside the
//             previous window | '11' 5 bits leading zeros, 6 bits significant count
//             (0 means 64), then those bits
// Arithmetic on timestamps wraps (unsigned), so any int64 sequence round-trips exactly,
// equal and decreasing ones too (Head refuses those before they get here).
//
// Thread-safety: none; the owner (Head's series) locks.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace cargomon::tsdb {

// One sample: t in Unix milliseconds, v any double (NaN, stale markers and infinities
// keep their exact bits).
struct Sample {
    std::int64_t t;
    double v;
};

// A chunk is closed after this many samples, as Prometheus' head does.
inline constexpr std::size_t kSamplesPerChunk = 120;

class ChunkEncoder {
public:
    void append(std::int64_t t, double v);
    std::size_t count() const { return count_; }
    const std::vector<std::uint8_t>& bytes() const { return bytes_; }
    // The encoded bytes, trimmed to size; the encoder is empty afterwards.
    std::vector<std::uint8_t> finish();

private:
    void put_bits(std::uint64_t bits, unsigned n);
    void put_varint(std::int64_t value);
    void put_value(std::uint64_t bits);

    std::vector<std::uint8_t> bytes_;
    std::uint8_t free_bits_ = 0;  // unused low bits of bytes_.back()
    std::uint8_t leading_ = 0xff;  // the window of the last '11' value; 0xff: none yet
    std::uint8_t trailing_ = 0;
    std::uint32_t count_ = 0;
    std::uint64_t t_ = 0;
    std::uint64_t delta_ = 0;
    std::uint64_t v_ = 0;
};

// Reads a chunk written by ChunkEncoder, whose sample count is known from elsewhere.
// Never reads past `bytes`; malformed input ends it with failed() set.
class ChunkDecoder {
public:
    ChunkDecoder(std::span<const std::uint8_t> bytes, std::size_t count) : bytes_(bytes), left_(count) {}
    // Moves to the next sample; false at the end or on malformed input.
    bool next();
    Sample at() const;
    bool failed() const { return failed_; }

private:
    bool get_bits(unsigned n, std::uint64_t& out);
    bool get_varint(std::int64_t& out);
    bool get_value();

    std::span<const std::uint8_t> bytes_;
    std::size_t bit_ = 0;
    std::size_t left_;
    std::size_t read_ = 0;
    bool failed_ = false;
    std::uint8_t leading_ = 0xff;
    std::uint8_t trailing_ = 0;
    std::uint64_t t_ = 0;
    std::uint64_t delta_ = 0;
    std::uint64_t v_ = 0;
};

// Appends the chunk's `count` samples to `out`; false (with `out` holding what decoded
// before) when the bytes are malformed or hold fewer samples.
bool decode_chunk(std::span<const std::uint8_t> bytes, std::size_t count, std::vector<Sample>& out);

}  // namespace cargomon::tsdb
