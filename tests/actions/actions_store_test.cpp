// The actions' log in a real SQLite file (actions/store.h): its connection commits with
// synchronous=FULL, so a pending row is on disk before the request it guards leaves; the
// epoch is set once, when the file has none, and kept across restarts; a row left pending
// by a dead process becomes uncertain, to be settled from the API.
#include "actions/store.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cargomon::actions
