#include "tsdb/history.h"

#include <gtest/gtest.h>

#include <fstream>

#include "metrics/metric_store.h"
#include "metrics/self_metrics.h"
#include "tests/support/registry_sample.h"
#include "tests/support/temp_dir.h"
#include "tsdb/checkpoint.h"

namespace cargomon::tsdb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

metrics::Snapshot snapshot(std::initializer_list<std::pair<std::string, double>> jobs) {
    metrics::Snapshot s;
    auto& family = s.families.emplace_back();
    family.name = "up";
    for (const auto& [job, value] : jobs) family.samples.push_back({.labels = {{"job", job}}, .value = value});
    return s;
}

std::map<std::string, std::vector<Sample>> everything(const Head& head) {
    std::map<std::string, std::vector<Sample>> out;
    head.select({}, kMinTime, kMaxTime, [&](const metrics::Labels& labels, std::span<const Sample> samples) {
        out[metrics::labels_text(labels)].assign(samples.begin(), samples.end());
    });
    return out;
}

std::int64_t ms(SystemTime t) { return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count(); }

class HistoryTest : public ::testing::Test {
protected:
    FakeClock clock;
    prometheus::Registry registry;
    testing::TempDir dir;
    HistoryOptions options{.checkpoint_path = dir.file(kCheckpointFile)};

    double metric(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
        return testing::sample_value(registry, name, labels).value_or(-1);
    }
};

TEST_F(HistoryTest, PublishesAppendAndMissingSeriesGetStaleMarkers) {
    History history(options, registry, clock, nullptr);
    metrics::MetricStore store;
    store.set_observer(&history);
    const SystemTime t0 = clock.now();
    store.publish("jobs", snapshot({{"a", 1}, {"b", 1}}), t0);
    store.publish("jobs", snapshot({{"a", 1}}), t0 + seconds{15});
    store.publish("jobs", snapshot({{"a", 0}, {"b", 1}}), t0 + seconds{30});  // b is back
    store.publish("other", snapshot({{"c", 5}}), t0 + seconds{31});
    clock.advance(seconds{40});
    store.remove("jobs");  // everything of "jobs" goes stale, at removal
    store.set_observer(nullptr);
    store.publish("jobs", snapshot({{"a", 9}}), t0 + seconds{50});  // not observed any more

    auto all = everything(history.head());
    ASSERT_EQ(all.size(), 3u);
    const auto& a = all.at("{__name__=\"up\", job=\"a\"}");
    ASSERT_EQ(a.size(), 4u);
    EXPECT_EQ(a[0].t, ms(t0));
    EXPECT_EQ(a[2].v, 0);
    EXPECT_TRUE(metrics::is_stale_nan(a[3].v));
    EXPECT_EQ(a[3].t, ms(t0 + seconds{40}));
    const auto& b = all.at("{__name__=\"up\", job=\"b\"}");
    ASSERT_EQ(b.size(), 4u);
    EXPECT_TRUE(metrics::is_stale_nan(b[1].v));
    EXPECT_EQ(b[1].t, ms(t0 + seconds{15}));
    EXPECT_EQ(b[2].v, 1);
    EXPECT_TRUE(metrics::is_stale_nan(b[3].v));
    EXPECT_EQ(all.at("{__name__=\"up\", job=\"c\"}").size(), 1u);  // "other" was not removed
}

TEST_F(HistoryTest, ExpiredCollectorsGoStale) {
    History history(options, registry, clock, nullptr);
    metrics::MetricStore store;
    store.set_observer(&history);
    store.publish("old", snapshot({{"a", 1}}), clock.now());
    clock.advance(seconds{60});
    store.expire_older_than(clock.now() - seconds{30});
    const auto a = everything(history.head()).at("{__name__=\"up\", job=\"a\"}");
    ASSERT_EQ(a.size(), 2u);
    EXPECT_TRUE(metrics::is_stale_nan(a[1].v));
}

TEST_F(HistoryTest, SummaryPartsAreTheirOwnSeries) {
    History history(options, registry, clock, nullptr);
    metrics::Snapshot s;
    auto& f = s.families.emplace_back();
    f.name = "latency";
    f.type = metrics::MetricType::summary;
    f.samples = {{.labels = {{"quantile", "0.5"}}, .value = 1},
                 {.labels = {}, .value = 10, .part = metrics::SamplePart::sum},
                 {.labels = {}, .value = 4, .part = metrics::SamplePart::count}};
    metrics::MetricStore store;
    store.set_observer(&history);
    store.publish("c", std::move(s), clock.now());
    EXPECT_EQ(history.head().label_values("__name__"),
              (std::vector<std::string>{"latency", "latency_count", "latency_sum"}));
}

