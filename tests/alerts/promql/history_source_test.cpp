// The sample history as PromQL reads it (alerts/promql/history_source.h): selectors see a
// tsdb::Head's series, names, windows and staleness markers.
#include "alerts/promql/history_source.h"

#include <gtest/gtest.h>

namespace cargomon::alerts::promql {
namespace {

TEST(HistorySource, PromQLReadsTheHeadsSamples) {
    tsdb::Head head;
    auto a = head.series("requests_total", {{"job", "a"}});
    auto b = head.series("requests_total", {{"job", "b"}});
    for (std::int64_t t = 0; t <= 300'000; t += 15'000) {
        head.append(a, t, static_cast<double>(t / 1000));  // 1 a second
        head.append(b, t, 2.0 * static_cast<double>(t / 1000));
    }
    head.append(b, 315'000, metrics::stale_nan());
    const HistorySource source(head);

    auto rate = evaluate_checked(*parse_expr("rate(requests_total[1m])"), source, 300'000);
    ASSERT_EQ(rate.error, "");
    const auto& v = std::get<Vector>(rate.value);
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].labels, (metrics::Labels{{"job", "a"}}));
    EXPECT_DOUBLE_EQ(v[0].value, 1);
    EXPECT_EQ(v[1].labels, (metrics::Labels{{"job", "b"}}));
    EXPECT_DOUBLE_EQ(v[1].value, 2);

    // After its staleness marker, b is gone from instant selectors.
    auto now = evaluate_checked(*parse_expr("requests_total"), source, 320'000);
    ASSERT_EQ(now.error, "");
    const auto& w = std::get<Vector>(now.value);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].labels, (metrics::Labels{{"__name__", "requests_total"}, {"job", "a"}}));
    EXPECT_EQ(w[0].value, 300);

    // Names and matchers select through the head's postings; the window bounds the samples.
    std::vector<std::pair<std::string, std::size_t>> seen;
    using Op = metrics::Matcher::Op;
    source.select({std::get<metrics::Matcher>(metrics::make_matcher("__name__", Op::equal, "requests_total")),
                   std::get<metrics::Matcher>(metrics::make_matcher("job", Op::regex, "b"))},
                  30'000, 60'000, [&](std::string_view name, const metrics::Labels&, std::span<const Sample> samples) {
                      seen.emplace_back(std::string(name), samples.size());
                      EXPECT_EQ(samples.front().t, 30'000);
                      EXPECT_EQ(samples.back().v, 120);
                  });
    EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::size_t>>{{"requests_total", 3}}));
}

}  // namespace
}  // namespace cargomon::alerts::promql
