// A rule file is user input: however deep an expr nests, parsing it is an error with a
// position, never a stack overflow (these inputs crashed check-rules and a reload).
#include <gtest/gtest.h>

#include <string>

#include "alerts/promql/promql.h"

namespace cargomon::alerts {
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
    struct Empty : SeriesSource {
        void visit(std::string_view, const std::function<void(const metrics::Labels&, double)>&) const override {}
    } source;
    EXPECT_EQ(std::get<double>(evaluate(*expr, source)), 3);
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

}  // namespace
}  // namespace cargomon::alerts
