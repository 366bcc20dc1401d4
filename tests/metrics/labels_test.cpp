#include "metrics/labels.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

#include "tests/support/predicate.h"

namespace cargomon::metrics {
namespace {

using testing::expect_accepts;

Matcher m(std::string_view text) {
    auto parsed = parse_matcher(text);
    if (auto* error = std::get_if<std::string>(&parsed)) ADD_FAILURE() << text << ": " << *error;
    return std::get<Matcher>(std::move(parsed));
}

std::string error_of(std::string_view text) {
    auto parsed = parse_matcher(text);
    auto* error = std::get_if<std::string>(&parsed);
    return error ? *error : "(accepted)";
}

TEST(Matcher, ParsesAllOperatorsQuotedOrNot) {
    auto re = m(R"(name =~ "ab.*")");
    EXPECT_EQ(re.name(), "name");
    EXPECT_EQ(re.op(), Matcher::Op::regex);
    EXPECT_EQ(re.value(), "ab.*");
    auto ne = m("env!=prod");
    EXPECT_EQ(ne.op(), Matcher::Op::not_equal);
    EXPECT_TRUE(ne.matches(Labels{}));  // a missing label is the empty string
    EXPECT_FALSE(ne.matches(Labels{{"env", "prod"}}));
    EXPECT_EQ(m(R"(msg="say \"hi\"")").value(), "say \"hi\"");
    EXPECT_EQ(m("a!~x|y").op(), Matcher::Op::not_regex);
    EXPECT_NE(error_of("no operator").find("expected name"), std::string::npos);
    EXPECT_NE(error_of("1x=a").find("not a label name"), std::string::npos);
    EXPECT_NE(error_of(R"(a="open)").find("unterminated"), std::string::npos);
}

TEST(Matcher, ToStringIsPrometheusForm) {
    EXPECT_EQ(m(R"(a =~ "x\"y")").to_string(), R"(a=~"x\"y")");
    EXPECT_EQ(m("a!=b").to_string(), R"(a!="b")");
}

TEST(Matcher, RegexesAreFullyAnchored) {
    auto re = m(R"(name=~"ab.*")");
    EXPECT_TRUE(re.matches("abc"));
    EXPECT_FALSE(re.matches("xabc"));
    auto alternation = m(R"(name=~"a.|b")");  // anchors hold around the whole alternation
    EXPECT_TRUE(alternation.matches("ax"));
    EXPECT_FALSE(alternation.matches("axb"));
    EXPECT_FALSE(alternation.matches("xb"));
    // Splicing the text into ^(?:...)$ would let this escape the anchors; it is refused.
    EXPECT_NE(error_of(R"x(a=~"x)|(y")x").find("bad regex"), std::string::npos);
}

TEST(Matcher, LiteralAlternationsMatchLikeTheRegex) {
    auto set = m(R"(a=~"billing|data-eu|")");
    EXPECT_TRUE(set.matches("billing"));
    EXPECT_TRUE(set.matches("data-eu"));
    EXPECT_TRUE(set.matches(""));
    EXPECT_FALSE(set.matches("billing|data-eu"));
    EXPECT_FALSE(set.matches("bill"));
    auto not_set = m(R"(a!~"x|y")");
    EXPECT_FALSE(not_set.matches("x"));
    EXPECT_TRUE(not_set.matches("xy"));
}

TEST(Matcher, CaseInsensitiveWithGoFlag) {
    auto re = m(R"x(workflow_name=~"(?i)billing-.*")x");
    EXPECT_TRUE(re.matches("BILLING-eu"));
    EXPECT_TRUE(re.matches("billing-eu"));
    EXPECT_FALSE(re.matches("xbilling-eu"));
}

TEST(Matcher, GoRe2SyntaxAcceptedAndPerlOnlyFormsRefused) {
    EXPECT_TRUE(m(R"(a=~"\\pL+")").matches("Zürich"));
    EXPECT_TRUE(m(R"x(a=~"(?P<x>\\d+)-(?s:.)")x").matches("12-\n"));
    EXPECT_NE(error_of(R"x(a=~"(a)\\1")x").find("bad regex"), std::string::npos);   // back-reference
    EXPECT_NE(error_of(R"x(a=~"x(?=y)")x").find("bad regex"), std::string::npos);   // lookahead
}

// A backtracking engine takes ~6^100 steps here (std::regex never came back); RE2 is
// linear. The test asserts the answers; ctest's timeout catches a hang.
TEST(Matcher, PathologicalRegexAnswersPromptly) {
    auto re = m(R"x(a=~"(.|.|.|.|.|.)*Z")x");
    const std::string no(100, 'a');
    EXPECT_FALSE(re.matches(no));
    EXPECT_TRUE(re.matches(no + "Z"));
    EXPECT_FALSE(re.matches(no + "Za"));
}

TEST(Matcher, RegexSizeIsBounded) {
    const std::string longest(kMaxRegexLength - 1, 'x');
    EXPECT_TRUE(m("a=~\"" + longest + "+\"").matches(longest));  // at the length cap
    const std::string too_long(kMaxRegexLength + 1, 'x');
    EXPECT_NE(error_of("a=~\"" + too_long + ".\"").find("longer than 4096"), std::string::npos);
    // Short to write, huge to compile: refused by the memory budget, not run.
    EXPECT_NE(error_of(R"x(a=~"((((.{100}){100}){100}){100})")x").find("bad regex"), std::string::npos);
}

TEST(Matcher, MatchesAllNeedsEveryMatcher) {
    std::vector<Matcher> both{m("a=1"), m("b=~\"2|3\"")};
    EXPECT_TRUE(matches_all(both, {{"a", "1"}, {"b", "3"}}));
    EXPECT_FALSE(matches_all(both, {{"a", "1"}}));
    EXPECT_TRUE(matches_all({}, {}));
}

TEST(LabelName, OneSyntaxForMatchersAndExposition) {
    expect_accepts(is_label_name, {"workflow_uuid", "__name__", "_1"}, {"", "1a", "a:b", "node-slug", "é"});
}

// The one shape of labels on disk: an object in the set's order, whatever the values
// hold; anything else (the array shapes of earlier versions included) is refused, so a
// store never misreads a row.
TEST(Labels, LookupSetAndText) {
    Labels labels{{"a", "1"}, {"c", "say \"hi\"\n"}};
    EXPECT_EQ(*find_label(labels, "a"), "1");
    EXPECT_EQ(find_label(labels, "b"), nullptr);
    EXPECT_EQ(label_value(labels, "b"), "");  // a missing label reads as empty
    set_label(labels, "b", "2");
    set_label(labels, "a", "one");
    EXPECT_EQ(labels, (Labels{{"a", "one"}, {"b", "2"}, {"c", "say \"hi\"\n"}}));
    // Prometheus' labels.String(), values quoted as PromQL writes them.
    EXPECT_EQ(labels_text(labels), R"({a="one", b="2", c="say \"hi\"\n"})");
    EXPECT_EQ(labels_text({}), "{}");
}

TEST(Labels, WithoutName) {
    EXPECT_EQ(without_name({{"__name__", "up"}, {"a", "1"}}), (Labels{{"a", "1"}}));
    EXPECT_EQ(without_name({{"a", "1"}}), (Labels{{"a", "1"}}));
    EXPECT_EQ(without_name({}), Labels{});
}

TEST(MatchersJson, RoundTripsInAlertmanagersShape) {
    std::vector<Matcher> matchers{m("a=1"), m("b!=2"), m(R"(c=~"(?i)x|y")"), m("d!~z")};
    const std::string json = matchers_to_json(matchers);
    EXPECT_EQ(json, R"([{"name":"a","value":"1","isRegex":false,"isEqual":true},)"
                    R"({"name":"b","value":"2","isRegex":false,"isEqual":false},)"
                    R"({"name":"c","value":"(?i)x|y","isRegex":true,"isEqual":true},)"
                    R"({"name":"d","value":"z","isRegex":true,"isEqual":false}])");
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    auto read = matchers_from_json(doc);
    ASSERT_TRUE(std::holds_alternative<std::vector<Matcher>>(read)) << std::get<std::string>(read);
    EXPECT_EQ(std::get<std::vector<Matcher>>(read), matchers);
}

TEST(MatchersJson, DefaultsAndErrors) {
    auto read = [](const char* json) -> std::string {
        rapidjson::Document doc;
        doc.Parse(json);
        auto matchers = matchers_from_json(doc);
        if (auto* error = std::get_if<std::string>(&matchers)) return *error;
        std::string text;
        for (const auto& matcher : std::get<std::vector<Matcher>>(matchers)) text += matcher.to_string() + " ";
        return text;
    };
    EXPECT_EQ(read(R"([{"name":"a","value":"b"}])"), "a=\"b\" ");  // isRegex false, isEqual true
    EXPECT_EQ(read(R"({"name":"a"})"), "matchers: expected a list of {name, value, isRegex, isEqual}");
    EXPECT_EQ(read(R"([{"name":"a"}])"), "matchers: every matcher needs string name and value");
    EXPECT_EQ(read(R"([{"name":"a","value":"b","isRegex":1}])"), "matchers: isRegex and isEqual must be true or false");
    EXPECT_EQ(read(R"([{"name":"1a","value":"b"}])"), "matcher: \"1a\" is not a label name");
    EXPECT_NE(read(R"([{"name":"a","value":"(","isRegex":true}])").find("bad regex"), std::string::npos);
}

TEST(LabelsJson, RoundTripsAndRefusesOtherShapes) {
    const Labels labels{{"alertname", "Down"}, {"b", "q\"u\\o\nte"}, {"a", "ünï"}, {"empty", ""}};
    const std::string json = labels_to_json(labels);
    EXPECT_EQ(json, R"({"alertname":"Down","b":"q\"u\\o\nte","a":"ünï","empty":""})");
    EXPECT_EQ(labels_from_json(json), labels);
    EXPECT_EQ(labels_from_json("{}"), Labels{});
    EXPECT_EQ(labels_to_json({}), "{}");
    // Written into a larger document, the same object.
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartArray();
    write_labels_json(w, labels);
    w.EndArray();
    EXPECT_EQ(std::string(buffer.GetString()), "[" + json + "]");
    for (const char* bad : {R"(["a","1"])", R"([["a","1"]])", R"({"a":1})", R"({"a":"1","a":"2"})", "{", "",
                            R"({"a":["1"]})"})
        EXPECT_FALSE(labels_from_json(bad)) << bad;
}

}  // namespace
}  // namespace cargomon::metrics
