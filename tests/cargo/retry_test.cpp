#include "cargo/retry.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cargomon::cargo {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, FullJitterStaysUnderADoublingCappedCeiling) {
    RetryOptions options{.initial_backoff = 100ms, .max_backoff = 1000ms};
    std::mt19937_64 rng(42);
    const Millis ceilings[] = {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms, 1000ms};
    for (int retry = 0; retry < 7; ++retry) {
        Millis lowest = Millis::max(), highest{0};
        for (int i = 0; i < 2000; ++i) {
            Millis d = backoff_delay(options, retry, rng);
            lowest = std::min(lowest, d);
            highest = std::max(highest, d);
        }
        EXPECT_GE(lowest, 0ms) << "retry " << retry;
        EXPECT_LE(highest, ceilings[retry]) << "retry " << retry;
        // Full jitter spreads over the whole range, not just its top.
        EXPECT_LT(lowest, ceilings[retry] / 10) << "retry " << retry;
        EXPECT_GT(highest, ceilings[retry] * 9 / 10) << "retry " << retry;
    }
}

TEST(Backoff, HugeRetryCountsDoNotOverflow) {
    RetryOptions options{.initial_backoff = 100ms, .max_backoff = 5000ms};
    std::mt19937_64 rng(1);
    for (int i = 0; i < 100; ++i) {
        Millis d = backoff_delay(options, 1000, rng);
        EXPECT_GE(d, 0ms);
        EXPECT_LE(d, 5000ms);
    }
}

TEST(Backoff, SameSeedSameSleeps) {
    RetryOptions options;
    std::mt19937_64 a(7), b(7);
    for (int retry = 0; retry < 5; ++retry) EXPECT_EQ(backoff_delay(options, retry, a), backoff_delay(options, retry, b));
}

TEST(RetryAfter, Seconds) {
    SystemTime now{};
    EXPECT_EQ(parse_retry_after("120", now), Millis{120'000});
    EXPECT_EQ(parse_retry_after(" 0 ", now), Millis{0});
    EXPECT_EQ(parse_retry_after("99999999999999999999", now), Millis{100LL * 365 * 24 * 3600 * 1000});
}

TEST(RetryAfter, HttpDateRelativeToNow) {
    // 2015-10-21 07:28:00 UTC
    SystemTime at = std::chrono::sys_days{std::chrono::year{2015} / 10 / 21} + 7h + 28min;
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at - 30s), Millis{30'000});
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", at + 5s), Millis{0});
}

TEST(RetryAfter, UnreadableValues) {
    SystemTime now{};
    for (const char* bad : {"", "soon", "-5", "1.5", "Wed, 32 Oct 2015 07:28:00 GMT", "Wed, 21 Foo 2015 07:28:00 GMT",
                            "Wed, 21 Oct 2015 07:28:00 GMT trailing", "Wed, 21 Oct 2015 25:28:00 GMT"})
        EXPECT_EQ(parse_retry_after(bad, now), std::nullopt) << bad;
}

}  // namespace
}  // namespace cargomon::cargo
