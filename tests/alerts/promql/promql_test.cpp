// Every feature of the PromQL subset against expected vectors, edge cases and refusals.
#include <gtest/gtest.h>

#include "alerts/promql/promql.h"
#include "alerts/promql/memory_source.h"
#include "promql_fixture.h"

namespace cargomon::alerts::promql {
namespace {

using namespace testing;
using Texts = std::multiset<std::string>;

class PromQL : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        SeriesBuilder series;
        series.add("foo", {{"a", "1"}, {"b", "x"}}, 1)
            .add("foo", {{"a", "2"}, {"b", "x"}}, 2)
            .add("foo2", {{"a", "1"}, {"b", "x"}}, 7)
            .add("bar", {{"a", "1"}}, 10)
            .add("bar", {{"a", "2"}}, 0)
            .add("bar", {{"a", "4"}}, 5)
            .add("many", {{"a", "1"}, {"c", "p"}}, 3)
            .add("many", {{"a", "1"}, {"c", "q"}}, 4)
            .add("many", {{"a", "2"}, {"c", "p"}}, 5)
            .add("info", {{"a", "1"}, {"team", "t1"}}, 1)
            .add("info", {{"a", "2"}, {"team", "t2"}}, 1)
            .add("mixed", {{"k", "a"}}, kNaN)
            .add("mixed", {{"k", "b"}}, 1)
            .add("mixed", {{"k", "c"}}, 3)
            .add("allnan", {{"k", "a"}}, kNaN)
            .add("allnan", {{"k", "b"}}, kNaN)
            .add("infs", {{"k", "a"}}, kInf)
            .add("infs", {{"k", "b"}}, 1)
            .add("opposite", {{"k", "a"}}, kInf)
            .add("opposite", {{"k", "b"}}, -kInf)
            .add("zero", {}, 0)
            .add("long", {{"v", std::string(200000, 'a')}}, 1)
            .add("blank", {{"a", "1"}, {"e", ""}}, 9)
            .add("runs_total", {{"status", "failed"}, {"workflow", "w1"}}, 3)
            .add("runs_total", {{"status", "success"}, {"workflow", "w1"}}, 7)
            .add("runs_total", {{"status", "failed"}, {"workflow", "w2"}}, 0)
            .add("runs_total", {{"status", "success"}, {"workflow", "w2"}}, 4);
        store_ = new metrics::MetricStore;
        store_->publish("test", series.snapshot(), SystemTime{});
        source_ = new StoreSource(store_->view(), {}, 0);
    }
    static void TearDownTestSuite() {
        delete source_;
        delete store_;
    }

    static Evaluation run(const std::string& expr) { return evaluate_checked(*parse_expr(expr), *source_, 0); }

    static Texts vec(const std::string& expr) {
        auto result = run(expr);
        EXPECT_EQ(result.error, "") << expr;
        const auto* vector = std::get_if<Vector>(&result.value);
        if (!vector) {
            ADD_FAILURE() << expr << " is not a vector";
            return {};
        }
        return vector_text(*vector);
    }

    static std::string scalar(const std::string& expr) {
        auto result = run(expr);
        const auto* value = std::get_if<double>(&result.value);
        if (!value) {
            ADD_FAILURE() << expr << " is not a scalar";
            return {};
        }
        return value_text(*value);
    }

    static std::string runtime_error(const std::string& expr) {
        auto result = run(expr);
        const auto* vector = std::get_if<Vector>(&result.value);
        EXPECT_TRUE(vector && vector->empty()) << expr;
        return result.error;
    }

    static inline metrics::MetricStore* store_ = nullptr;
    static inline StoreSource* source_ = nullptr;
};

