#pragma once
// The generator's random numbers: a fixed algorithm (xoshiro256**, seeded by
// splitmix64) and hand-written distributions, because std:: distributions differ
// between standard libraries and the rows must be identical for a seed everywhere.
#include <cmath>
#include <cstdint>
#include <string>

namespace cargomon::sim {

class Rng {
public:
    explicit Rng(std::uint64_t seed) {
        for (auto& word : s_) word = splitmix(seed);
    }
    // A generator for a sub-stream (a workflow, a day...) that does not shift when
    // other streams draw more or fewer numbers.
    Rng fork(std::uint64_t stream) const { return Rng(s_[0] ^ splitmix_value(stream + 0x9E3779B97F4A7C15ULL)); }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }  // bias is negligible for small n
    int between(int lo, int hi) { return lo + static_cast<int>(below(static_cast<std::uint64_t>(hi - lo + 1))); }
    bool chance(double p) { return uniform() < p; }
    double exponential(double mean) { return -mean * std::log1p(-uniform()); }

    // A version-4 uuid, written as 36 characters into `out`.
    void uuid(char* out) {
        static constexpr char hex[] = "0123456789abcdef";
        std::uint64_t hi = next(), lo = next();
        hi = (hi & ~0xF000ULL) | 0x4000ULL;                         // version 4
        lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
        int pos = 0;
        auto put = [&](std::uint64_t v, int nibbles_from, int count) {
            for (int i = 0; i < count; ++i) out[pos++] = hex[(v >> (4 * (nibbles_from - 1 - i))) & 0xF];
        };
        put(hi, 16, 8);
        out[pos++] = '-';
        put(hi, 8, 4);
        out[pos++] = '-';
        put(hi, 4, 4);
        out[pos++] = '-';
        put(lo, 16, 4);
        out[pos++] = '-';
        put(lo, 12, 12);
    }
    std::string uuid() {
        std::string s(36, '\0');
        uuid(s.data());
        return s;
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix_value(std::uint64_t z) {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    static std::uint64_t splitmix(std::uint64_t& state) { return splitmix_value(state += 0x9E3779B97F4A7C15ULL); }

    std::uint64_t s_[4];
};

}  // namespace cargomon::sim
