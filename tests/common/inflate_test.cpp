// The one bounded inflater (common/inflate.h): streamed in pieces it decodes what the
// whole-body call does, stops at its limit without handing on the chunk that passes it,
// and tells a cut or trailing-garbage stream from a good one.
#include "common/inflate.h"

#include <gtest/gtest.h>

#include "common/text.h"
#include "tests/support/gzip.h"

namespace cargomon {
namespace {

using testing::gzip;

struct Streamed {
    InflateStatus status;
    std::string data;
    std::size_t largest_call = 0;
};

Streamed stream(std::string_view coding, std::string_view body, std::size_t piece, std::uint64_t limit) {
    Streamed out{InflateStatus::ok, {}};
    Inflater inflater(coding, limit, [&](std::string_view d) {
        out.data.append(d);
        out.largest_call = std::max(out.largest_call, d.size());
    });
    for (std::size_t at = 0; at < body.size() && out.status == InflateStatus::ok; at += piece)
        out.status = inflater.write(body.substr(at, piece));
    if (out.status == InflateStatus::ok) out.status = inflater.finish();
    EXPECT_EQ(inflater.decoded_bytes(), out.data.size());
    return out;
}

TEST(Inflate, StreamedInAnyPiecesItDecodesWhatTheWholeBodyDoes) {
    std::string text;
    for (int i = 0; i < 20'000; ++i) text += "row " + std::to_string(i * 7919 % 10007) + "\n";
    const std::string packed = gzip(text);
    ASSERT_EQ(inflate_body("gzip", packed, 1 << 30).data, text);
    for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, packed.size()}) {
        const Streamed s = stream("gzip", packed, piece, 1 << 30);
        EXPECT_EQ(s.status, InflateStatus::ok) << piece;
        EXPECT_EQ(s.data, text) << piece;
    }
    EXPECT_EQ(stream("identity", text, 100, 1 << 30).data, text);
    EXPECT_EQ(stream("", text, 100, 1 << 30).data, text);
}

// 64 MiB of zeros in ~64 KB: before, the server inflated request bodies whole and the
// client had no inflater of its own (httplib's has no cap).
TEST(Inflate, ABombStopsAtTheLimitAndTheSinkNeverGetsPastIt) {
    const std::string bomb = testing::gzip_bomb(64 << 20);
    const Streamed s = stream("gzip", bomb, 64 * 1024, 1 << 20);
    EXPECT_EQ(s.status, InflateStatus::too_large);
    EXPECT_LE(s.data.size(), std::size_t{1} << 20);
    EXPECT_LE(s.largest_call, std::size_t{16384}) << "decoded output is handed on in small pieces";
    EXPECT_EQ(inflate_body("gzip", bomb, 1 << 20).status, InflateStatus::too_large);
    // Plain bytes count too.
    EXPECT_EQ(stream("identity", std::string((1 << 20) + 1, 'x'), 4096, 1 << 20).status, InflateStatus::too_large);
    EXPECT_EQ(stream("identity", std::string(1 << 20, 'x'), 4096, 1 << 20).status, InflateStatus::ok);
}

TEST(Inflate, GzipMembersFollowEachOtherButNothingFollowsADeflateStream) {
    const std::string two = gzip("first\n") + gzip("second\n");
    EXPECT_EQ(stream("gzip", two, 3, 1024).data, "first\nsecond\n");
    EXPECT_EQ(stream("x-gzip", two, two.size(), 1024).data, "first\nsecond\n");
    // "deflate" accepts a gzip header too (15 + 32), but one stream only.
    EXPECT_EQ(stream("deflate", gzip("one"), 2, 1024).data, "one");
    EXPECT_EQ(stream("deflate", two, 5, 1024).status, InflateStatus::corrupt);
    EXPECT_EQ(stream("gzip", gzip("one") + "trailing garbage", 5, 1024).status, InflateStatus::corrupt);
}

TEST(Inflate, ACutOrCorruptStreamIsCorruptAndNoBytesIsAnEmptyBody) {
    const std::string packed = gzip(std::string(50'000, 'y') + "z");
    EXPECT_EQ(stream("gzip", packed.substr(0, packed.size() / 2), 100, 1 << 20).status, InflateStatus::corrupt);
    EXPECT_EQ(stream("gzip", packed.substr(0, packed.size() - 1), 100, 1 << 20).status, InflateStatus::corrupt);
    EXPECT_EQ(stream("gzip", "\x1f\x8b not gzip at all", 4, 1024).status, InflateStatus::corrupt);
    EXPECT_EQ(stream("br", "not brotli at all, not even close", 4, 1024).status, InflateStatus::corrupt);
    EXPECT_EQ(stream("gzip", "", 1, 1024).status, InflateStatus::ok);
    EXPECT_EQ(inflate_body("gzip", packed.substr(0, 10), 1 << 20).status, InflateStatus::corrupt);
}

TEST(Inflate, OnlyTheKnownCodingsAreSupported) {
    for (const char* coding : {"gzip", "GZIP", " x-gzip ", "deflate", "br", "identity", ""})
        EXPECT_TRUE(inflate_supported(coding)) << coding;
    for (const char* coding : {"compress", "gzip, br", "zstd", "gzip;q=1"}) {
        EXPECT_FALSE(inflate_supported(coding)) << coding;
        EXPECT_THROW(Inflater(coding, 1, [](std::string_view) {}), std::invalid_argument) << coding;
        EXPECT_EQ(inflate_body(coding, "x", 10).status, InflateStatus::unsupported) << coding;
    }
}

TEST(ByteSize, ParsesWholeNumbersWithPowersOf1024AndFormatsThemBack) {
    EXPECT_EQ(parse_byte_size("1048576"), 1u << 20);
    EXPECT_EQ(parse_byte_size("512KiB"), 512u << 10);
    EXPECT_EQ(parse_byte_size("64MiB"), 64u << 20);
    EXPECT_EQ(parse_byte_size("4GiB"), std::uint64_t{4} << 30);
    EXPECT_EQ(parse_byte_size("1TiB"), std::uint64_t{1} << 40);
    for (const char* bad : {"", "MiB", "-1", "1.5MiB", "64 MiB", "64mb", "64MB", "0x10", "9223372036854775809",
                            "8388609TiB"})
        EXPECT_FALSE(parse_byte_size(bad)) << bad;
    EXPECT_EQ(format_byte_size(64u << 20), "64MiB");
    EXPECT_EQ(format_byte_size(std::uint64_t{4} << 30), "4GiB");
    EXPECT_EQ(format_byte_size(1536), "1536");
    EXPECT_EQ(format_byte_size(1000), "1000");
    EXPECT_EQ(format_byte_size(0), "0");
}

}  // namespace
}  // namespace cargomon
