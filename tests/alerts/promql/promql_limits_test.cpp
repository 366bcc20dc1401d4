// A rule file is user input: however deep an expr nests, parsing it is an error with a
// position, never a stack overflow (these inputs crashed check-rules and a reload). However
// much an expression would read or compute, evaluating it stops at the sample cap or the
// deadline with Prometheus' error.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "alerts/promql/memory_source.h"
#include "alerts/promql/promql.h"

namespace cargomon::alerts::promql {
namespace {

// The ExprError of `text`, as "offset: message"; "" when it parses.
std::string refusal(const std::string& text) {
    try {
        parse_expr(text);
        return "";
    } catch (const ExprError& e) {
        return std::to_string(e.offset()) + ": " + e.what();
    }
}

const std::string kTooDeep =
    "expression nested too deeply: more than 128 levels of parentheses, operators, signs, calls or aggregations";

std::string parens(int n, const std::string& inner) { return std::string(n, '(') + inner + std::string(n, ')'); }

TEST(PromQLLimits, FiveThousandParenthesesAreAnError) {
    EXPECT_EQ(refusal(parens(5000, "foo")), "128: " + kTooDeep);
    EXPECT_EQ(refusal(std::string(5000, '(')), "128: " + kTooDeep);
}

TEST(PromQLLimits, NestingUpToTheLimitParsesAndEvaluates) {
    EXPECT_EQ(refusal(parens(127, "1")), "");
    EXPECT_EQ(refusal(parens(128, "1")), "128: " + kTooDeep);
    auto expr = parse_expr(parens(127, "1 + 2"));
    MemorySource source;
    EXPECT_EQ(std::get<double>(evaluate_checked(*expr, source, 0).value), 3);
}

TEST(PromQLLimits, SignsCountAsNesting) {
    EXPECT_EQ(refusal(std::string(5000, '-') + "foo"), "128: " + kTooDeep);
    EXPECT_EQ(refusal(std::string(127, '-') + "foo"), "");
}

TEST(PromQLLimits, CallsAndAggregationsCountAsNesting) {
    std::string sums;
    for (int i = 0; i < 3000; ++i) sums += "sum(";
    EXPECT_NE(refusal(sums + "foo" + std::string(3000, ')')).find(kTooDeep), std::string::npos);
    std::string absents;
    for (int i = 0; i < 3000; ++i) absents += "absent(";
    EXPECT_NE(refusal(absents + "foo" + std::string(3000, ')')).find(kTooDeep), std::string::npos);
    std::string clamps = "foo";
    for (int i = 0; i < 3000; ++i) clamps = "clamp_min(" + clamps + ", 1)";
    EXPECT_NE(refusal(clamps).find(kTooDeep), std::string::npos);
}

// No recursion while parsing, but a tree as tall as the chain is long: the evaluator and
// the destructor would recurse that deep.
TEST(PromQLLimits, LongOperatorChainsAreBoundedByTheHeightOfTheTree) {
    std::string chain = "foo";
    for (int i = 0; i < 100'000; ++i) chain += " + foo";
    // The 128th "+" would put a 129th level on the tree: "foo" then " + foo" per level.
    EXPECT_EQ(refusal(chain), std::to_string(3 + 127 * 6 + 1) + ": " + kTooDeep);
    std::string ok = "foo";
    for (int i = 0; i < 127; ++i) ok += " + foo";
    EXPECT_EQ(refusal(ok), "");
    // Chains inside parentheses add up: 100 levels inside, 100 outside.
    std::string inner = "foo";
    for (int i = 0; i < 100; ++i) inner += " * foo";
    std::string outer = "(" + inner + ")";
    for (int i = 0; i < 100; ++i) outer += " + foo";
    EXPECT_NE(refusal(outer).find(kTooDeep), std::string::npos);
}


// 100 series with a sample every 10 s for 10 hours.
const MemorySource& history() {
    static const MemorySource source = [] {
        MemorySource s;
        for (int i = 0; i < 100; ++i)
            for (std::int64_t t = 0; t <= 36'000'000; t += 10'000)
                s.add({{"__name__", "x"}, {"i", std::to_string(i)}}, t, static_cast<double>(t) / 1000);
        return s;
    }();
    return source;
}

const std::string kTooManySamples = "query processing would load too many samples into memory in query execution";
const std::string kTimedOut = "query timed out in expression evaluation";

std::string error_of(const std::string& expr, const Limits& limits, std::int64_t t = 36'000'000) {
    return evaluate_checked(*parse_expr(expr), history(), t, limits).error;
}

// A range of 10h over 100 series is 360,100 samples: over a cap of 100,000, under 1,000,000.
TEST(PromQLLimits, ARangeOverMoreSamplesThanTheCapIsRefused) {
    EXPECT_EQ(error_of("count_over_time(x[10h])", Limits{.max_samples = 100'000}), kTooManySamples);
    EXPECT_EQ(error_of("count_over_time(x[10h])", Limits{.max_samples = 1'000'000}), "");
    EXPECT_EQ(error_of("sum(count_over_time(x[10h]))", Limits{}), "");
    // The default is Prometheus': 50,000,000.
    EXPECT_EQ(Limits{}.max_samples, 50'000'000u);
    EXPECT_EQ(Limits{}.lookback_ms, 300'000);
}

// Subquery points count as they are produced: 100 series x 3,601 steps.
TEST(PromQLLimits, SubqueryPointsCountTowardsTheCap) {
    EXPECT_EQ(error_of("max_over_time((x * 2)[10h:10s])", Limits{.max_samples = 200'000}), kTooManySamples);
    EXPECT_EQ(error_of("max_over_time((x * 2)[1h:10s])", Limits{.max_samples = 200'000}), "");
}

// The worst case for time: nested subqueries multiply their steps (86,400^2 evaluations).
TEST(PromQLLimits, NestedSubqueriesStopAtTheDeadline) {
    Limits limits{.timeout = std::chrono::milliseconds(200)};
    EXPECT_EQ(error_of("max_over_time(max_over_time(vector(1)[1d:1s])[1d:1s])", limits), kTimedOut);
    EXPECT_EQ(error_of("x", Limits{.timeout = std::chrono::milliseconds(0)}), kTimedOut);
    auto range = evaluate_range(*parse_expr("max_over_time(vector(1)[1d:1s])"), history(), 0, 36'000'000, 60'000, limits);
    EXPECT_EQ(range.error, kTimedOut);
}

TEST(PromQLLimits, RangeQueriesAreBoundedAndChecked) {
    auto expr = parse_expr("x");
    EXPECT_EQ(evaluate_range(*expr, history(), 0, 1, 0).error,
              "zero or negative query resolution step widths are not accepted. Try a positive integer");
    EXPECT_EQ(evaluate_range(*expr, history(), 10, 0, 1).error, "end timestamp must not be before start time");
    // As Prometheus: (end - start) / step up to 11,000 (11,001 points), not one more.
    EXPECT_EQ(evaluate_range(*expr, history(), 0, 11'001'000, 1'000).error,
              "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
    EXPECT_EQ(evaluate_range(*expr, history(), 0, 11'000'000, 1'000).error, "");
    EXPECT_EQ(evaluate_range(*parse_expr("x[5m]"), history(), 0, 60'000, 1'000).error,
              "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector");
    EXPECT_EQ(evaluate_range(*expr, history(), 0, 10'999'000, 1'000, Limits{.max_samples = 10'000}).error, kTooManySamples);
}

// A range query is the instant query at every step, in one matrix sorted by labels.
TEST(PromQLRange, EveryStepIsTheInstantQueryAtThatTime) {
    auto expr = parse_expr("rate(x{i=~\"1|2\"}[1m]) * 0 + on() group_left vector(time())");
    auto range = evaluate_range(*expr, history(), 600'000, 900'000, 150'000);
    ASSERT_EQ(range.error, "");
    const auto& matrix = std::get<Matrix>(range.value);
    ASSERT_EQ(matrix.size(), 2u);
    EXPECT_EQ(matrix[0].labels, (metrics::Labels{{"i", "1"}}));
    EXPECT_EQ(matrix[1].labels, (metrics::Labels{{"i", "2"}}));
    for (const auto& series : matrix) {
        ASSERT_EQ(series.samples.size(), 3u);
        for (std::size_t k = 0; k < 3; ++k) {
            std::int64_t t = 600'000 + static_cast<std::int64_t>(k) * 150'000;
            EXPECT_EQ(series.samples[k].t, t);
            EXPECT_EQ(series.samples[k].v, static_cast<double>(t) / 1000);
            auto instant = evaluate_checked(*expr, history(), t);
            EXPECT_EQ(std::get<Vector>(instant.value).size(), 2u);
        }
    }
    auto scalar = evaluate_range(*parse_expr("time() * 2"), history(), 0, 2'000, 1'000);
    ASSERT_EQ(std::get<Matrix>(scalar.value).size(), 1u);
    EXPECT_EQ(std::get<Matrix>(scalar.value)[0].samples.size(), 3u);
    EXPECT_EQ(std::get<Matrix>(scalar.value)[0].samples[2].v, 4);
}

// Counter x grows by 1 per second: rate over any window is 1, increase is the window.
TEST(PromQLRange, RateAndIncreaseOverHistory) {
    auto value = [](const std::string& expr) {
        auto result = evaluate_checked(*parse_expr(expr), history(), 3'600'000);
        EXPECT_EQ(result.error, "") << expr;
        const auto& vector = std::get<Vector>(result.value);
        EXPECT_EQ(vector.size(), 1u) << expr;
        return vector.empty() ? -1 : vector[0].value;
    };
    EXPECT_DOUBLE_EQ(value("rate(x{i=\"7\"}[5m])"), 1);
    EXPECT_DOUBLE_EQ(value("increase(x{i=\"7\"}[1h])"), 3600);
    EXPECT_DOUBLE_EQ(value("predict_linear(x{i=\"7\"}[30m], 600)"), 4200);
    EXPECT_DOUBLE_EQ(value("x{i=\"7\"} offset 10m"), 3000);
    EXPECT_DOUBLE_EQ(value("x{i=\"7\"} @ 100"), 100);
    EXPECT_DOUBLE_EQ(value("avg_over_time(x{i=\"7\"}[1m:30s])"), 3570);
    EXPECT_EQ(lookbehind_ms(*parse_expr("rate(x[5m] offset 1h) + max_over_time(x[2h:1m] offset 1h)")), 3 * 3'600'000 + 300'000);
}

// A staleness marker ends a series at once for selectors, as in Prometheus.
TEST(PromQLRange, StalenessMarkersEndTheSeries) {
    MemorySource source;
    source.add({{"__name__", "y"}}, 0, 1);
    source.add({{"__name__", "y"}}, 60'000, metrics::stale_nan());
    EXPECT_EQ(std::get<Vector>(evaluate_checked(*parse_expr("y"), source, 30'000).value).size(), 1u);
    EXPECT_EQ(std::get<Vector>(evaluate_checked(*parse_expr("y"), source, 90'000).value).size(), 0u);
    EXPECT_EQ(std::get<Vector>(evaluate_checked(*parse_expr("count_over_time(y[5m])"), source, 90'000).value)[0].value, 1);
    EXPECT_TRUE(metrics::is_stale_nan(metrics::stale_nan()));
    EXPECT_FALSE(metrics::is_stale_nan(std::numeric_limits<double>::quiet_NaN()));
}

}  // namespace
}  // namespace cargomon::alerts::promql
