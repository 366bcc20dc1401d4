// parse_json must turn any input into a document or a positioned error, never a crash:
// the inputs below each killed the daemon (stack overflow in RapidJSON's recursive parser).
#include "common/json.h"

#include <gtest/gtest.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>

namespace cargomon {
namespace {

TEST(ParseJson, ReadsAnOrdinaryDocument) {
    rapidjson::Document doc;
    EXPECT_EQ(parse_json(R"({"matchers":[{"name":"a","value":"b"}],"n":1.5})", doc), std::nullopt);
    ASSERT_TRUE(doc.IsObject());
    EXPECT_STREQ(doc["matchers"][0]["value"].GetString(), "b");
    EXPECT_EQ(doc["n"].GetDouble(), 1.5);
}

TEST(ParseJson, ErrorsNameTheOffset) {
    rapidjson::Document doc;
    auto error = parse_json(R"({"a": [1, 2,]})", doc);
    ASSERT_TRUE(error);
    EXPECT_EQ(*error, "offset 12: Invalid value.");
    EXPECT_TRUE(doc.IsNull());
    EXPECT_EQ(parse_json("", doc), "offset 0: The document is empty.");
    EXPECT_EQ(parse_json("{} x", doc), "offset 3: The document root must not be followed by other values.");
}

TEST(ParseJson, ThreeThousandNestedBracketsAreAnErrorNotACrash) {
    rapidjson::Document doc;
    auto error = parse_json(std::string(3000, '['), doc);
    ASSERT_TRUE(error);
    EXPECT_EQ(*error, "offset 64: nested deeper than 64 arrays and objects");
}

TEST(ParseJson, AMegabyteOfOpenBracesIsAnErrorNotACrash) {
    rapidjson::Document doc;
    std::string text;
    for (int i = 0; i < 1'000'000 / 6; ++i) text += "{\"a\":";
    auto error = parse_json(text, doc);
    ASSERT_TRUE(error);
    EXPECT_NE(error->find("nested deeper than 64"), std::string::npos) << *error;
}

TEST(ParseJson, DepthLimitCountsOnlyOpenContainers) {
    rapidjson::Document doc;
    std::string ok = std::string(64, '[') + std::string(64, ']');
    EXPECT_EQ(parse_json(ok, doc), std::nullopt);
    // Siblings do not add up: a long flat array of arrays is fine.
    std::string wide = "[";
    for (int i = 0; i < 10000; ++i) wide += i ? ",[[1]]" : "[[1]]";
    wide += "]";
    EXPECT_EQ(parse_json(wide, doc), std::nullopt);
    EXPECT_EQ(doc.Size(), 10000u);
    std::string deep = std::string(65, '[') + std::string(65, ']');
    EXPECT_TRUE(parse_json(deep, doc));
    EXPECT_EQ(parse_json(deep, doc, {.max_depth = 65}), std::nullopt);
}

TEST(ParseJson, DeepDocumentWithinTheLimitCanBeWrittenBack) {
    // What the limit protects: recursive walkers such as RapidJSON's Writer.
    rapidjson::Document doc;
    std::string text = std::string(64, '[') + std::string(64, ']');
    ASSERT_EQ(parse_json(text, doc), std::nullopt);
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    doc.Accept(writer);
    EXPECT_EQ(std::string(buffer.GetString()), text);
}

TEST(ParseJson, InPlaceKeepsStringsInTheText) {
    rapidjson::Document doc;
    std::string text = R"({"rows":[["x","y"]]})";
    ASSERT_EQ(parse_json_in_place(text, doc), std::nullopt);
    EXPECT_STREQ(doc["rows"][0][1].GetString(), "y");
    std::string deep(3000, '[');
    auto error = parse_json_in_place(deep, doc);
    ASSERT_TRUE(error);
    EXPECT_EQ(*error, "offset 64: nested deeper than 64 arrays and objects");
}

TEST(ParseJson, NanAndInfOnlyWhenAsked) {
    rapidjson::Document doc;
    EXPECT_TRUE(parse_json("[NaN, Infinity]", doc));
    ASSERT_EQ(parse_json("[NaN, -Infinity]", doc, {.nan_and_inf = true}), std::nullopt);
    EXPECT_TRUE(std::isnan(doc[0].GetDouble()));
    EXPECT_TRUE(std::isinf(doc[1].GetDouble()));
}

TEST(ParseJson, LengthBoundedNotNulTerminated) {
    rapidjson::Document doc;
    std::string_view text = R"([1,2]garbage)";
    EXPECT_EQ(parse_json(text.substr(0, 5), doc), std::nullopt);
    EXPECT_EQ(doc.Size(), 2u);
}

}  // namespace
}  // namespace cargomon
