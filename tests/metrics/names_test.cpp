#include "metrics/names.h"

#include <gtest/gtest.h>

#include "metrics/labels.h"
#include "tests/support/predicate.h"

namespace cargomon::metrics {
namespace {

using testing::expect_accepts;

TEST(Names, MetricNames) {
    expect_accepts(is_valid_metric_name, {"cargo_workflow_runs", "job:cargo_runs:rate5m", "_x9"},
                   {"", "9lives", "cargo-runs", "cargo runs", "caf\xc3\xa9"});
}

// What an exposition may carry (metrics/labels.h): reserved __ names refused.
TEST(Names, LabelNames) {
    expect_accepts(is_valid_label_name, {"workflow_uuid", "_a1"}, {"", "__name__", "a:b", "1a", "node-slug"});
}

TEST(Names, Utf8) {
    expect_accepts(is_valid_utf8, {"", "plain ascii", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"},
                   {
                       "\xff",
                       "\xc3",              // truncated
                       "\xe2\x82",          // truncated
                       "\xc0\xaf",          // overlong '/'
                       "\xed\xa0\x80",      // surrogate
                       "\xf4\x90\x80\x80",  // beyond U+10FFFF
                       "a\x80z",            // stray continuation byte
                   });
}

}  // namespace
}  // namespace cargomon::metrics
