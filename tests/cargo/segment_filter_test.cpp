// The segment filter language (cargo/segment_filter.h): each form of a condition to the
// API's JSON, the refusals with their reasons, and hostile conditions (huge, deeply
// bracketed, full of quotes) refused or read in one pass.
#include "cargo/segment_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cargomon::cargo {
namespace {

// The one condition of a filter of one condition.
std::string condition(const std::string& expr) {
    const std::string json = segment_filter_json({expr}, false);
    const std::string head = R"({"conjonction":"and","groups":[{"conjonction":"and","conditions":[)";
    EXPECT_EQ(json.rfind(head, 0), 0u) << json;
    EXPECT_TRUE(json.ends_with("]}]}")) << json;
    return json.substr(head.size(), json.size() - head.size() - 4);
}

std::string refusal(const std::string& expr) {
    try {
        segment_filter_json({expr}, false);
    } catch (const FilterError& e) {
        return e.what();
    }
    ADD_FAILURE() << "accepted: " << expr;
    return "";
}

TEST(SegmentFilter, NoConditionsIsNoGroup) {
    EXPECT_EQ(segment_filter_json({}, false), R"({"conjonction":"and","groups":[]})");
    EXPECT_EQ(segment_filter_json({}, true), R"({"conjonction":"and","groups":[]})");
}

TEST(SegmentFilter, ConditionsJoinedByAllOrAny) {
    EXPECT_EQ(segment_filter_json({"a = 1", "b is null"}, true),
              R"({"conjonction":"and","groups":[{"conjonction":"or","conditions":[)"
              R"({"kind":"number","columnSlug":"a","operator":"is","value":1.0},)"
              R"({"kind":"any","columnSlug":"b","operator":"isNull"}]}]})");
}

TEST(SegmentFilter, EachOperator) {
    EXPECT_EQ(condition("country = \"FR\""), R"({"kind":"string","columnSlug":"country","operator":"is","values":["FR"]})");
    EXPECT_EQ(condition("country != FR"), R"({"kind":"string","columnSlug":"country","operator":"isNot","values":["FR"]})");
    EXPECT_EQ(condition("title ~ acme"), R"({"kind":"string","columnSlug":"title","operator":"contains","values":["acme"]})");
    EXPECT_EQ(condition("title !~ acme"),
              R"({"kind":"string","columnSlug":"title","operator":"doesNotContain","values":["acme"]})");
    EXPECT_EQ(condition("title ^= Ac"), R"({"kind":"string","columnSlug":"title","operator":"startsWith","values":["Ac"]})");
    EXPECT_EQ(condition("title $= ' GmbH'"),
              R"({"kind":"string","columnSlug":"title","operator":"endsWith","values":[" GmbH"]})");
    EXPECT_EQ(condition("runs > 2.5"), R"({"kind":"number","columnSlug":"runs","operator":"greaterThan","value":2.5})");
    EXPECT_EQ(condition("at < 2026-11-30"), R"({"kind":"date","columnSlug":"at","operator":"lowerThan","value":"2026-11-30"})");
    EXPECT_EQ(condition("at = 2026-11-30T12:00:00Z"),
              R"({"kind":"date","columnSlug":"at","operator":"is","value":"2026-11-30T12:00:00Z"})");
    EXPECT_EQ(condition("name IS NOT EMPTY"), R"({"kind":"string","columnSlug":"name","operator":"isNotEmpty"})");
    EXPECT_EQ(condition("name is empty"), R"({"kind":"string","columnSlug":"name","operator":"isEmpty"})");
    EXPECT_EQ(condition("a.b_c is not null"), R"({"kind":"any","columnSlug":"a.b_c","operator":"isNotNull"})");
}

TEST(SegmentFilter, AQuotedNumberIsText) {
    EXPECT_EQ(condition("zip = \"75001\""), R"({"kind":"string","columnSlug":"zip","operator":"is","values":["75001"]})");
    // A number where only text makes sense (contains) is sent as text.
    EXPECT_EQ(condition("zip ~ 75"), R"({"kind":"string","columnSlug":"zip","operator":"contains","values":["75"]})");
}

TEST(SegmentFilter, RefusalsSayWhy) {
    EXPECT_NE(refusal("= 3").find("it must start with a column name"), std::string::npos);
    EXPECT_NE(refusal("country").find("no operator after \"country\""), std::string::npos);
    EXPECT_NE(refusal("country =").find("no value after ="), std::string::npos);
    EXPECT_NE(refusal("size > big").find("> needs a number or a date"), std::string::npos);
    EXPECT_NE(refusal("size < \"3\"").find("< needs a number or a date"), std::string::npos);
    EXPECT_NE(refusal("x is maybe").find("no operator"), std::string::npos);
    EXPECT_EQ(refusal("country").rfind("\"country\": ", 0), 0u);
}

TEST(SegmentFilter, ARefusalQuotesTheConditionPrintableAndCut) {
    const std::string huge = "country ?" + std::string(100'000, 'x') + "\x01";
    const std::string why = refusal(huge);
    EXPECT_LT(why.size(), 600u);
    EXPECT_EQ(why.find('\x01'), std::string::npos);
}

// The kernel lets one argument be 128 KiB: conditions of that size, of the shapes that
// cost most (all brackets, all quotes, all white space, one huge number), are read or
// refused, never recursed into.
TEST(SegmentFilter, HostileConditionsOfTheLargestSize) {
    constexpr std::size_t kArg = 128 * 1024;
    EXPECT_NE(refusal(std::string(kArg, '(')).find("column name"), std::string::npos);
    EXPECT_NE(condition("a = " + std::string(kArg, '[')).find(R"("kind":"string")"), std::string::npos);
    EXPECT_NE(refusal(std::string(kArg, ' ')).find("column name"), std::string::npos);
    EXPECT_NE(refusal(std::string(kArg, 'a')).find("no operator"), std::string::npos);
    EXPECT_NE(refusal("a > " + std::string(kArg, '"')).find("needs a number"), std::string::npos);
    const std::string quotes = condition("a = " + std::string(kArg, '"'));
    EXPECT_GT(quotes.size(), kArg) << "the quotes are the value, escaped";
    const std::string digits = condition("a = " + std::string(kArg, '9'));
    EXPECT_NE(digits.find(R"("kind":"string")"), std::string::npos) << "too big for a double is no number";
    EXPECT_NE(refusal("a > " + std::string(kArg, '9')).find("needs a number or a date"), std::string::npos);
    // Many conditions at once: one group, each in order.
    const std::vector<std::string> many(10'000, "a = 1");
    const std::string json = segment_filter_json(many, false);
    std::size_t count = 0;
    for (auto at = json.find(R"("columnSlug":"a")"); at != std::string::npos; at = json.find(R"("columnSlug":"a")", at + 1))
        ++count;
    EXPECT_EQ(count, many.size());
}

TEST(SegmentSort, ColumnsInOrder) {
    EXPECT_EQ(segment_sort_json({}), "");
    EXPECT_EQ(segment_sort_json({"a", "b:DESC", "c:asc"}),
              R"([{"columnSlug":"a","kind":"asc"},{"columnSlug":"b","kind":"desc"},{"columnSlug":"c","kind":"asc"}])");
}

TEST(SegmentSort, RefusesAnEmptyColumnOrAnotherOrder) {
    for (const char* bad : {":desc", "a:up", "a:"}) {
        try {
            segment_sort_json({bad});
            ADD_FAILURE() << "accepted " << bad;
        } catch (const FilterError& e) {
            EXPECT_NE(std::string(e.what()).find("want COLUMN, COLUMN:asc or COLUMN:desc"), std::string::npos);
        }
    }
}

}  // namespace
}  // namespace cargomon::cargo