// What a store publication appends is refused, and counted, when it would go back in time
// or change a sample already held (a collector's clock stepping back, say).
TEST_F(HistoryTest, OutOfOrderAndDuplicateAppendsAreCounted) {
    History history(options, registry, clock, nullptr);
    metrics::MetricStore store;
    store.set_observer(&history);
    auto publish = [&](std::int64_t t_ms, double v) {
        metrics::Family f{.name = "x", .help = "x", .type = metrics::MetricType::gauge, .samples = {{{}, v}}};
        store.publish("c", metrics::Snapshot{{std::move(f)}}, SystemTime{std::chrono::milliseconds{t_ms}});
    };
    publish(2000, 1);
    publish(1000, 1);  // out of order
    publish(2000, 2);  // duplicate: another value at a time already held
    publish(2000, 1);  // the same sample again: nothing to count
    EXPECT_EQ(metric("cargomon_history_dropped_samples_total", {{"reason", "out_of_order"}}), 1);
    EXPECT_EQ(metric("cargomon_history_dropped_samples_total", {{"reason", "duplicate"}}), 1);
    EXPECT_EQ(history.head().stats().samples, 1u);
}

TEST_F(HistoryTest, SelfMetricsAreAppendedAndGoStaleWhenGone) {
    auto& gauge = metrics::gauge_family(registry, "cargomon_thing", "t").Add({{"collector", "x"}});
    gauge.Set(3);
    metrics::gauge_family(registry, "not_ours", "n").Add({}).Set(1);
    History history(options, registry, clock, [this] { return registry.Collect(); });
    history.append_self_metrics();
    auto names = history.head().label_values("__name__");
    EXPECT_TRUE(std::find(names.begin(), names.end(), "cargomon_thing") != names.end());
    EXPECT_TRUE(std::find(names.begin(), names.end(), "cargomon_history_series") != names.end());
    EXPECT_TRUE(std::find(names.begin(), names.end(), "not_ours") == names.end());
    metrics::gauge_family(registry, "cargomon_thing", "t").Remove(&gauge);
    clock.advance(seconds{15});
    history.append_self_metrics();
    const auto thing = everything(history.head()).at("{__name__=\"cargomon_thing\", collector=\"x\"}");
    ASSERT_EQ(thing.size(), 2u);
    EXPECT_EQ(thing[0].v, 3);
    EXPECT_TRUE(metrics::is_stale_nan(thing[1].v));
}

TEST_F(HistoryTest, RetentionIsDerivedFromTheRulesUnlessSet) {
    EXPECT_EQ(derived_retention(milliseconds{0}, std::chrono::minutes{1}), std::chrono::minutes{7});
    EXPECT_EQ(derived_retention(std::chrono::hours{6}, seconds{30}), std::chrono::hours{6} + std::chrono::minutes{6});
    History derived(options, registry, clock, nullptr);
    EXPECT_EQ(derived.retention(), std::chrono::minutes{7});
    derived.set_rules_retention(std::chrono::hours{1});
    EXPECT_EQ(derived.retention(), std::chrono::hours{1});
    EXPECT_EQ(metric("cargomon_history_retention_seconds"), 3600);
    prometheus::Registry other;
    auto set = options;
    set.retention = std::chrono::hours{2};
    History fixed(set, other, clock, nullptr);
    fixed.set_rules_retention(std::chrono::hours{1});
    EXPECT_EQ(fixed.retention(), std::chrono::hours{2});
}

