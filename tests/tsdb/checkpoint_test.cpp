#include "tsdb/checkpoint.h"

#include <gtest/gtest.h>

#include <bit>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace cargomon::tsdb {
namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// name -> every sample, for comparing two heads exactly (bits of values included).
std::map<std::string, std::vector<std::pair<std::int64_t, std::uint64_t>>> contents(const Head& head) {
    std::map<std::string, std::vector<std::pair<std::int64_t, std::uint64_t>>> out;
    head.select({}, kMinTime, kMaxTime, [&](const metrics::Labels& labels, std::span<const Sample> samples) {
        auto& list = out[metrics::labels_text(labels)];
        for (const auto& s : samples) list.emplace_back(s.t, std::bit_cast<std::uint64_t>(s.v));
    });
    return out;
}

void fill(Head& head) {
    for (std::int64_t t = 0; t < 300; ++t) {
        head.append({{"__name__", "up"}, {"job", "a"}}, 1'700'000'000'000 + t * 60'000, 1);
        head.append({{"__name__", "errors_total"}, {"path", "/ü"}}, 1'700'000'000'000 + t * 61'000,
                    static_cast<double>(t * t));
    }
    head.append({{"__name__", "gone"}}, 5, metrics::stale_nan());
}

class Checkpoint : public ::testing::Test {
protected:
    testing::TempDir dir;
    std::string path = dir.file("history.ckpt");

    CheckpointLoaded load_text(const std::string& text, Head& into, std::size_t cap = std::size_t{1} << 30) {
        std::istringstream in(text);
        return load_checkpoint(in, into, cap);
    }
};

TEST_F(Checkpoint, RoundTripsEverySampleExactly) {
    Head head;
    fill(head);
    const auto written = write_checkpoint(head, path);
    EXPECT_EQ(written.series, 3u);
    EXPECT_EQ(written.samples, 601u);
    EXPECT_EQ(written.bytes, std::filesystem::file_size(path));

    Head restored;
    const auto loaded = load_text(read_file(path), restored);
    EXPECT_EQ(loaded.error, std::nullopt);
    EXPECT_EQ(loaded.series, 3u);
    EXPECT_EQ(loaded.samples, 601u);
    EXPECT_EQ(contents(restored), contents(head));
    EXPECT_EQ(restored.stats().samples, head.stats().samples);
    // Appending goes on where the checkpoint ended; earlier times are refused.
    EXPECT_EQ(restored.append({{"__name__", "up"}, {"job", "a"}}, 1'700'000'000'000 + 300 * 60'000, 1),
              Head::Appended::ok);
    EXPECT_EQ(restored.append({{"__name__", "up"}, {"job", "a"}}, 1'700'000'000'000, 1), Head::Appended::out_of_order);
}

TEST_F(Checkpoint, EmptyHeadRoundTrips) {
    Head head;
    write_checkpoint(head, path);
    Head restored;
    const auto loaded = load_text(read_file(path), restored);
    EXPECT_EQ(loaded.error, std::nullopt);
    EXPECT_EQ(loaded.series, 0u);
}

TEST_F(Checkpoint, EmptyFileIsAnError) {
    Head head;
    EXPECT_EQ(load_text("", head).error, "empty file");
}

TEST_F(Checkpoint, WrongMagicOrVersionIsAnError) {
    Head head;
    fill(head);
    write_checkpoint(head, path);
    std::string text = read_file(path);
    std::string other = text;
    other[8] = 2;  // version 2
    Head a;
    EXPECT_EQ(load_text(other, a).error, "version 2, this cargomon reads version 1");
    EXPECT_EQ(a.stats().series, 0u);
    other = text;
    other[0] = 'X';
    Head b;
    EXPECT_EQ(load_text(other, b).error, "not a history checkpoint (no CMHISTCK header)");
    EXPECT_EQ(load_text("SQLite format 3", b).error, "not a history checkpoint (no CMHISTCK header)");
}

TEST_F(Checkpoint, EveryTruncationIsAnErrorAndKeepsOnlyWholeRecords) {
    Head head;
    fill(head);
    write_checkpoint(head, path);
    const std::string text = read_file(path);
    for (std::size_t cut = 1; cut < text.size(); ++cut) {
        Head restored;
        const auto loaded = load_text(text.substr(0, cut), restored);
        ASSERT_TRUE(loaded.error.has_value()) << cut;
        // Whatever was kept is exactly what the source holds for those series.
        for (const auto& [labels, samples] : contents(restored)) EXPECT_EQ(contents(head).at(labels), samples);
    }
    Head extra;
    EXPECT_EQ(load_text(text + "x", extra).error, "bytes after the end record");
}

TEST_F(Checkpoint, EveryBitFlipIsCaught) {
    Head head;
    fill(head);
    write_checkpoint(head, path);
    const std::string text = read_file(path);
    const auto source = contents(head);
    for (std::size_t at = 0; at < text.size(); ++at) {
        for (int bit : {0, 5}) {
            std::string flipped = text;
            flipped[at] = static_cast<char>(flipped[at] ^ (1 << bit));
            Head restored;
            const auto loaded = load_text(flipped, restored);
            ASSERT_TRUE(loaded.error.has_value()) << at << " bit " << bit;
            for (const auto& [labels, samples] : contents(restored)) ASSERT_EQ(source.at(labels), samples);
        }
    }
}

TEST_F(Checkpoint, HostileLengthsAreRefusedBeforeAllocating) {
    std::string text("CMHISTCK\x01\x00\x00\x00", 12);
    Head head;
    // A record claiming 4 GiB, and one claiming 64 MiB that is not there.
    EXPECT_EQ(load_text(text + std::string("\xff\xff\xff\xff\0\0\0\0", 8), head).error,
              "record 1: length 4294967295 out of bounds");
    EXPECT_EQ(load_text(text + std::string("\x00\x00\x00\x04\0\0\0\0xyz", 11), head).error, "record 1: truncated");
    EXPECT_EQ(load_text(text, head).error, "record 1: missing (truncated before the end record)");
}

TEST_F(Checkpoint, LoadingStopsAtTheCap) {
    Head head;
    for (int s = 0; s < 100; ++s)
        for (std::int64_t t = 0; t < 10; ++t) head.append({{"__name__", "m"}, {"s", std::to_string(s)}}, t, 1);
    write_checkpoint(head, path);
    Head restored;
    const auto loaded = load_text(read_file(path), restored, head.bytes() / 10);
    EXPECT_TRUE(loaded.stopped_at_cap);
    EXPECT_EQ(loaded.error, std::nullopt);
    EXPECT_GT(loaded.series, 0u);
    EXPECT_LT(loaded.series, 20u);
}

TEST_F(Checkpoint, WriteFailureLeavesTheOldFile) {
    Head head;
    fill(head);
    write_checkpoint(head, path);
    const std::string before = read_file(path);
    EXPECT_THROW(write_checkpoint(head, dir.file("missing/history.ckpt")), std::runtime_error);
    EXPECT_EQ(read_file(path), before);
}

}  // namespace
}  // namespace cargomon::tsdb
