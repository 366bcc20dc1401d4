#include "tsdb/head.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace cargomon::tsdb {
namespace {

metrics::Matcher matcher(std::string name, metrics::Matcher::Op op, std::string value) {
    return std::get<metrics::Matcher>(metrics::make_matcher(std::move(name), op, std::move(value)));
}
using Op = metrics::Matcher::Op;

// What select() calls back with, by labels text.
std::map<std::string, std::vector<Sample>> select_all(const Head& head, const std::vector<metrics::Matcher>& m,
                                                      std::int64_t mint = kMinTime, std::int64_t maxt = kMaxTime) {
    std::map<std::string, std::vector<Sample>> out;
    std::vector<std::string> order;
    head.select(m, mint, maxt, [&](const metrics::Labels& labels, std::span<const Sample> samples) {
        order.push_back(metrics::labels_text(labels));
        out[order.back()].assign(samples.begin(), samples.end());
    });
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));  // label order ({__name__ first here})
    return out;
}

void fill(Head& head) {
    for (std::int64_t t = 0; t < 1000; ++t) {
        head.append({{"__name__", "up"}, {"job", "a"}}, t * 1000, 1);
        head.append({{"__name__", "up"}, {"job", "b"}}, t * 1000, 0);
        head.append({{"__name__", "errors_total"}, {"job", "a"}, {"path", "/x"}}, t * 1000, static_cast<double>(t));
    }
}

