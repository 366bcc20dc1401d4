#include "cargo/limits.h"

#include <gtest/gtest.h>

namespace cargomon::cargo {
namespace {

using namespace std::chrono_literals;

// The bucket itself is tested in tests/common/token_bucket_test.cpp; here, that the
// Pacer spends `rate` a second in bursts of as many, on its clock.
TEST(Pacer, BurstsOneSecondThenSpacesEvenly) {
    FakeClock clock;
    Pacer pacer(2, 1, clock);
    SteadyTime t0 = clock.monotonic();
    EXPECT_EQ(pacer.reserve(), t0);
    EXPECT_EQ(pacer.reserve(), t0);
    EXPECT_EQ(pacer.reserve(), t0 + 500ms);
    EXPECT_EQ(pacer.reserve(), t0 + 1000ms);
    clock.advance(1h);
    SteadyTime t = clock.monotonic();
    EXPECT_EQ(pacer.reserve(), t);
    EXPECT_EQ(pacer.reserve(), t);
    EXPECT_EQ(pacer.reserve(), t + 500ms);
}

TEST(Pacer, ZeroRateNeverWaits) {
    FakeClock clock;
    Pacer pacer(0, 1, clock);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(pacer.reserve(), clock.monotonic());
}

// Two calls answered 429 at about the same time, one asked to hold 60 s and the other
// 1 s: every call holds the longer pause, whichever answer is read last.
TEST(Pacer, AShorterRetryAfterDoesNotShortenAPauseAlreadyAsked) {
    FakeClock clock;
    Pacer pacer(2, 1, clock);
    const SteadyTime t0 = clock.monotonic();
    pacer.pause_until(t0 + 60s);
    pacer.pause_until(t0 + 1s);
    EXPECT_EQ(pacer.paused_until(), t0 + 60s);
    pacer.pause_until(t0 + 90s);
    EXPECT_EQ(pacer.paused_until(), t0 + 90s);
}

TEST(InFlightLimiter, CountsSlots) {
    InFlightLimiter limiter(2);
    EXPECT_TRUE(limiter.try_acquire_for(0s));
    EXPECT_TRUE(limiter.try_acquire_for(0s));
    EXPECT_FALSE(limiter.try_acquire_for(0s));
    limiter.release();
    EXPECT_TRUE(limiter.try_acquire_for(0s));
}

}  // namespace
}  // namespace cargomon::cargo
