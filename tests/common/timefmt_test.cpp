#include <gtest/gtest.h>

#include "common/timefmt.h"

using namespace cargomon;

TEST(TimeFormat, FormatsUtcWithMilliseconds) {
    SystemTime t = SystemTime{std::chrono::milliseconds{1'764'322'294'123}};
    EXPECT_EQ(format_iso8601(t), "2025-11-28T09:31:34.123Z");
    EXPECT_EQ(format_sql_datetime(t), "2025-11-28 09:31:34");
}

TEST(TimeFormat, ParsesTheFormsTheApiAccepts) {
    auto base = parse_iso8601("2025-11-28T09:31:34.123Z");
    ASSERT_TRUE(base);
    EXPECT_EQ(format_iso8601(*base), "2025-11-28T09:31:34.123Z");
    EXPECT_EQ(parse_iso8601("2025-11-28T10:31:34.123+01:00"), base);
    EXPECT_EQ(parse_iso8601("2025-11-28 09:31:34"), parse_iso8601("2025-11-28T09:31:34Z"));
    EXPECT_EQ(format_iso8601(*parse_iso8601("2025-11-28")), "2025-11-28T00:00:00.000Z");
}

// Found by fuzz/json_body (a silence ending in 1015): the conversion to nanoseconds overflowed.
TEST(TimeFormat, RejectsYearsSystemTimeCannotHold) {
    for (const char* far : {"1015-01-01T00:00:00Z", "0000-01-01", "1677-12-31T23:59:59Z", "2262-01-01", "9999-12-31"})
        EXPECT_FALSE(parse_iso8601(far)) << far;
    EXPECT_TRUE(parse_iso8601("1678-01-01T00:00:00Z"));
    EXPECT_TRUE(parse_iso8601("2261-12-31T23:59:59-14:00"));
}

TEST(TimeFormat, RejectsGarbage) {
    for (const char* bad : {"", "yesterday", "2025-13-01", "2025-02-30", "2025-11-28T25:00", "2025-11-28T09:31:34Zjunk",
                            "2025-11-28T09:31:34."})
        EXPECT_FALSE(parse_iso8601(bad)) << bad;
}
