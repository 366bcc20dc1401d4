#include "tsdb/chunk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "metrics/model.h"

namespace cargomon::tsdb {
namespace {

std::vector<Sample> round_trip(const std::vector<Sample>& in) {
    ChunkEncoder encoder;
    for (const auto& s : in) encoder.append(s.t, s.v);
    EXPECT_EQ(encoder.count(), in.size());
    const auto bytes = encoder.finish();
    std::vector<Sample> out;
    EXPECT_TRUE(decode_chunk(bytes, in.size(), out));
    return out;
}

// Exact bits: NaN payloads (the stale marker) must survive, and NaN != NaN.
void expect_same(const std::vector<Sample>& a, const std::vector<Sample>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].t, b[i].t) << i;
        EXPECT_EQ(std::bit_cast<std::uint64_t>(a[i].v), std::bit_cast<std::uint64_t>(b[i].v)) << i;
    }
}

TEST(Chunk, RoundTripsSpecialValues) {
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<Sample> in = {
        {1000, 0.0},     {2000, -0.0},      {3000, std::nan("")},      {4000, metrics::stale_nan()},
        {5000, inf},     {6000, -inf},      {7000, 1e308},             {8000, -4.9e-324},
        {9000, 42.0},    {10000, 42.0},     {11000, metrics::stale_nan()}, {12000, 1.5},
    };
    const auto out = round_trip(in);
    expect_same(in, out);
    EXPECT_TRUE(metrics::is_stale_nan(out[3].v));
    EXPECT_TRUE(std::isnan(out[2].v) && !metrics::is_stale_nan(out[2].v));
}

TEST(Chunk, RoundTripsEqualIrregularAndHugeTimestamps) {
    const std::int64_t max = std::numeric_limits<std::int64_t>::max();
    const std::int64_t min = std::numeric_limits<std::int64_t>::min();
    const std::vector<Sample> in = {
        {min, 1}, {min, 2}, {0, 3}, {1, 4}, {1, 5}, {max, 6}, {min + 1, 7}, {5, 8},
        {5 + 8191, 9}, {5 + 8191 + 8191 + 8192, 10}, {1'700'000'000'000, 11}, {1'700'000'060'000, 12},
        {1'700'000'120'001, 13}, {1'700'000'180'000, 14}, {-1, 15}, {max, 16},
    };
    expect_same(in, round_trip(in));
}

TEST(Chunk, EveryDodBucketEdgeRoundTrips) {
    std::vector<Sample> in;
    std::int64_t t = 1'000'000, delta = 60'000;
    in.push_back({t, 0});
    t += delta;
    in.push_back({t, 1});
    for (std::int64_t dod : {0L, 1L, -1L, 8191L, -8192L, 8192L, -8193L, 65535L, -65536L, 65536L, 524287L, -524288L,
                             524288L, -524289L, 1L << 40, -(1L << 40)}) {
        delta += dod;
        t += delta;
        in.push_back({t, static_cast<double>(in.size())});
    }
    expect_same(in, round_trip(in));
}

TEST(Chunk, RandomValuesAndTimesRoundTrip) {
    std::mt19937_64 random(7);
    for (int round = 0; round < 200; ++round) {
        std::vector<Sample> in;
        // Wrapping steps, in unsigned arithmetic (a signed overflow would be undefined):
        // any 64-bit time after any other, huge deltas of both signs included.
        std::uint64_t t = random();
        for (std::size_t i = 0; i < kSamplesPerChunk; ++i) {
            t += random() % 3 == 0 ? random() : random() % 100'000;
            in.push_back({static_cast<std::int64_t>(t), std::bit_cast<double>(random())});
        }
        expect_same(in, round_trip(in));
    }
}

TEST(Chunk, RegularCounterCostsAboutOneByteASample) {
    ChunkEncoder encoder;
    double value = 1000;
    for (std::size_t i = 0; i < kSamplesPerChunk; ++i) {
        encoder.append(1'700'000'000'000 + static_cast<std::int64_t>(i) * 60'000, value);
        value += static_cast<double>(i % 7);
    }
    // Regular timestamps cost a bit each; a small integer step a dozen-odd bits.
    EXPECT_LE(encoder.bytes().size(), 2 * kSamplesPerChunk);
}

TEST(Chunk, TruncatedAndGarbageInputFailsWithoutReadingPast) {
    ChunkEncoder encoder;
    for (int i = 0; i < 50; ++i) encoder.append(i * 15'000, i * 1.25);
    const auto bytes = encoder.finish();
    for (std::size_t cut = 0; cut + 1 < bytes.size(); ++cut) {
        std::vector<Sample> out;
        const std::vector<std::uint8_t> part(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
        EXPECT_FALSE(decode_chunk(part, 50, out)) << cut;
        EXPECT_LT(out.size(), 50u);
    }
    std::vector<Sample> out;
    EXPECT_FALSE(decode_chunk(bytes, 51, out));  // more samples than written
    EXPECT_EQ(out.size(), 50u);
    const std::vector<std::uint8_t> ones(16, 0xff);  // an endless varint
    out.clear();
    EXPECT_FALSE(decode_chunk(ones, 3, out));
}

TEST(Chunk, EmptyChunkDecodesToNothing) {
    std::vector<Sample> out;
    EXPECT_TRUE(decode_chunk({}, 0, out));
    EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace cargomon::tsdb
