#include "common/token_bucket.h"

#include <gtest/gtest.h>

namespace cargomon {
namespace {

using namespace std::chrono_literals;

const SteadyTime t0{std::chrono::hours(1)};

TEST(TokenBucket, ReserveBurstsThenSpacesEvenly) {
    TokenBucket bucket(2, 500ms, t0);
    EXPECT_EQ(bucket.reserve(t0), t0);
    EXPECT_EQ(bucket.reserve(t0), t0);
    EXPECT_EQ(bucket.reserve(t0), t0 + 500ms);
    EXPECT_EQ(bucket.reserve(t0), t0 + 1000ms);
}

TEST(TokenBucket, IdleTimeRefillsOnlyUpToTheBurst) {
    TokenBucket bucket(2, 500ms, t0);
    bucket.reserve(t0);
    bucket.reserve(t0);
    const SteadyTime t = t0 + 1h;
    EXPECT_EQ(bucket.reserve(t), t);
    EXPECT_EQ(bucket.reserve(t), t);
    EXPECT_EQ(bucket.reserve(t), t + 500ms);
}

TEST(TokenBucket, ZeroIntervalNeverLimits) {
    TokenBucket bucket(0, 0s, t0);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(bucket.reserve(t0), t0);
        EXPECT_TRUE(bucket.try_take(t0));
    }
    EXPECT_EQ(bucket.wait(t0), 0s);
}

TEST(TokenBucket, TryTakeRefusesWhenEmptyAndRefillsWithTime) {
    TokenBucket bucket(2, 1s, t0);
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_FALSE(bucket.try_take(t0));
    EXPECT_FALSE(bucket.try_take(t0 + 999ms));
    EXPECT_TRUE(bucket.try_take(t0 + 1s));
    EXPECT_FALSE(bucket.try_take(t0 + 1s));
}

TEST(TokenBucket, WaitSaysWhenTheNextTokenIsThere) {
    TokenBucket bucket(1, 2s, t0);
    EXPECT_EQ(bucket.wait(t0), 0s);
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_DOUBLE_EQ(bucket.wait(t0).count(), 2.0);
    EXPECT_DOUBLE_EQ(bucket.wait(t0 + 500ms).count(), 1.5);
}

TEST(TokenBucket, GiveBackNeverExceedsTheBurst) {
    TokenBucket bucket(2, 1s, t0);
    EXPECT_TRUE(bucket.full(t0));
    bucket.give_back(t0);
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_FALSE(bucket.try_take(t0));
    bucket.give_back(t0);
    EXPECT_FALSE(bucket.full(t0));
    EXPECT_TRUE(bucket.try_take(t0));
}

TEST(TokenBucket, TimeGoingBackChangesNothing) {
    TokenBucket bucket(1, 1s, t0);
    EXPECT_TRUE(bucket.try_take(t0));
    EXPECT_FALSE(bucket.try_take(t0 - 10s));
    EXPECT_TRUE(bucket.try_take(t0 + 1s));
}

}  // namespace
}  // namespace cargomon