TEST_F(HistoryTest, MaintainTruncatesToTheRetentionAndSetsTheGauges) {
    options.retention = std::chrono::hours{1};
    History history(options, registry, clock, nullptr);
    const std::int64_t start = ms(clock.now());
    for (int i = 0; i < 600; ++i) {  // 10 h, one a minute
        history.head().append({{"__name__", "x"}}, start + i * 60'000, i);
        clock.advance(seconds{60});
    }
    history.maintain();
    const auto now = ms(clock.now());
    EXPECT_EQ(metric("cargomon_history_series"), 1);
    // Whole chunks (120 samples) go: what is left starts at most a chunk before the cutoff.
    const double oldest = metric("cargomon_history_oldest_sample_timestamp_seconds") * 1000;
    EXPECT_LE(oldest, static_cast<double>(now - 3'600'000));
    EXPECT_GT(oldest, static_cast<double>(now - 3'600'000 - 120 * 60'000));
    EXPECT_EQ(metric("cargomon_history_samples"), (start + 599 * 60'000 - oldest) / 60'000 + 1);
    EXPECT_GT(metric("cargomon_history_chunk_bytes"), 0);
    EXPECT_GT(metric("cargomon_history_bytes"), metric("cargomon_history_chunk_bytes"));
}

TEST_F(HistoryTest, TheCapDropsAndCounts) {
    options.max_bytes = 20'000;
    History history(options, registry, clock, nullptr);
    std::uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 5000; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        history.head().append({{"__name__", "x"}}, ms(clock.now()) + i, static_cast<double>(x));
    }
    history.maintain();
    EXPECT_LE(metric("cargomon_history_bytes"), 20'000);
    EXPECT_GT(metric("cargomon_history_dropped_samples_total", {{"reason", "max_bytes"}}), 0);
    EXPECT_EQ(metric("cargomon_history_dropped_samples_total", {{"reason", "max_bytes"}}) +
                  metric("cargomon_history_samples"),
              5000);
}

TEST_F(HistoryTest, CheckpointAndLoadRoundTrip) {
    {
        History history(options, registry, clock, nullptr);
        for (int i = 0; i < 200; ++i) history.head().append({{"__name__", "x"}, {"i", "1"}}, ms(clock.now()) + i * 1000, i);
        history.stop();  // writes the checkpoint
        EXPECT_GT(metric("cargomon_history_checkpoint_last_success_timestamp_seconds"), 0);
    }
    prometheus::Registry fresh;
    History loaded(options, fresh, clock, nullptr);
    loaded.load();
    const auto x = everything(loaded.head()).at("{__name__=\"x\", i=\"1\"}");
    ASSERT_EQ(x.size(), 200u);
    EXPECT_EQ(x.back().v, 199);
    EXPECT_EQ(testing::sample_value(fresh, "cargomon_history_samples", {}), 200);
    EXPECT_EQ(testing::sample_value(fresh, "cargomon_history_checkpoint_corruptions_total", {}), 0);
}

TEST_F(HistoryTest, ADamagedCheckpointIsMovedAsideAndCounted) {
    {
        History history(options, registry, clock, nullptr);
        for (int i = 0; i < 200; ++i) history.head().append({{"__name__", "x"}}, ms(clock.now()) + i * 1000, i);
        history.head().append({{"__name__", "y"}}, ms(clock.now()), 1);
        ASSERT_TRUE(history.checkpoint());
    }
    const auto size = std::filesystem::file_size(options.checkpoint_path);
    std::filesystem::resize_file(options.checkpoint_path, size - 10);  // the end record is cut
    prometheus::Registry fresh;
    History loaded(options, fresh, clock, nullptr);
    loaded.load();
    EXPECT_FALSE(std::filesystem::exists(options.checkpoint_path));
    const auto unix_s = std::chrono::duration_cast<seconds>(clock.now().time_since_epoch()).count();
    EXPECT_TRUE(std::filesystem::exists(options.checkpoint_path.string() + ".corrupt-" + std::to_string(unix_s)));
    EXPECT_EQ(testing::sample_value(fresh, "cargomon_history_checkpoint_corruptions_total", {}), 1);
    EXPECT_EQ(everything(loaded.head()).size(), 2u);  // both series records were whole
    // The next checkpoint is written fresh.
    EXPECT_TRUE(loaded.checkpoint());
    EXPECT_TRUE(std::filesystem::exists(options.checkpoint_path));
}

TEST_F(HistoryTest, GarbageCheckpointNeverThrows) {
    std::ofstream(options.checkpoint_path) << "not a checkpoint at all";
    History history(options, registry, clock, nullptr);
    EXPECT_NO_THROW(history.load());
    EXPECT_EQ(metric("cargomon_history_checkpoint_corruptions_total"), 1);
    EXPECT_EQ(history.head().stats().series, 0u);
}

TEST_F(HistoryTest, AFailedCheckpointIsCounted) {
    options.checkpoint_path = dir.file("missing/history.ckpt");
    History history(options, registry, clock, nullptr);
    EXPECT_FALSE(history.checkpoint());
    EXPECT_EQ(metric("cargomon_history_checkpoint_failures_total"), 1);
}

}  // namespace
}  // namespace cargomon::tsdb
