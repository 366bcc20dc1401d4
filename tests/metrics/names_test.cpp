#include "metrics/names.h"

#include <gtest/gtest.h>

namespace cargomon::metrics {
namespace {

TEST(Names, MetricNames) {
    EXPECT_TRUE(is_valid_metric_name("cargo_workflow_runs"));
    EXPECT_TRUE(is_valid_metric_name("job:cargo_runs:rate5m"));
    EXPECT_TRUE(is_valid_metric_name("_x9"));
    EXPECT_FALSE(is_valid_metric_name(""));
    EXPECT_FALSE(is_valid_metric_name("9lives"));
    EXPECT_FALSE(is_valid_metric_name("cargo-runs"));
    EXPECT_FALSE(is_valid_metric_name("cargo runs"));
    EXPECT_FALSE(is_valid_metric_name("caf\xc3\xa9"));
}

TEST(Names, LabelNames) {
    EXPECT_TRUE(is_valid_label_name("workflow_uuid"));
    EXPECT_TRUE(is_valid_label_name("_a1"));
    EXPECT_FALSE(is_valid_label_name(""));
    EXPECT_FALSE(is_valid_label_name("__name__"));
    EXPECT_FALSE(is_valid_label_name("a:b"));
    EXPECT_FALSE(is_valid_label_name("1a"));
    EXPECT_FALSE(is_valid_label_name("node-slug"));
}

TEST(Names, Utf8) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii"));
    EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"));
    EXPECT_FALSE(is_valid_utf8("\xff"));
    EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
    EXPECT_FALSE(is_valid_utf8("a\x80z"));            // stray continuation byte
}

}  // namespace
}  // namespace cargomon::metrics
