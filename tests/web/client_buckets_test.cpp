#include "web/client_buckets.h"

#include <gtest/gtest.h>

// The per-client table over common/token_bucket.h (the bucket itself is tested in
// tests/common/token_bucket_test.cpp).
namespace cargomon::web {
namespace {

using namespace std::chrono_literals;
const ClientBuckets::Clock::time_point t0{std::chrono::hours(1)};

TEST(ClientBuckets, EachClientHasItsOwnBurst) {
    ClientBuckets buckets(2, 1000ms);
    EXPECT_TRUE(buckets.take("a", t0));
    EXPECT_TRUE(buckets.take("a", t0));
    EXPECT_FALSE(buckets.take("a", t0));
    EXPECT_TRUE(buckets.take("b", t0));
    EXPECT_EQ(buckets.retry_after_seconds("a", t0), 1);
    EXPECT_TRUE(buckets.take("a", t0 + 1000ms));
}

TEST(ClientBuckets, GiveBackReturnsAToken) {
    ClientBuckets buckets(1, 60'000ms);
    EXPECT_TRUE(buckets.take("a", t0));
    EXPECT_EQ(buckets.retry_after_seconds("a", t0), 60);
    buckets.give_back("a", t0);
    EXPECT_TRUE(buckets.take("a", t0));
}

TEST(ClientBuckets, ZeroIntervalNeverLimitsNorRemembers) {
    ClientBuckets buckets(1, 0ms);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(buckets.take("a", t0));
    EXPECT_EQ(buckets.clients(), 0u);
}

// The table is bounded: full buckets are dropped first, and when every entry is in use,
// new clients share one overflow bucket.
TEST(ClientBuckets, TheTableIsBoundedWithAnOverflowBucket) {
    ClientBuckets buckets(1, 60'000ms);
    for (std::size_t i = 0; i < ClientBuckets::kMaxClients; ++i) EXPECT_TRUE(buckets.take(std::to_string(i), t0));
    EXPECT_EQ(buckets.clients(), ClientBuckets::kMaxClients);
    EXPECT_TRUE(buckets.take("new-1", t0));   // the overflow bucket's one token
    EXPECT_FALSE(buckets.take("new-2", t0));  // shared: spent
    EXPECT_EQ(buckets.clients(), ClientBuckets::kMaxClients);
    // A minute on, every bucket is full again: the table makes room.
    EXPECT_TRUE(buckets.take("new-3", t0 + 60'000ms));
    EXPECT_EQ(buckets.clients(), 1u);
}

}  // namespace
}  // namespace cargomon::web