TEST_F(PromQL, SelectorsMatchLabelsWithEveryOperator) {
    EXPECT_EQ(vec("foo"), (Texts{"foo{a=\"1\", b=\"x\"} 1", "foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("foo{a=\"1\"}"), (Texts{"foo{a=\"1\", b=\"x\"} 1"}));
    EXPECT_EQ(vec("foo{a!=\"1\"}"), (Texts{"foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("bar{a=~\"1|4\"}"), (Texts{"bar{a=\"1\"} 10", "bar{a=\"4\"} 5"}));
    EXPECT_EQ(vec("bar{a!~\"1|4\"}"), (Texts{"bar{a=\"2\"} 0"}));
    EXPECT_EQ(vec("bar{a=~\"[12]\"}"), (Texts{"bar{a=\"1\"} 10", "bar{a=\"2\"} 0"}));
    EXPECT_EQ(vec("foo{b=\"x\", a=\"2\",}"), (Texts{"foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("nothing"), Texts{});
    EXPECT_EQ(vec("foo{a=\"9\"}"), Texts{});
    EXPECT_EQ(vec("foo{a=\"1\", a=\"2\"}"), Texts{});
    EXPECT_EQ(vec("many{c=\"p\", a=\"1\"}"), (Texts{"many{a=\"1\", c=\"p\"} 3"}));  // both indexes intersect
    EXPECT_EQ(vec("blank{a=\"1\", b=\"x\"}"), Texts{});  // a label the series lacks
}

TEST_F(PromQL, RegexesAreFullyAnchored) {
    EXPECT_EQ(vec("foo{b=~\"x.*\"}").size(), 2u);
    EXPECT_EQ(vec("info{team=~\"t\"}"), Texts{});
    EXPECT_EQ(vec("info{team=~\"t.\"}").size(), 2u);
    EXPECT_EQ(vec("info{team!~\"t\"}").size(), 2u);
    EXPECT_EQ(vec("info{team=~\"(?i)T1\"}"), (Texts{"info{a=\"1\", team=\"t1\"} 1"}));
    EXPECT_EQ(vec("info{team=~\"t1|\"}"), (Texts{"info{a=\"1\", team=\"t1\"} 1"}));
    // Long values and pathological patterns neither overflow the stack nor backtrack forever.
    EXPECT_EQ(vec("long{v=~\"(a|b)*\"} == 1").size(), 1u);
    EXPECT_EQ(vec("long{v=~\"(a+a+)+b\"}"), Texts{});
}

TEST_F(PromQL, AMissingLabelMatchesAsTheEmptyString) {
    EXPECT_EQ(vec("foo{c=\"\"}").size(), 2u);
    EXPECT_EQ(vec("foo{c!=\"\"}"), Texts{});
    EXPECT_EQ(vec("foo{c=~\"|z\"}").size(), 2u);
    EXPECT_EQ(vec("blank{e=\"\"}"), (Texts{"blank{a=\"1\"} 9"}));  // empty labels do not exist
}

TEST_F(PromQL, SelectorsByMetricName) {
    EXPECT_EQ(vec("{__name__=\"bar\", a=\"4\"}"), (Texts{"bar{a=\"4\"} 5"}));
    EXPECT_EQ(vec("{__name__=~\"foo2?\", a=\"1\"}"), (Texts{"foo{a=\"1\", b=\"x\"} 1", "foo2{a=\"1\", b=\"x\"} 7"}));
    EXPECT_EQ(vec("{a=\"1\", __name__!~\"foo.*|many|info|blank\"}"), (Texts{"bar{a=\"1\"} 10"}));
    EXPECT_EQ(vec("{b=\"x\"}").size(), 3u);
}

TEST_F(PromQL, StringLiteralsAndEscapes) {
    EXPECT_EQ(vec("foo{b='x', a=\"\\x31\"}").size(), 1u);
    EXPECT_EQ(vec("foo{a=`1`}").size(), 1u);
    EXPECT_EQ(vec("foo{a=~`\\d`}").size(), 2u);  // raw strings keep the backslash
    EXPECT_EQ(vec("foo{a=\"\\u0031\"}").size(), 1u);
    EXPECT_EQ(vec("foo{a=\"\\061\"}").size(), 1u);
    EXPECT_EQ(vec("foo # the metric\n{a=\"1\"} # and a comment"), (Texts{"foo{a=\"1\", b=\"x\"} 1"}));
    EXPECT_EQ(vec("foo{on=\"x\"}"), Texts{});  // keywords may name labels
}

TEST_F(PromQL, KeywordsNameMetricsWhereNoOperatorCanStart) {
    EXPECT_EQ(vec("sum"), Texts{});
    EXPECT_EQ(vec("and"), Texts{});
    EXPECT_EQ(vec("topk{a=\"1\"}"), Texts{});
    EXPECT_EQ(vec("foo or sum").size(), 2u);
    EXPECT_EQ(vec("foo and and"), Texts{});
    EXPECT_EQ(vec("count + 1"), Texts{});
}

TEST_F(PromQL, NumberLiterals) {
    EXPECT_EQ(scalar("42"), "42");
    EXPECT_EQ(scalar("0x1f"), "31");
    EXPECT_EQ(scalar("017"), "15");
    EXPECT_EQ(scalar("019"), "19");
    EXPECT_EQ(scalar("1e3"), "1000");
    EXPECT_EQ(scalar("1.5e-3"), "0.0015");
    EXPECT_EQ(scalar(".5"), "0.5");
    EXPECT_EQ(scalar("5."), "5");
    EXPECT_EQ(scalar("Inf"), "+Inf");
    EXPECT_EQ(scalar("-inf"), "-Inf");
    EXPECT_EQ(scalar("NaN"), "NaN");
    EXPECT_EQ(scalar("- - 3"), "3");
}

TEST_F(PromQL, ScalarArithmeticFollowsPrecedenceAndLeftAssociativity) {
    EXPECT_EQ(scalar("1 + 2 * 3"), "7");
    EXPECT_EQ(scalar("(1 + 2) * 3"), "9");
    EXPECT_EQ(scalar("1 - 2 - 3"), "-4");
    EXPECT_EQ(scalar("12 / 2 / 3"), "2");
    EXPECT_EQ(scalar("2 * 3 % 4"), "2");
    EXPECT_EQ(scalar("-2 * 3"), "-6");
    EXPECT_EQ(scalar("-(2 + 3)"), "-5");
    EXPECT_EQ(scalar("1 + 2 > bool 2"), "1");
    EXPECT_EQ(scalar("2 < bool 1"), "0");
    EXPECT_EQ(scalar("NaN == bool NaN"), "0");
    EXPECT_EQ(scalar("NaN != bool NaN"), "1");
}

TEST_F(PromQL, DivisionByZeroAndModuloAreIEEE) {
    EXPECT_EQ(scalar("1 / 0"), "+Inf");
    EXPECT_EQ(scalar("-1 / 0"), "-Inf");
    EXPECT_EQ(scalar("0 / 0"), "NaN");
    EXPECT_EQ(scalar("7 % 3"), "1");
    EXPECT_EQ(scalar("-7 % 3"), "-1");
    EXPECT_EQ(scalar("7.5 % 2"), "1.5");
    EXPECT_EQ(scalar("1 % 0"), "NaN");
    EXPECT_EQ(scalar("Inf % 2"), "NaN");
    EXPECT_EQ(scalar("5 % Inf"), "5");
    EXPECT_EQ(vec("foo / 0"), (Texts{"{a=\"1\", b=\"x\"} +Inf", "{a=\"2\", b=\"x\"} +Inf"}));
    EXPECT_EQ(vec("zero / 0"), (Texts{"{} NaN"}));
    EXPECT_EQ(vec("-foo / zero"), Texts{});  // labels differ: no match
    EXPECT_EQ(vec("-foo / on() group_left zero"), (Texts{"{a=\"1\", b=\"x\"} -Inf", "{a=\"2\", b=\"x\"} -Inf"}));
}

TEST_F(PromQL, ArithmeticWithScalarsDropsTheName) {
    EXPECT_EQ(vec("foo + 1"), (Texts{"{a=\"1\", b=\"x\"} 2", "{a=\"2\", b=\"x\"} 3"}));
    EXPECT_EQ(vec("10 - foo"), (Texts{"{a=\"1\", b=\"x\"} 9", "{a=\"2\", b=\"x\"} 8"}));
    EXPECT_EQ(vec("foo * 2 % 3"), (Texts{"{a=\"1\", b=\"x\"} 2", "{a=\"2\", b=\"x\"} 1"}));
    EXPECT_EQ(vec("-foo"), (Texts{"{a=\"1\", b=\"x\"} -1", "{a=\"2\", b=\"x\"} -2"}));
    EXPECT_EQ(vec("+foo"), (Texts{"foo{a=\"1\", b=\"x\"} 1", "foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("mixed + 1"), (Texts{"{k=\"a\"} NaN", "{k=\"b\"} 2", "{k=\"c\"} 4"}));
}

TEST_F(PromQL, ComparisonsFilterAndKeepTheName) {
    EXPECT_EQ(vec("foo > 1"), (Texts{"foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("foo >= 1"), (Texts{"foo{a=\"1\", b=\"x\"} 1", "foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("foo == 1"), (Texts{"foo{a=\"1\", b=\"x\"} 1"}));
    EXPECT_EQ(vec("foo != 1"), (Texts{"foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("1 < foo"), (Texts{"foo{a=\"2\", b=\"x\"} 2"}));  // the vector's value, not the scalar's
    EXPECT_EQ(vec("foo <= 1"), (Texts{"foo{a=\"1\", b=\"x\"} 1"}));
    EXPECT_EQ(vec("mixed > 0"), (Texts{"mixed{k=\"b\"} 1", "mixed{k=\"c\"} 3"}));  // NaN compares false
    EXPECT_EQ(vec("mixed != 1"), (Texts{"mixed{k=\"a\"} NaN", "mixed{k=\"c\"} 3"}));
}

TEST_F(PromQL, BoolComparisonsYieldZeroOrOneAndDropTheName) {
    EXPECT_EQ(vec("foo > bool 1"), (Texts{"{a=\"1\", b=\"x\"} 0", "{a=\"2\", b=\"x\"} 1"}));
    EXPECT_EQ(vec("1 >= bool foo"), (Texts{"{a=\"1\", b=\"x\"} 1", "{a=\"2\", b=\"x\"} 0"}));
    EXPECT_EQ(vec("mixed == bool mixed"), (Texts{"{k=\"a\"} 0", "{k=\"b\"} 1", "{k=\"c\"} 1"}));
}

TEST_F(PromQL, OneToOneMatching) {
    EXPECT_EQ(vec("foo + bar"), Texts{});  // b differs
    EXPECT_EQ(vec("foo + on(a) bar"), (Texts{"{a=\"1\"} 11", "{a=\"2\"} 2"}));
    EXPECT_EQ(vec("foo + ignoring(b) bar"), (Texts{"{a=\"1\"} 11", "{a=\"2\"} 2"}));
    EXPECT_EQ(vec("foo - ignoring(b) bar"), (Texts{"{a=\"1\"} -9", "{a=\"2\"} 2"}));
    EXPECT_EQ(vec("foo / ignoring(b) bar"), (Texts{"{a=\"1\"} 0.1", "{a=\"2\"} +Inf"}));
    EXPECT_EQ(vec("foo * foo"), (Texts{"{a=\"1\", b=\"x\"} 1", "{a=\"2\", b=\"x\"} 4"}));
    EXPECT_EQ(vec("foo + on(a, b) foo2"), (Texts{"{a=\"1\", b=\"x\"} 8"}));
}

TEST_F(PromQL, VectorComparisonsKeepTheLeftValue) {
    // on(...) keeps only the matching labels, even for a filter: Prometheus does the same.
    EXPECT_EQ(vec("foo > on(a) bar"), (Texts{"{a=\"2\"} 2"}));
    EXPECT_EQ(vec("foo > ignoring(b) bar"), (Texts{"foo{a=\"2\"} 2"}));
    EXPECT_EQ(vec("foo > bool ignoring(b) bar"), (Texts{"{a=\"1\"} 0", "{a=\"2\"} 1"}));
    EXPECT_EQ(vec("foo2 < foo"), Texts{});
    EXPECT_EQ(vec("foo2 > foo"), (Texts{"foo2{a=\"1\", b=\"x\"} 7"}));
}

TEST_F(PromQL, ManyToOneNeedsGroupModifiers) {
    EXPECT_EQ(runtime_error("many * on(a) bar"),
              "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
    EXPECT_EQ(vec("many * on(a) group_left bar"),
              (Texts{"{a=\"1\", c=\"p\"} 30", "{a=\"1\", c=\"q\"} 40", "{a=\"2\", c=\"p\"} 0"}));
    EXPECT_EQ(vec("many * on(a) group_left(team) info"),
              (Texts{"{a=\"1\", c=\"p\", team=\"t1\"} 3", "{a=\"1\", c=\"q\", team=\"t1\"} 4", "{a=\"2\", c=\"p\", team=\"t2\"} 5"}));
    EXPECT_EQ(vec("info * on(a) group_right(team) many"),
              (Texts{"{a=\"1\", c=\"p\", team=\"t1\"} 3", "{a=\"1\", c=\"q\", team=\"t1\"} 4", "{a=\"2\", c=\"p\", team=\"t2\"} 5"}));
    EXPECT_EQ(vec("info - on(a) group_right many"),
              (Texts{"{a=\"1\", c=\"p\"} -2", "{a=\"1\", c=\"q\"} -3", "{a=\"2\", c=\"p\"} -4"}));
    // A filtered-out match does not count as a second match.
    EXPECT_EQ(vec("many > on(a) bar"), (Texts{"{a=\"2\"} 5"}));
    EXPECT_EQ(vec("many > on(a) group_left bar"), (Texts{"many{a=\"2\", c=\"p\"} 5"}));
    EXPECT_EQ(vec("many * ignoring(c) group_left(nothing) bar"),
              (Texts{"{a=\"1\", c=\"p\"} 30", "{a=\"1\", c=\"q\"} 40", "{a=\"2\", c=\"p\"} 0"}));
}

TEST_F(PromQL, DuplicateSeriesOnTheOneSideAreAnError) {
    EXPECT_EQ(runtime_error("bar + on(a) many"),
              "found duplicate series for the match group {a=\"1\"} on the right hand-side of the operation: "
              "[{__name__=\"many\", a=\"1\", c=\"q\"}, {__name__=\"many\", a=\"1\", c=\"p\"}];many-to-many matching "
              "not allowed: matching labels must be unique on one side");
    EXPECT_NE(runtime_error("many + on(a) group_right bar").find("on the left hand-side"), std::string::npos);
    EXPECT_EQ(runtime_error("{__name__=~\"foo2?\"} * on(a) group_left bar"),
              "multiple matches for labels: grouping labels must ensure unique matches");
}

TEST_F(PromQL, ResultsWithTheSameLabelsAreAnError) {
    const std::string same = "vector cannot contain metrics with the same labelset";
    EXPECT_EQ(runtime_error("{__name__=~\"foo2?\"} + 1"), same);
    EXPECT_EQ(runtime_error("-{__name__=~\"foo2?\"}"), same);
    EXPECT_EQ(runtime_error("clamp_min({__name__=~\"foo2?\"}, 0)"), same);
    EXPECT_EQ(runtime_error("{__name__=~\"foo2?\"} > bool 0"), same);
    EXPECT_EQ(vec("{__name__=~\"foo2?\"} > 0").size(), 3u);  // filters keep the name
    auto failed = run("{__name__=~\"foo2?\"} + 1");
    EXPECT_TRUE(std::get<Vector>(failed.value).empty());
}

TEST_F(PromQL, SetOperators) {
    EXPECT_EQ(vec("foo and bar"), Texts{});
    EXPECT_EQ(vec("foo and on(a) bar"), (Texts{"foo{a=\"1\", b=\"x\"} 1", "foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("foo and on(a) bar > 5"), (Texts{"foo{a=\"1\", b=\"x\"} 1"}));
    EXPECT_EQ(vec("foo and ignoring(b) bar{a=\"2\"}"), (Texts{"foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("foo unless on(a) bar{a=\"1\"}"), (Texts{"foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("foo unless nothing"), (Texts{"foo{a=\"1\", b=\"x\"} 1", "foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("foo and nothing"), Texts{});
    EXPECT_EQ(vec("foo or on(a) bar"),
              (Texts{"foo{a=\"1\", b=\"x\"} 1", "foo{a=\"2\", b=\"x\"} 2", "bar{a=\"4\"} 5"}));
    EXPECT_EQ(vec("foo or bar").size(), 5u);
    EXPECT_EQ(vec("nothing or bar{a=\"4\"}"), (Texts{"bar{a=\"4\"} 5"}));
    EXPECT_EQ(vec("foo AND on(a) bar").size(), 2u);  // keywords are case-insensitive
}

TEST_F(PromQL, SetOperatorPrecedence) {
    EXPECT_EQ(vec("foo or foo and nothing").size(), 2u);  // and binds tighter than or
    EXPECT_EQ(vec("foo unless foo or bar{a=\"4\"}"), (Texts{"bar{a=\"4\"} 5"}));
    EXPECT_EQ(vec("foo > 1 and foo"), (Texts{"foo{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("foo + 1 > 2"), (Texts{"{a=\"2\", b=\"x\"} 3"}));
}

TEST_F(PromQL, Aggregations) {
    EXPECT_EQ(vec("sum(foo)"), (Texts{"{} 3"}));
    EXPECT_EQ(vec("sum by (b) (foo)"), (Texts{"{b=\"x\"} 3"}));
    EXPECT_EQ(vec("sum(foo) by (b)"), (Texts{"{b=\"x\"} 3"}));
    EXPECT_EQ(vec("sum without (a) (foo)"), (Texts{"{b=\"x\"} 3"}));
    EXPECT_EQ(vec("sum without () (foo)"), (Texts{"{a=\"1\", b=\"x\"} 1", "{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("sum by (nothing) (foo)"), (Texts{"{} 3"}));
    EXPECT_EQ(vec("sum by (__name__) ({__name__=~\"foo2?\"})"), (Texts{"foo{} 3", "foo2{} 7"}));
    EXPECT_EQ(vec("avg(foo)"), (Texts{"{} 1.5"}));
    EXPECT_EQ(vec("min(bar)"), (Texts{"{} 0"}));
    EXPECT_EQ(vec("max(bar)"), (Texts{"{} 10"}));
    EXPECT_EQ(vec("count by (a) (many)"), (Texts{"{a=\"1\"} 2", "{a=\"2\"} 1"}));
    EXPECT_EQ(vec("count(nothing)"), Texts{});
    EXPECT_EQ(vec("SUM BY (a) (many)"), (Texts{"{a=\"1\"} 7", "{a=\"2\"} 5"}));
    EXPECT_EQ(vec("sum by (workflow) (runs_total{status=\"failed\"}) / sum by (workflow) (runs_total)"),
              (Texts{"{workflow=\"w1\"} 0.3", "{workflow=\"w2\"} 0"}));
}

TEST_F(PromQL, AggregationsOfNaNAndInf) {
    EXPECT_EQ(vec("max(mixed)"), (Texts{"{} 3"}));
    EXPECT_EQ(vec("min(mixed)"), (Texts{"{} 1"}));
    EXPECT_EQ(vec("max(allnan)"), (Texts{"{} NaN"}));
    EXPECT_EQ(vec("min(allnan)"), (Texts{"{} NaN"}));
    EXPECT_EQ(vec("sum(mixed)"), (Texts{"{} NaN"}));
    EXPECT_EQ(vec("avg(mixed)"), (Texts{"{} NaN"}));
    EXPECT_EQ(vec("count(allnan)"), (Texts{"{} 2"}));
    EXPECT_EQ(vec("avg(infs)"), (Texts{"{} +Inf"}));
    EXPECT_EQ(vec("sum(infs)"), (Texts{"{} +Inf"}));
    EXPECT_EQ(vec("avg(opposite)"), (Texts{"{} NaN"}));
    EXPECT_EQ(vec("max(opposite)"), (Texts{"{} +Inf"}));
}

TEST_F(PromQL, Absent) {
    EXPECT_EQ(vec("absent(foo)"), Texts{});
    EXPECT_EQ(vec("absent(nothing)"), (Texts{"{} 1"}));
    EXPECT_EQ(vec("absent(nothing{a=\"1\", b=~\"x\", c!=\"y\"})"), (Texts{"{a=\"1\"} 1"}));
    EXPECT_EQ(vec("absent(foo{a=\"1\", b=\"y\"})"), (Texts{"{a=\"1\", b=\"y\"} 1"}));
    EXPECT_EQ(vec("absent(nothing{a=\"1\", a=\"2\"})"), (Texts{"{} 1"}));
    EXPECT_EQ(vec("absent(nothing{a=\"1\", a!=\"2\"})"), (Texts{"{} 1"}));
    EXPECT_EQ(vec("absent({__name__=\"nothing\", a=\"1\"})"), (Texts{"{a=\"1\"} 1"}));
    EXPECT_EQ(vec("absent(sum(nothing{a=\"1\"}))"), (Texts{"{} 1"}));
    EXPECT_EQ(vec("absent((nothing{a=\"1\"}))"), (Texts{"{a=\"1\"} 1"}));  // as Prometheus 2.42
    EXPECT_EQ(vec("absent(foo > 5)"), (Texts{"{} 1"}));
    EXPECT_EQ(vec("absent(+nothing{a=\"1\"})"), (Texts{"{} 1"}));
}

TEST_F(PromQL, ClampKeepsLabelsWithoutTheName) {
    EXPECT_EQ(vec("clamp_min(foo, 1.5)"), (Texts{"{a=\"1\", b=\"x\"} 1.5", "{a=\"2\", b=\"x\"} 2"}));
    EXPECT_EQ(vec("clamp_max(foo, 1.5)"), (Texts{"{a=\"1\", b=\"x\"} 1", "{a=\"2\", b=\"x\"} 1.5"}));
    EXPECT_EQ(vec("clamp_max(foo, 2 - 1)"), (Texts{"{a=\"1\", b=\"x\"} 1", "{a=\"2\", b=\"x\"} 1"}));
    EXPECT_EQ(vec("clamp_min(mixed, 2)"), (Texts{"{k=\"a\"} NaN", "{k=\"b\"} 2", "{k=\"c\"} 3"}));
    EXPECT_EQ(vec("clamp_max(mixed, -Inf)"), (Texts{"{k=\"a\"} -Inf", "{k=\"b\"} -Inf", "{k=\"c\"} -Inf"}));
    EXPECT_EQ(vec("clamp_min(nothing, 0)"), Texts{});
}

// The store has no history: its series are samples at the source's time only.
TEST_F(PromQL, TheStoreIsOneSampleAtItsTime) {
    EXPECT_EQ(vec("foo offset 1m"), Texts{});
    EXPECT_EQ(vec("foo @ 301"), Texts{});  // beyond the 5m lookback of the sample at 0
    EXPECT_EQ(vec("count_over_time(foo[5m])"), (Texts{"{a=\"1\", b=\"x\"} 1", "{a=\"2\", b=\"x\"} 1"}));
    EXPECT_EQ(vec("rate(foo[5m])"), Texts{});  // one sample: no rate
    EXPECT_EQ(vec("timestamp(foo)"), (Texts{"{a=\"1\", b=\"x\"} 0", "{a=\"2\", b=\"x\"} 0"}));
    EXPECT_EQ(vector_text(std::get<Vector>(evaluate_checked(*parse_expr("foo"), *source_, 301'000).value)), Texts{});
}

TEST_F(PromQL, SelectedMetricNames) {
    auto expr = parse_expr("sum(foo) / on() group_left bar + absent(baz{a=\"1\"}) or clamp_min(foo, 1) > 2");
    EXPECT_EQ(selected_metric_names(*expr), (std::vector<std::string>{"bar", "baz", "foo"}));
    EXPECT_EQ(selected_metric_names(*parse_expr("1 > bool 0")), std::vector<std::string>{});
}

// A selector without a fixed name may read any metric: no list can be given.
TEST_F(PromQL, SelectedMetricNamesUnknownForANamelessSelector) {
    EXPECT_EQ(selected_metric_names(*parse_expr("foo or {__name__=~\"x.*\"}")), std::nullopt);
    EXPECT_EQ(selected_metric_names(*parse_expr("sum(foo) + absent({job=\"x\"})")), std::nullopt);
}

struct Refusal {
    std::string expr;
    std::size_t offset;
    std::string message;  // a part of the message
};

class Refusals : public ::testing::TestWithParam<Refusal> {};

TEST_P(Refusals, NameTheConstructAndWhereItIs) {
    const auto& refusal = GetParam();
    try {
        parse_expr(refusal.expr);
        FAIL() << refusal.expr << " was accepted";
    } catch (const ExprError& e) {
        EXPECT_NE(std::string(e.what()).find(refusal.message), std::string::npos) << refusal.expr << ": " << e.what();
        EXPECT_EQ(e.offset(), refusal.offset) << refusal.expr << ": " << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    PromQL, Refusals,
    ::testing::Values(
        Refusal{"histogram_count(foo)", 0, "function \"histogram_count\" is not supported: it reads native histograms"},
        Refusal{"frobnicate(foo)", 0, "unknown function with name \"frobnicate\""},
        Refusal{"rate(foo)", 0, "expected type range vector in call to function \"rate\", got instant vector"},
        Refusal{"abs(foo[5m])", 0, "expected type instant vector in call to function \"abs\", got range vector"},
        Refusal{"foo[5m] + 1", 8, "binary expression must contain only scalar and instant vector types"},
        Refusal{"sum(foo[5m])", 0, "expected type instant vector in aggregation expression, got range vector"},
        Refusal{"(foo + 1)[5m]", 9, "ranges only allowed for vector selectors"},
        Refusal{"(foo)[5m]", 5, "ranges only allowed for vector selectors"},
        Refusal{"(foo) offset 1m", 6, "offset modifier must be preceded by an instant vector selector"},
        Refusal{"(foo[5m]) @ 1", 10, "@ modifier must be preceded by an instant vector selector"},
        Refusal{"foo offset 1m[5m]", 13, "no offset modifiers allowed before range"},
        Refusal{"foo @ 10[5m]", 8, "no @ modifiers allowed before range"},
        Refusal{"foo offset 1m offset 2m", 14, "offset may not be set multiple times"},
        Refusal{"foo offset 0s offset 2m", 14, "offset may not be set multiple times"},
        Refusal{"sum(foo) offset 1m", 9, "offset modifier must be preceded by an instant vector selector"},
        Refusal{"sum(foo) @ 1", 9, "@ modifier must be preceded by an instant vector selector"},
        Refusal{"foo @ 1 @ 2", 8, "@ <timestamp> may not be set multiple times"},
        Refusal{"foo @ Inf", 6, "timestamp out of bounds for @ modifier: +Inf"},
        Refusal{"foo @ 5e15", 6, "timestamp out of bounds for @ modifier: 5000000000000000.000000"},
        Refusal{"foo[99999999999y]", 4, "not a valid duration string"},
        Refusal{"foo @ bar", 6, "unexpected \"bar\" in @, expected timestamp"},
        Refusal{"foo[5m][1m:]", 7, "subquery is only allowed on instant vector, got range vector instead"},
        Refusal{"foo[5mm]", 4, "not a valid duration string: \"5mm\""},
        Refusal{"foo[5m1h]", 4, "not a valid duration string"},
        Refusal{"foo[0s]", 3, "range must be greater than 0"},
        Refusal{"foo[5]", 4, "unexpected number \"5\" in range, expected duration"},
        Refusal{"topk(foo)", 0, "wrong number of arguments for aggregate expression provided, expected 2, got 1"},
        Refusal{"topk(\"a\", foo)", 0, "expected type scalar in aggregation parameter, got string"},
        Refusal{"count_values(1, foo)", 0, "expected type string in aggregation parameter, got scalar"},
        Refusal{"round(foo, 1, 2)", 0, "expected at most 2 argument(s) in call to \"round\", got 3"},
        Refusal{"label_join(foo, \"a\")", 0, "expected at least 3 argument(s) in call to \"label_join\", got 2"},
        Refusal{"-\"a\"", 0, "unary expression only allowed on expressions of type scalar or instant vector, got \"string\""},
        Refusal{"\"a\" + 1", 4, "binary expression must contain only scalar and instant vector types"},
        Refusal{"{}", 0, "vector selector must contain at least one non-empty matcher"},
        Refusal{"{a=\"\"}", 0, "vector selector must contain at least one non-empty matcher"},
        Refusal{"{a=~\".*\", b!=\"x\"}", 0, "vector selector must contain at least one non-empty matcher"},
        Refusal{"foo{__name__=\"bar\"}", 4, "metric name must not be set twice: \"foo\" or \"bar\""},
        Refusal{"foo{a=~\"(\"}", 4, "matcher \"a\": bad regex \"(\": missing ): ("},
        Refusal{"foo{a=~\"(a)\\\\1\"}", 4, "bad regex"},
        Refusal{"1 > 2", 2, "comparisons between scalars must use BOOL modifier"},
        Refusal{"foo + bool 1", 4, "bool modifier can only be used on comparison operators"},
        Refusal{"foo and 1", 4, "set operator \"and\" not allowed in binary scalar expression"},
        Refusal{"1 or foo", 2, "set operator \"or\" not allowed in binary scalar expression"},
        Refusal{"foo and on(a) group_left bar", 4, "no grouping allowed for \"and\" operation"},
        Refusal{"foo + on(a) 1", 4, "vector matching only allowed between instant vectors"},
        Refusal{"foo * on(a) group_left(a) bar", 4, "label \"a\" must not occur in ON and GROUP clause at once"},
        Refusal{"sum(1)", 0, "expected type instant vector in aggregation expression, got scalar"},
        Refusal{"sum(foo, bar)", 0, "wrong number of arguments for aggregate expression provided, expected 1, got 2"},
        Refusal{"absent(1)", 0, "expected type instant vector in call to function \"absent\", got scalar"},
        Refusal{"absent()", 0, "expected 1 argument(s) in call to \"absent\", got 0"},
        Refusal{"clamp_min(foo)", 0, "expected 2 argument(s) in call to \"clamp_min\", got 1"},
        Refusal{"clamp_max(foo, bar)", 0, "expected type scalar in call to function \"clamp_max\", got instant vector"},
        Refusal{"", 0, "unexpected end of input"},
        Refusal{"foo +", 5, "unexpected end of input"},
        Refusal{"foo{a=\"1\"", 9, "unexpected end of input in label matching"},
        Refusal{"foo{a:b=\"1\"}", 4, "invalid label name \"a:b\""},
        Refusal{"sum by (a:b) (foo)", 8, "invalid label name \"a:b\""},
        Refusal{"sum by (a) foo", 11, "unexpected \"foo\" in aggregation"},
        Refusal{"foo{a=1}", 6, "in label matching, expected string"},
        Refusal{"foo{a=\"x}", 6, "unterminated quoted string"},
        Refusal{"foo{a=\"\\q\"}", 7, "unknown escape sequence"},
        Refusal{"foo{a='\\\"'}", 7, "unknown escape sequence"},
        Refusal{"foo{a=\"\\u00zz\"}", 7, "invalid escape sequence"},
        Refusal{"1a", 0, "bad number or duration syntax"},
        Refusal{"5m", 0, "unexpected duration \"5m\""},
        Refusal{"foo bar", 4, "unexpected \"bar\""},
        Refusal{"foo ! bar", 4, "unexpected character after '!'"},
        Refusal{"foo $", 4, "unexpected character '$'"},
        Refusal{"(foo", 4, "unexpected end of input in parenthesized expression"},
        Refusal{"sum by (a)", 10, "unexpected end of input in aggregation"},
        Refusal{"on", 0, "unexpected \"on\""},
        Refusal{"foo + bool", 10, "unexpected end of input"},
        Refusal{"foo and", 7, "unexpected end of input"}));

}  // namespace
}  // namespace cargomon::alerts::promql

namespace cargomon::alerts::promql {
namespace {

// avg_over_time and sum_over_time sum with compensation, as the Prometheus cargomon is
// compared with does: a plain running mean of these five ends at 0.5099999999999999 and a
// plain sum of 0.1, 0.2, 0.3 at 0.6000000000000001, so `== 0.51` and `== 0.6` would
// not hold (the 100k-series bench found 615 series against Prometheus' 614 this way).
TEST(PromQLOverTime, AvgAndSumOverTimeAreCompensated) {
    MemorySource source;
    const double ratios[] = {0.6, 0.7, 0.45, 0.6, 0.2};
    for (int i = 0; i < 5; ++i) source.add({{"__name__", "ratio"}}, i * 60'000, ratios[i]);
    const double parts[] = {0.1, 0.2, 0.3};
    for (int i = 0; i < 3; ++i) source.add({{"__name__", "part"}}, i * 60'000, parts[i]);
    auto one = [&](const std::string& text) {
        auto result = evaluate_checked(*parse_expr(text), source, 4 * 60'000);
        EXPECT_EQ(result.error, "");
        return std::get<Vector>(result.value).size();
    };
    EXPECT_EQ(one("avg_over_time(ratio[5m]) == 0.51"), 1u);
    EXPECT_EQ(one("sum_over_time(part[5m]) == 0.6"), 1u);
}

}  // namespace
}  // namespace cargomon::alerts::promql
