// The knobs live mode turns for scenarios: forced failures and successes, stuck runs,
// credit factors.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "sim/gen/run.h"
#include "sim/gen/generator.h"

namespace cargomon::sim {
namespace {

const Workflow& some_workflow() {
    static const std::vector<Workspace> ws =
        generate_workspaces({.workflows = 10, .seed = 5, .now = SystemTime{std::chrono::seconds{1'800'000'000}}});
    return ws.front().workflows.front();
}

int error_spans(const RunPlan& plan) {
    int n = 0;
    for (const Execution& e : plan.executions) n += e.status == "error" ? 1 : 0;
    return n;
}

TEST(RunPlan, ForcedFailureEndsTheRunAtANodeWithoutFallback) {
    Rng rng(1);
    RunPlan plan;
    for (int i = 0; i < 200; ++i) {
        plan_run(some_workflow().nodes, rng, {.force = RunForce::fail}, plan);
        ASSERT_EQ(plan.status, "error");
        ASSERT_TRUE(plan.finished());
        ASSERT_EQ(error_spans(plan), 1);
        const Execution& last = plan.executions.back();
        ASSERT_EQ(last.status, "error");
        ASSERT_FALSE(last.node->has_fallback);
        ASSERT_EQ(plan.error_message, last.error_message);
        ASSERT_NE(plan.error_message, nullptr);
    }
}

TEST(RunPlan, ForcedSuccessRunsEveryNodeWithoutErrors) {
    Rng rng(2);
    RunPlan plan;
    for (int i = 0; i < 200; ++i) {
        plan_run(some_workflow().nodes, rng, {.force = RunForce::succeed}, plan);
        ASSERT_EQ(plan.status, "success");
        // From the entry node along the graph's links to a node that leads nowhere.
        ASSERT_FALSE(plan.executions.empty());
        ASSERT_EQ(plan.executions.front().node, &some_workflow().nodes.front());
        for (std::size_t e = 1; e < plan.executions.size(); ++e) {
            const auto& children = plan.executions[e - 1].node->children_uuids;
            ASSERT_NE(std::find(children.begin(), children.end(), plan.executions[e].node->uuid), children.end());
        }
        ASSERT_TRUE(plan.executions.back().node->children_uuids.empty());
        ASSERT_EQ(error_spans(plan), 0);
        ASSERT_EQ(plan.error_message, nullptr);
    }
}

// A graph that branches: each run takes one branch, and both are taken.
TEST(RunPlan, ARunTakesOneBranchOfAFork) {
    std::vector<Node> nodes(4);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        nodes[i].uuid = "n" + std::to_string(i);
        nodes[i].slug = "s" + std::to_string(i);
    }
    nodes[0].children_uuids = {"n1"};
    nodes[1].children_uuids = {"n2", "n3"};
    Rng rng(9);
    RunPlan plan;
    std::set<std::string> ends;
    for (int i = 0; i < 100; ++i) {
        plan_run(nodes, rng, {.force = RunForce::succeed}, plan);
        ASSERT_EQ(plan.executions.size(), 3u);
        ends.insert(plan.executions.back().node->slug);
    }
    EXPECT_EQ(ends, (std::set<std::string>{"s2", "s3"}));
}

TEST(RunPlan, StuckRunsNeverFinish) {
    Rng rng(3);
    RunPlan plan;
    plan_run(some_workflow().nodes, rng, {.stuck = RunStuck::pending}, plan);
    EXPECT_EQ(plan.status, "pending");
    EXPECT_TRUE(plan.executions.empty());
    EXPECT_FALSE(plan.finished());
    for (int i = 0; i < 50; ++i) {
        plan_run(some_workflow().nodes, rng, {.stuck = RunStuck::running}, plan);
        if (plan.status == "error") continue;  // failed before reaching the stuck node
        ASSERT_EQ(plan.status, "running");
        ASSERT_EQ(plan.executions.back().status, "pending");
        ASSERT_FALSE(plan.finished());
    }
}

TEST(RunPlan, CreditFactorMultipliesCreditsAndScaleShortensRuns) {
    Rng a(4), b(4);
    RunPlan normal, spiked;
    double credits = 0, spiked_credits = 0;
    std::chrono::milliseconds normal_time{0}, fast_time{0};
    for (int i = 0; i < 100; ++i) {
        plan_run(some_workflow().nodes, a, {.force = RunForce::succeed}, normal);
        plan_run(some_workflow().nodes, b, {.force = RunForce::succeed, .credit_factor = 3, .duration_scale = 0.5}, spiked);
        credits += normal.credits;
        spiked_credits += spiked.credits;
        normal_time += normal.duration;
        fast_time += spiked.duration;
    }
    EXPECT_GT(credits, 0);
    EXPECT_DOUBLE_EQ(spiked_credits, 3 * credits);
    EXPECT_LT(fast_time, normal_time * 3 / 4);
}

TEST(RunPlan, BatchTallyCountsFinishedFailedAndCredits) {
    Rng rng(6);
    RunPlan plan;
    BatchTally tally;
    const SystemTime t0{std::chrono::seconds{1'800'000'000}};
    plan_run(some_workflow().nodes, rng, {.force = RunForce::fail}, plan);
    tally.add(plan, t0);
    const double failed_paid = plan.credits;
    plan_run(some_workflow().nodes, rng, {.force = RunForce::succeed}, plan);
    tally.add(plan, t0);
    const double paid = plan.credits;
    plan_run(some_workflow().nodes, rng, {.stuck = RunStuck::pending}, plan);
    const double pending_paid = plan.credits;
    tally.add(plan, t0);
    tally.add_cancelled(t0);
    EXPECT_EQ(tally.runs, 4u);
    EXPECT_EQ(tally.executed, 3u);
    EXPECT_EQ(tally.failed, 1u);
    EXPECT_GT(paid, 0);
    // Every planned run's credits, each counted once; a cancelled run adds none.
    EXPECT_DOUBLE_EQ(tally.credits, failed_paid + paid + pending_paid);
}

}  // namespace
}  // namespace cargomon::sim
