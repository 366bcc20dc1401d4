#include <gtest/gtest.h>

#include "common/duration.h"

using namespace cargomon;
using namespace std::chrono_literals;

TEST(Duration, ParsesPrometheusNotation) {
    EXPECT_EQ(parse_duration("30s"), Millis{30s});
    EXPECT_EQ(parse_duration("5m"), Millis{5min});
    EXPECT_EQ(parse_duration("1h30m"), Millis{90min});
    EXPECT_EQ(parse_duration("250ms"), Millis{250});
    EXPECT_EQ(parse_duration("7d"), Millis{168h});
    EXPECT_EQ(parse_duration("2w"), Millis{336h});
    EXPECT_EQ(parse_duration("0"), Millis{0});
}

TEST(Duration, RejectsMalformedWithReason) {
    std::string why;
    EXPECT_FALSE(parse_duration("", &why));
    EXPECT_EQ(why, "empty duration");
    EXPECT_FALSE(parse_duration("30", &why));
    EXPECT_EQ(why, "missing unit (one of ms, s, m, h, d, w, y)");
    EXPECT_FALSE(parse_duration("5x", &why));
    EXPECT_EQ(why, "unknown unit \"x\" (one of ms, s, m, h, d, w, y)");
    EXPECT_FALSE(parse_duration("5m1h", &why));
    EXPECT_EQ(why, "units must go from largest to smallest, each once");
    EXPECT_FALSE(parse_duration("-5m", &why));
    EXPECT_FALSE(parse_duration("99999999999999999999s", &why));
    EXPECT_EQ(why, "duration out of range");
}

TEST(Duration, FormatsRoundTrip) {
    EXPECT_EQ(format_duration(Millis{90min}), "1h30m");
    EXPECT_EQ(format_duration(Millis{0}), "0s");
    EXPECT_EQ(format_duration(Millis{1500}), "1s500ms");
    for (const char* text : {"1d2h3m4s5ms", "1w", "45s"}) EXPECT_EQ(format_duration(*parse_duration(text)), text);
}
