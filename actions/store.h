#pragma once
// The automatic actions' log in the daemon's one state file (daemon/storage.h): one row
// per decision, written before anything is done, so that a batch is decided at most once
// per mode, ever, and budgets are counted from what was done even across restarts.
//
// A row is inserted `pending` (in the transaction that checked the budgets) before the
// request that creates a batch, and finished `done` or `failed` after its answer, or
// `uncertain` when no answer says whether the batch exists (a timeout, a 5xx, a cut
// connection, an unreadable answer). A row still `pending` when the daemon starts was cut
// off between the two: it becomes `uncertain` (result interrupted). The engine settles
// uncertain rows from the API's list of batches (actions/engine.h); none is ever retried.
//
// The connection commits with synchronous=FULL: a `pending` row is on disk, not only in
// the WAL's page cache, before the request it guards leaves (the other stores of the file
// keep NORMAL: what they lose to a power cut is re-read or re-sent, never spent twice).
//
// The actions epoch: set to the time the file first held this table (a fresh, empty or
// recovered state database, or one of a version before the epoch); no batch that
// finished before it is acted on, so a lost log cannot make old batches look new.
//
// Thread-safety: one thread at a time (the engine's, then HTTP threads reading recent());
// mu_ guards the connection.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/sqlite.h"

namespace cargomon::actions {

struct Action {
    std::int64_t id = 0;
    std::string batch_uuid;
    std::string workflow_uuid;
    std::string workflow_name;
    std::string rule;
    std::string action = "rerun_failed_records";
    std::string mode;    // enabled, dry_run
    std::string state;   // pending, done, failed, skipped, dry_run, uncertain
    std::string result;  // the cargomon_actions_total result: created, dry_run, skipped_*, refused, failed,
                         // uncertain, interrupted; reconciled once an uncertain one's batch is found
    std::int64_t records = 0;          // runs to re-run (0 when skipped before counting them)
    double estimated_credits = 0;      // the batch's credits per run times `records`
    std::string created_batch_uuid;    // the re-run: created, or found (skipped_already_rerun, reconciled)
    std::string reason;                // why skipped, refused or failed; printable()
    SystemTime decided_at{};
    SystemTime updated_at{};
    // What the created re-run achieved, once it finished (cargo/rerun_outcome.h): recovered,
    // still_failing or cancelled; empty while it runs, and for rows that created nothing.
    std::string outcome;
    std::int64_t recovered = 0;      // runs of the re-run that ended well
    std::int64_t still_failing = 0;  // runs of the re-run that did not
    bool counts_for_budget() const { return state != "skipped"; }
};

class ActionStore {
public:
    // Creates the table when missing, and the epoch (`now`) when the file has none.
    ActionStore(const std::string& path, SystemTime now);

    SystemTime epoch() const { return epoch_; }
    bool epoch_is_new() const { return epoch_is_new_; }  // set by this constructor
    int synchronous();  // PRAGMA synchronous of the connection (2: FULL)

    // Every row left `pending` by an earlier process becomes `uncertain` (result
    // interrupted, reason saying so); returns them.
    std::vector<Action> interrupt_pending(SystemTime now);
    // Rows whose batch may or may not exist: uncertain, and pending ones (this process's
    // own engine finished each pending row before its cycle ended, unless finish() failed).
    std::vector<Action> unsettled();

    bool decided(const std::string& batch_uuid, const std::string& mode);
    // Batches cargomon created: never re-run automatically in their turn.
    bool created_by_us(const std::string& batch_uuid);

    struct Spent {
        int reruns = 0;      // of the workflow, by the mode, since `since`
        double credits = 0;  // of the rule, by the mode, since `since`
    };
    // In one transaction: reads what was spent since `since`, then inserts `action` when
    // `admit(spent)` returns "" (else inserts it as skipped with that reason and result
    // skipped_budget). Returns the row as stored, with its id.
    template <typename Admit>
    Action decide(Action action, SystemTime since, Admit admit);

    void finish(std::int64_t id, const std::string& state, const std::string& result,
                const std::string& created_batch_uuid, const std::string& reason, SystemTime now);
    // Rows whose re-run (created, or found after an uncertain create) has no outcome yet,
    // oldest first, at most `limit`.
    std::vector<Action> awaiting_outcome(std::size_t limit);
    void set_outcome(std::int64_t id, const std::string& outcome, std::int64_t recovered,
                     std::int64_t still_failing, SystemTime now);
    // Newest first, at most `limit`.
    std::vector<Action> recent(std::size_t limit);

private:
    Spent spent(const Action& action, SystemTime since);
    std::int64_t insert(const Action& action);

    std::mutex mu_;
    sqlite::Database db_;
    SystemTime epoch_{};
    bool epoch_is_new_ = false;
};

template <typename Admit>
Action ActionStore::decide(Action action, SystemTime since, Admit admit) {
    std::lock_guard lock(mu_);
    sqlite::Transaction tx(db_);
    if (std::string why = admit(spent(action, since)); !why.empty()) {
        action.state = "skipped";
        action.result = "skipped_budget";
        action.reason = std::move(why);
    }
    action.id = insert(action);
    tx.commit();
    return action;
}

}  // namespace cargomon::actions
