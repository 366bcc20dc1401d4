// Appenders, readers and truncation at once (labelled `concurrent`: TSan runs it).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

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

}  // namespace
}  // namespace cargomon::tsdb
