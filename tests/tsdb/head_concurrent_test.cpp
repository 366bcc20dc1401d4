// Appenders, readers and truncation at once (labelled `concurrent`: TSan runs it).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "metrics/metric_store.h"
#include "tests/support/temp_dir.h"
#include "tsdb/history.h"
#include "tsdb/head.h"

namespace cargomon::tsdb {
namespace {

TEST(HeadConcurrent, AppendSelectAndTruncateAtOnce) {
    Head head;
    constexpr int kWriters = 3;
    constexpr std::int64_t kSamples = 3000;
    std::atomic<bool> done{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w)
        threads.emplace_back([&, w] {
            for (std::int64_t t = 1; t <= kSamples; ++t)
                for (int s = 0; s < 20; ++s)
                    head.append({{"__name__", "m"}, {"s", std::to_string(s)}, {"w", std::to_string(w)}}, t,
                                static_cast<double>(t));
        });
    std::atomic<std::size_t> selects{0};
    auto reader = [&] {
        while (!done) {
            head.select({}, kMinTime, kMaxTime, [&](const metrics::Labels&, std::span<const Sample> samples) {
                for (std::size_t i = 1; i < samples.size(); ++i) ASSERT_LT(samples[i - 1].t, samples[i].t);
                for (const auto& s : samples) ASSERT_EQ(static_cast<double>(s.t), s.v);
            });
            head.label_values("s");
            ++selects;
        }
    };
    std::thread reader_a(reader), reader_b(reader);
    // Truncation keeps only the newest 1000 ms of each series' timeline.
    std::thread truncator([&] {
        while (!done) {
            head.truncate(kSamples - 1000, std::size_t{1} << 30);
            head.stats();
        }
    });
    for (auto& t : threads) t.join();
    done = true;
    reader_a.join();
    reader_b.join();
    truncator.join();
    EXPECT_GT(selects.load(), 0u);
    head.truncate(kSamples - 1000, std::size_t{1} << 30);
    EXPECT_EQ(head.stats().series, std::size_t{kWriters} * 20);
    std::size_t series = 0;
    head.select({}, kSamples - 500, kMaxTime, [&](const metrics::Labels&, std::span<const Sample> samples) {
        ++series;
        EXPECT_EQ(samples.size(), 501u);
        EXPECT_EQ(samples.back().t, kSamples);
    });
    EXPECT_EQ(series, std::size_t{kWriters} * 20);
}

// The daemon's shape: collectors publishing to the store (so appending through the
// observer), the maintenance thread appending self-metrics, truncating and checkpointing
// every few milliseconds, a reader selecting, and a collector removed meanwhile.
TEST(HistoryConcurrent, PublishMaintainCheckpointAndReadAtOnce) {
    testing::TempDir dir;
    SystemClock clock;
    prometheus::Registry registry;
    HistoryOptions options{.retention = std::chrono::hours{1},
                           .checkpoint_interval = std::chrono::milliseconds{5},
                           .self_metrics_interval = std::chrono::milliseconds{3},
                           .checkpoint_path = dir.file(kCheckpointFile)};
    History history(options, registry, clock, [&] { return registry.Collect(); });
    metrics::MetricStore store;
    store.set_observer(&history);
    history.start();
    std::atomic<bool> done{false};
    auto collector = [&](std::string name) {
        for (int run = 0; run < 200; ++run) {
            metrics::Snapshot snapshot;
            auto& family = snapshot.families.emplace_back();
            family.name = "cargo_" + name;
            for (int s = 0; s < 50; ++s)
                if ((s + run) % 7 != 0)  // some series leave and come back: stale markers
                    family.samples.push_back({.labels = {{"s", std::to_string(s)}}, .value = double(run)});
            store.publish(name, std::move(snapshot), clock.now());
        }
    };
    std::thread a(collector, "a"), b(collector, "b");
    std::thread reader([&] {
        while (!done) {
            history.head().select({}, kMinTime, kMaxTime, [](const metrics::Labels&, std::span<const Sample> samples) {
                for (std::size_t i = 1; i < samples.size(); ++i) ASSERT_LT(samples[i - 1].t, samples[i].t);
            });
            history.head().label_names();
        }
    });
    a.join();
    store.remove("b");
    b.join();
    done = true;
    reader.join();
    history.stop();
    store.set_observer(nullptr);
    EXPECT_GE(history.head().label_values("__name__").size(), 2u);
    EXPECT_TRUE(std::filesystem::exists(options.checkpoint_path));
}

}  // namespace
}  // namespace cargomon::tsdb
