// The actions' log in a real SQLite file (actions/store.h): its connection commits with
// synchronous=FULL, so a pending row is on disk before the request it guards leaves; the
// epoch is set once, when the file has none, and kept across restarts; a row left pending
// by a dead process becomes uncertain, to be settled from the API.
#include "actions/store.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/sqlite.h"
#include "tests/support/temp_dir.h"

namespace cargomon::actions {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

const SystemTime kStart{1'800'000'000s};

Action pending(const std::string& batch) {
    return {.batch_uuid = batch,
            .workflow_uuid = "wf",
            .workflow_name = "W",
            .rule = "r",
            .mode = "enabled",
            .state = "pending",
            .result = "pending",
            .records = 2,
            .estimated_credits = 2,
            .decided_at = kStart,
            .updated_at = kStart};
}

TEST(ActionStore, CommitsWithFullSyncWhileTheFilesOtherConnectionsKeepNormal) {
    TempDir dir;
    ActionStore store(dir.file("cargomon.db"), kStart);
    EXPECT_EQ(store.synchronous(), 2);  // FULL
    sqlite::Database other(dir.file("cargomon.db"));
    sqlite::Statement s(other, "PRAGMA synchronous");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.int64(0), 1);  // NORMAL
    s.reset();
}

// One decision per batch and mode, ever: a budget that would admit a second re-run of the
// same batch, the same day or any later one, does not get to (the engine asks decided()
// first; the table refuses a second row whatever asks). A dry run does not use the batch up.
TEST(ActionStore, ABatchIsDecidedOnceEverWhateverTheBudgetAndTheDay) {
    TempDir dir;
    ActionStore store(dir.file("cargomon.db"), kStart);
    const auto admit_all = [](const ActionStore::Spent&) { return std::string(); };
    EXPECT_FALSE(store.decided("b1", "enabled"));
    const Action first = store.decide(pending("b1"), kStart, admit_all);
    EXPECT_EQ(first.state, "pending");
    EXPECT_TRUE(store.decided("b1", "enabled"));
    EXPECT_FALSE(store.decided("b1", "dry_run"));
    EXPECT_FALSE(store.decided("b2", "enabled"));
    for (const auto later : {kStart, kStart + 24h, kStart + 24h * 30}) {
        Action again = pending("b1");
        again.decided_at = again.updated_at = later;
        EXPECT_THROW(store.decide(again, later, admit_all), std::exception) << "decided again after " << (later - kStart) / 1h << " h";
    }
    Action dry = pending("b1");
    dry.mode = "dry_run";
    EXPECT_NO_THROW(store.decide(dry, kStart, admit_all));
    EXPECT_EQ(store.recent(10).size(), 2u);
    // Across a restart too.
    ActionStore reopened(dir.file("cargomon.db"), kStart + 48h);
    EXPECT_TRUE(reopened.decided("b1", "enabled"));
}

// What the budgets count: every decision of the mode since the day began but a skip; a
// create that was refused or never answered may have cost, so it counts.
TEST(ActionStore, BudgetsCountRefusedAndUncertainCreatesButNotSkips) {
    TempDir dir;
    ActionStore store(dir.file("cargomon.db"), kStart);
    const auto admit_all = [](const ActionStore::Spent&) { return std::string(); };
    const std::int64_t refused = store.decide(pending("b1"), kStart, admit_all).id;
    store.finish(refused, "failed", "refused", "", "400 tooManyRuns", kStart);
    const std::int64_t lost = store.decide(pending("b2"), kStart, admit_all).id;
    store.finish(lost, "uncertain", "uncertain", "", "timeout", kStart);
    Action skip = pending("b3");
    skip.state = "skipped";
    store.decide(skip, kStart, admit_all);
    ActionStore::Spent seen;
    store.decide(pending("b4"), kStart, [&](const ActionStore::Spent& spent) {
        seen = spent;
        return std::string("over budget");
    });
    EXPECT_EQ(seen.reruns, 2);
    EXPECT_DOUBLE_EQ(seen.credits, 4);
    // Nothing decided since the next day began.
    store.decide(pending("b5"), kStart + 24h, [&](const ActionStore::Spent& spent) {
        seen = spent;
        return std::string();
    });
    EXPECT_EQ(seen.reruns, 0);
}

TEST(ActionStore, TheEpochIsSetOnceWhenTheFileHasNone) {
    TempDir dir;
    {
        ActionStore fresh(dir.file("cargomon.db"), kStart);
        EXPECT_TRUE(fresh.epoch_is_new());
        EXPECT_EQ(fresh.epoch(), kStart);
    }
    ActionStore again(dir.file("cargomon.db"), kStart + 24h);
    EXPECT_FALSE(again.epoch_is_new());
    EXPECT_EQ(again.epoch(), kStart);
    // A file of a version before the epoch (the table, no epoch): it starts now.
    TempDir old;
    {
        ActionStore store(old.file("cargomon.db"), kStart);
        sqlite::Database(old.file("cargomon.db")).exec("DELETE FROM actions_meta");
    }
    ActionStore upgraded(old.file("cargomon.db"), kStart + 1h);
    EXPECT_TRUE(upgraded.epoch_is_new());
    EXPECT_EQ(upgraded.epoch(), kStart + 1h);
}

TEST(ActionStore, APendingRowLeftByADeadProcessIsUncertainUntilSettled) {
    TempDir dir;
    std::int64_t id = 0;
    {
        ActionStore store(dir.file("cargomon.db"), kStart);
        id = store.decide(pending("b1"), kStart, [](const ActionStore::Spent&) { return std::string(); }).id;
        store.decide(pending("b2"), kStart, [](const ActionStore::Spent&) { return std::string(); });
        store.finish(2, "done", "created", "r2", "", kStart);
    }
    ActionStore store(dir.file("cargomon.db"), kStart + 1h);
    const auto interrupted = store.interrupt_pending(kStart + 1h);
    ASSERT_EQ(interrupted.size(), 1u);
    EXPECT_EQ(interrupted[0].batch_uuid, "b1");
    EXPECT_EQ(interrupted[0].state, "uncertain");
    EXPECT_EQ(interrupted[0].result, "interrupted");
    const auto unsettled = store.unsettled();
    ASSERT_EQ(unsettled.size(), 1u);
    EXPECT_EQ(unsettled[0].id, id);
    EXPECT_EQ(unsettled[0].state, "uncertain");
    // An uncertain one still counts against the budgets: it may have cost.
    store.decide(pending("b3"), kStart, [](const ActionStore::Spent& spent) {
        EXPECT_EQ(spent.reruns, 2);
        return std::string();
    });
    store.finish(id, "done", "reconciled", "r1", "found", kStart + 1h);
    EXPECT_TRUE(store.created_by_us("r1"));
    ASSERT_EQ(store.unsettled().size(), 1u);  // b3, pending
}

TEST(ActionStore, ReRunsAwaitTheirOutcomeUntilOneIsRecordedOnce) {
    TempDir dir;
    ActionStore store(dir.file("cargomon.db"), kStart);
    auto admit = [](const ActionStore::Spent&) { return std::string(); };
    const auto created = store.decide(pending("b1"), kStart, admit).id;
    store.finish(created, "done", "created", "r1", "", kStart);
    const auto refused = store.decide(pending("b2"), kStart, admit).id;
    store.finish(refused, "failed", "refused", "", "notEnoughCredits", kStart);
    const auto reconciled = store.decide(pending("b3"), kStart, admit).id;
    store.finish(reconciled, "done", "reconciled", "r3", "found", kStart);
    store.decide(pending("b4"), kStart, admit);  // still pending: no batch yet

    auto awaiting = store.awaiting_outcome(10);
    ASSERT_EQ(awaiting.size(), 2u);  // oldest first; only rows with a re-run batch
    EXPECT_EQ(awaiting[0].created_batch_uuid, "r1");
    EXPECT_EQ(awaiting[1].created_batch_uuid, "r3");
    EXPECT_EQ(store.awaiting_outcome(1).size(), 1u);

    store.set_outcome(created, "still_failing", 3, 2, kStart + 1h);
    awaiting = store.awaiting_outcome(10);
    ASSERT_EQ(awaiting.size(), 1u);
    EXPECT_EQ(awaiting[0].created_batch_uuid, "r3");
    const auto listed = store.recent(10);
    const auto it = std::find_if(listed.begin(), listed.end(), [](const Action& a) { return a.batch_uuid == "b1"; });
    ASSERT_NE(it, listed.end());
    EXPECT_EQ(it->outcome, "still_failing");
    EXPECT_EQ(it->recovered, 3);
    EXPECT_EQ(it->still_failing, 2);
    EXPECT_EQ(it->updated_at, kStart + 1h);
}

TEST(ActionStore, AFileFromBeforeOutcomesGainsTheColumnsAndKeepsItsRows) {
    TempDir dir;
    {
        // The table as versions before outcomes created it, with one re-run in it.
        sqlite::Database old(dir.file("cargomon.db"));
        old.exec(R"(
            CREATE TABLE actions (id INTEGER PRIMARY KEY AUTOINCREMENT, batch_uuid TEXT NOT NULL,
                workflow_uuid TEXT NOT NULL, workflow_name TEXT NOT NULL, rule TEXT NOT NULL, action TEXT NOT NULL,
                mode TEXT NOT NULL, state TEXT NOT NULL, result TEXT NOT NULL, records INTEGER NOT NULL,
                estimated_credits REAL NOT NULL, created_batch_uuid TEXT NOT NULL, reason TEXT NOT NULL,
                decided_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, UNIQUE (batch_uuid, mode));
            INSERT INTO actions (batch_uuid, workflow_uuid, workflow_name, rule, action, mode, state, result, records,
                estimated_credits, created_batch_uuid, reason, decided_at, updated_at)
                VALUES ('b1', 'wf', 'W', 'r', 'rerun_failed_records', 'enabled', 'done', 'created', 4, 4, 'r1', '',
                        0, 0);
        )");
    }
    ActionStore store(dir.file("cargomon.db"), kStart);
    EXPECT_TRUE(store.decided("b1", "enabled"));
    const auto awaiting = store.awaiting_outcome(10);
    ASSERT_EQ(awaiting.size(), 1u);
    EXPECT_EQ(awaiting[0].created_batch_uuid, "r1");
    EXPECT_EQ(awaiting[0].outcome, "");
    store.set_outcome(awaiting[0].id, "recovered", 4, 0, kStart);
    EXPECT_TRUE(store.awaiting_outcome(10).empty());
    ActionStore reopened(dir.file("cargomon.db"), kStart);  // the columns are there now: nothing to add
    EXPECT_EQ(reopened.recent(1).at(0).outcome, "recovered");
}

}  // namespace
}  // namespace cargomon::actions
