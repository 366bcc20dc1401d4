#include "cargo/rerun_outcome.h"

#include <gtest/gtest.h>

namespace cargomon::cargo {
namespace {

Batch batch(std::string status, std::int64_t runs, std::int64_t executed, std::int64_t failed) {
    return Batch{.status = std::move(status), .runs_count = runs, .executed_runs_count = executed,
                 .failed_runs_count = failed};
}

TEST(RerunOutcomeTest, UnfinishedBatchesHaveNoOutcomeYet) {
    for (const char* s : {"pending", "syncing", "querying", "running", "cancelling", ""})
        EXPECT_FALSE(rerun_outcome(batch(s, 5, 2, 0))) << s;
}

TEST(RerunOutcomeTest, EveryRunEndedWellIsRecovered) {
    const auto o = rerun_outcome(batch("success", 7, 7, 0));
    ASSERT_TRUE(o);
    EXPECT_EQ(o->result, "recovered");
    EXPECT_EQ(o->recovered, 7);
    EXPECT_EQ(o->still_failing, 0);
}

TEST(RerunOutcomeTest, FailedRunsAndRunsThatNeverEndedStillFail) {
    const auto o = rerun_outcome(batch("success", 10, 8, 3));
    ASSERT_TRUE(o);
    EXPECT_EQ(o->result, "still_failing");
    EXPECT_EQ(o->still_failing, 5);  // 3 failed + 2 never reached an end
    EXPECT_EQ(o->recovered, 5);
    // A single run left failing is enough.
    const auto one = rerun_outcome(batch("success", 10, 10, 1));
    ASSERT_TRUE(one);
    EXPECT_EQ(one->result, "still_failing");
    const auto unended = rerun_outcome(batch("success", 10, 9, 0));
    ASSERT_TRUE(unended);
    EXPECT_EQ(unended->result, "still_failing");
}

TEST(RerunOutcomeTest, ABatchThatRanNothingRecoveredNothing) {
    for (const char* s : {"error", "skipped"}) {
        const auto o = rerun_outcome(batch(s, 4, 0, 0));
        ASSERT_TRUE(o) << s;
        EXPECT_EQ(o->result, "still_failing") << s;
        EXPECT_EQ(o->still_failing, 4) << s;
        EXPECT_EQ(o->recovered, 0) << s;
    }
}

TEST(RerunOutcomeTest, ACancelledReRunConcludesNothing) {
    const auto o = rerun_outcome(batch("cancelled", 4, 2, 1));
    ASSERT_TRUE(o);
    EXPECT_EQ(o->result, "cancelled");
    EXPECT_EQ(o->recovered, 0);
    EXPECT_EQ(o->still_failing, 0);
}

TEST(RerunOutcomeTest, CountsOutsideTheirRangeNeverGiveNegativeFigures) {
    const auto o = rerun_outcome(batch("success", 3, 9, 12));
    ASSERT_TRUE(o);
    EXPECT_EQ(o->still_failing, 3);
    EXPECT_EQ(o->recovered, 0);
    const auto n = rerun_outcome(batch("success", -2, -1, -5));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->result, "recovered");
    EXPECT_EQ(n->recovered, 0);
}

}  // namespace
}  // namespace cargomon::cargo
