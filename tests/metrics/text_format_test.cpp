#include "metrics/text_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

// The lines themselves; whole answers (headers, both formats, the registry) are tested
// in tests/exporters/exposition_test.cpp.
namespace cargomon::metrics {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

TEST(TextFormat, FormatValue) {
    EXPECT_EQ(format_value(0), "0");
    EXPECT_EQ(format_value(1), "1");
    EXPECT_EQ(format_value(-1), "-1");
    EXPECT_EQ(format_value(0.1), "0.1");
    EXPECT_EQ(format_value(123456.789), "123456.789");
    EXPECT_EQ(format_value(1e15), "1000000000000000");
    EXPECT_EQ(format_value(1e300), "1e+300");
    EXPECT_EQ(format_value(inf), "+Inf");
    EXPECT_EQ(format_value(-inf), "-Inf");
    EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(TextFormat, RenderSamplesEscapesLabelValues) {
    Family family{.name = "cargo_x", .help = "unused", .type = MetricType::gauge};
    family.samples = {{{{"path", "a\"b\\c\nd"}}, 0.25}, {{}, -inf}};
    EXPECT_EQ(render_samples(family), "cargo_x{path=\"a\\\"b\\\\c\\nd\"} 0.25\ncargo_x -Inf\n");
}

}  // namespace
}  // namespace cargomon::metrics