TEST(Head, SelectsByMatchersAndWindow) {
    Head head;
    fill(head);
    auto all_up = select_all(head, {matcher("__name__", Op::equal, "up")});
    ASSERT_EQ(all_up.size(), 2u);
    EXPECT_EQ(all_up["{__name__=\"up\", job=\"a\"}"].size(), 1000u);

    auto window = select_all(head, {matcher("__name__", Op::equal, "errors_total")}, 10'000, 19'500);
    ASSERT_EQ(window.size(), 1u);
    const auto& samples = window.begin()->second;
    ASSERT_EQ(samples.size(), 10u);  // 10s..19s inclusive
    EXPECT_EQ(samples.front().t, 10'000);
    EXPECT_EQ(samples.front().v, 10);
    EXPECT_EQ(samples.back().t, 19'000);

    EXPECT_EQ(select_all(head, {matcher("job", Op::equal, "a")}).size(), 2u);
    EXPECT_EQ(select_all(head, {matcher("job", Op::regex, "a|b"), matcher("__name__", Op::equal, "up")}).size(), 2u);
    EXPECT_EQ(select_all(head, {matcher("job", Op::not_equal, "a")}).size(), 1u);
    // A missing label matches as "": path="" selects the series without it.
    EXPECT_EQ(select_all(head, {matcher("path", Op::equal, "")}).size(), 2u);
    EXPECT_EQ(select_all(head, {matcher("path", Op::regex, ".+")}).size(), 1u);
    EXPECT_TRUE(select_all(head, {matcher("job", Op::equal, "c")}).empty());
    EXPECT_TRUE(select_all(head, {matcher("__name__", Op::equal, "up")}, 2'000'000, 3'000'000).empty());
    // Window edges are inclusive on both ends.
    EXPECT_EQ(select_all(head, {matcher("job", Op::equal, "b")}, 5'000, 5'000).begin()->second.size(), 1u);
}

TEST(Head, LabelNamesAndValues) {
    Head head;
    fill(head);
    EXPECT_EQ(head.label_names(), (std::vector<std::string>{"__name__", "job", "path"}));
    EXPECT_EQ(head.label_values("job"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(head.label_values("__name__"), (std::vector<std::string>{"errors_total", "up"}));
    EXPECT_EQ(head.label_names({matcher("__name__", Op::equal, "up")}), (std::vector<std::string>{"__name__", "job"}));
    EXPECT_EQ(head.label_values("job", {matcher("path", Op::equal, "/x")}), (std::vector<std::string>{"a"}));
    EXPECT_TRUE(head.label_names({}, 5'000'000, 6'000'000).empty());
    EXPECT_TRUE(head.label_values("nope").empty());
}

// /api/v1/series: the labels of the series selected with samples in the window, sorted,
// the same set select() finds.
TEST(Head, SeriesAreWhatSelectFindsWithoutTheirSamples) {
    Head head;
    fill(head);
    EXPECT_EQ(head.series({matcher("__name__", Op::equal, "up")}, kMinTime, kMaxTime),
              (std::vector<metrics::Labels>{{{"__name__", "up"}, {"job", "a"}}, {{"__name__", "up"}, {"job", "b"}}}));
    EXPECT_EQ(head.series({matcher("job", Op::equal, "a")}, 10'000, 20'000).size(), 2u);
    EXPECT_TRUE(head.series({matcher("job", Op::equal, "a")}, 2'000'000, 3'000'000).empty());
    // Edges inclusive, as select()'s: the last sample is at 999 s.
    EXPECT_EQ(head.series({matcher("job", Op::equal, "b")}, 999'000, 999'000).size(), 1u);
    EXPECT_EQ(head.series({matcher("job", Op::regex, ".+")}, kMinTime, kMaxTime).size(),
              select_all(head, {matcher("job", Op::regex, ".+")}).size());
}

TEST(Head, RefusesOutOfOrderAndDuplicatesKeepsStaleMarkers) {
    Head head;
    const metrics::Labels up = {{"__name__", "up"}};
    EXPECT_EQ(head.append(up, 2000, 1), Head::Appended::ok);
    EXPECT_EQ(head.append(up, 1000, 1), Head::Appended::out_of_order);
    EXPECT_EQ(head.append(up, 2000, 1), Head::Appended::same);
    EXPECT_EQ(head.append(up, 2000, 2), Head::Appended::duplicate);
    EXPECT_EQ(head.append(up, 3000, metrics::stale_nan()), Head::Appended::ok);
    auto got = select_all(head, {});
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got.begin()->second.size(), 2u);
    EXPECT_TRUE(metrics::is_stale_nan(got.begin()->second[1].v));
    EXPECT_EQ(head.stats().samples, 2u);
}

TEST(Head, EmptyLabelValuesAreDropped) {
    Head head;
    head.append({{"__name__", "x"}, {"a", ""}}, 1, 1);
    head.append({{"__name__", "x"}}, 2, 2);
    EXPECT_EQ(head.stats().series, 1u);
    EXPECT_EQ(head.label_names(), (std::vector<std::string>{"__name__"}));
    head.append({{"__name__", ""}, {"b", "1"}}, 1, 1);  // an empty name is no name
    EXPECT_EQ(head.label_values("__name__"), (std::vector<std::string>{"x"}));
    EXPECT_EQ(head.label_values("b"), (std::vector<std::string>{"1"}));
}

TEST(Head, RetentionDropsWholeChunksAndEmptySeries) {
    Head head;
    fill(head);  // 1000 samples a series: 8 closed chunks of 120 and 40 open
    head.append({{"__name__", "gone"}}, 500, 1);
    const auto before = head.stats();
    EXPECT_EQ(before.series, 4u);
    EXPECT_EQ(before.samples, 3001u);
    EXPECT_EQ(before.oldest_ms, 0);

    const auto result = head.truncate(300'000, std::size_t{1} << 30);
    EXPECT_EQ(result.retention.series, 1u);  // "gone"
    EXPECT_EQ(result.max_bytes.samples, 0u);
    // Chunks ending before 300s go: the first two (0..119s, 120..239s); 240..359 stays.
    EXPECT_EQ(result.retention.samples, 3u * 240 + 1);
    const auto after = head.stats();
    EXPECT_EQ(after.series, 3u);
    EXPECT_EQ(after.samples, 3u * 760);
    EXPECT_EQ(after.oldest_ms, 240'000);
    EXPECT_LT(after.bytes, before.bytes);
    EXPECT_TRUE(select_all(head, {matcher("__name__", Op::equal, "gone")}).empty());
    EXPECT_EQ(head.label_values("__name__"), (std::vector<std::string>{"errors_total", "up"}));
    // Everything old: the open chunks go too, and every series.
    head.truncate(kMaxTime, std::size_t{1} << 30);
    EXPECT_EQ(head.stats().series, 0u);
    EXPECT_EQ(head.stats().samples, 0u);
    EXPECT_EQ(head.stats().bytes, 0u);
    EXPECT_EQ(head.stats().chunk_bytes, 0u);
    EXPECT_TRUE(head.label_names().empty());
}

TEST(Head, OverTheCapDropsOldestChunksFirst) {
    Head head;
    // Values that do not compress (about 8 bytes a sample), so chunks dominate the bytes.
    std::uint64_t x = 88172645463325252ULL;
    for (std::int64_t t = 0; t < 1200; ++t)
        for (int s = 0; s < 10; ++s) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            head.append({{"__name__", "g"}, {"s", std::to_string(s)}}, t * 1000, static_cast<double>(x % 1000000) / 7);
        }
    const auto before = head.stats();
    const std::size_t cap = before.bytes / 2;
    const auto result = head.truncate(kMinTime, cap);
    EXPECT_EQ(result.retention.samples, 0u);
    EXPECT_GT(result.max_bytes.samples, 0u);
    const auto after = head.stats();
    EXPECT_LE(after.bytes, cap);
    EXPECT_EQ(after.samples + result.max_bytes.samples, before.samples);
    EXPECT_GT(after.oldest_ms, 0);
    // What is left of every series is its newest samples, the same span in each.
    auto left = select_all(head, {});
    ASSERT_EQ(left.size(), 10u);
    for (const auto& [labels, samples] : left) {
        EXPECT_EQ(samples.front().t, after.oldest_ms) << labels;
        EXPECT_EQ(samples.back().t, 1'199'000) << labels;
        EXPECT_GE(samples.size(), 480u) << labels;
    }
}

TEST(Head, SeriesRefOutlivesRemoval) {
    Head head;
    auto ref = head.series("x", {});
    EXPECT_EQ(head.append(ref, 1, 1), Head::Appended::ok);
    head.truncate(kMaxTime, std::size_t{1} << 30);
    EXPECT_EQ(head.stats().series, 0u);
    EXPECT_EQ(head.append(ref, 2, 1), Head::Appended::same);  // gone: ignored
    EXPECT_EQ(head.stats().samples, 0u);
}

TEST(Head, RestoreChecksWhatItIsGiven) {
    Head source;
    fill(source);
    std::vector<SeriesData> copies;
    source.for_each_series([&](const SeriesData& d) { copies.push_back(d); });
    ASSERT_EQ(copies.size(), 3u);

    Head target;
    for (auto copy : copies) EXPECT_EQ(target.restore(std::move(copy)), 1000u);
    const auto a = select_all(source, {}), b = select_all(target, {});
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [labels, samples] : a) {
        ASSERT_EQ(b.at(labels).size(), samples.size());
        for (std::size_t i = 0; i < samples.size(); ++i) {
            EXPECT_EQ(b.at(labels)[i].t, samples[i].t);
            EXPECT_EQ(b.at(labels)[i].v, samples[i].v);
        }
    }
    EXPECT_EQ(target.stats().samples, source.stats().samples);
    // Restoring again adds nothing (every sample is at or before the series' last).
    EXPECT_EQ(target.restore(copies[0]), 0u);

    auto bad = copies[0];
    bad.chunks[1].mint += 1;  // a span that is not the chunk's
    EXPECT_EQ(Head().restore(bad), std::nullopt);
    bad = copies[0];
    std::swap(bad.chunks[0], bad.chunks[1]);  // not ascending
    EXPECT_EQ(Head().restore(bad), std::nullopt);
    bad = copies[0];
    bad.chunks[0].count = 121;
    EXPECT_EQ(Head().restore(bad), std::nullopt);
    bad = copies[0];
    bad.labels.erase(bad.labels.begin());  // no __name__
    EXPECT_EQ(Head().restore(bad), std::nullopt);
    bad = copies[0];
    std::swap(bad.labels[0], bad.labels[1]);  // unsorted
    EXPECT_EQ(Head().restore(bad), std::nullopt);
    bad = copies[0];
    bad.chunks[2].bytes.resize(3);
    EXPECT_EQ(Head().restore(bad), std::nullopt);
}

}  // namespace
}  // namespace cargomon::tsdb
