#include "cargo/limits.h"

#include <gtest/gtest.h>

namespace cargomon::cargo {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, BurstsOneSecondThenSpacesEvenly) {
    FakeClock clock;
    TokenBucket bucket(2, 2, clock);
    SteadyTime t0 = clock.monotonic();
    EXPECT_EQ(bucket.reserve(), t0);
    EXPECT_EQ(bucket.reserve(), t0);
    EXPECT_EQ(bucket.reserve(), t0 + 500ms);
    EXPECT_EQ(bucket.reserve(), t0 + 1000ms);
}

TEST(TokenBucket, IdleTimeRefillsOnlyUpToTheBurst) {
    FakeClock clock;
    TokenBucket bucket(2, 2, clock);
    clock.advance(1h);
    SteadyTime t = clock.monotonic();
    EXPECT_EQ(bucket.reserve(), t);
    EXPECT_EQ(bucket.reserve(), t);
    EXPECT_EQ(bucket.reserve(), t + 500ms);
}

TEST(TokenBucket, ZeroRateNeverWaits) {
    FakeClock clock;
    TokenBucket bucket(0, 0, clock);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(bucket.reserve(), clock.monotonic());
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
