#include "actions/store.h"

namespace cargomon::actions {
namespace {

using sqlite::Statement;

constexpr const char* kColumns =
    "id, batch_uuid, workflow_uuid, workflow_name, rule, action, mode, state, result, records, estimated_credits, "
    "created_batch_uuid, reason, decided_at, updated_at, outcome, recovered, still_failing";

Action read_row(const Statement& s) {
    return {.id = s.int64(0),
            .batch_uuid = s.text(1),
            .workflow_uuid = s.text(2),
            .workflow_name = s.text(3),
            .rule = s.text(4),
            .action = s.text(5),
            .mode = s.text(6),
            .state = s.text(7),
            .result = s.text(8),
            .records = s.int64(9),
            .estimated_credits = s.real(10),
            .created_batch_uuid = s.text(11),
            .reason = s.text(12),
            .decided_at = sqlite::from_millis(s.int64(13)),
            .updated_at = sqlite::from_millis(s.int64(14)),
            .outcome = s.text(15),
            .recovered = s.int64(16),
            .still_failing = s.int64(17)};
}

}  // namespace

ActionStore::ActionStore(const std::string& path, SystemTime now) : db_(path) {
    db_.exec("PRAGMA synchronous=FULL");
    // UNIQUE (batch_uuid, mode): one decision per batch and mode, ever; a dry run does not
    // use up the batch for when the rule is enabled.
    db_.exec(R"(
        CREATE TABLE IF NOT EXISTS actions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            batch_uuid TEXT NOT NULL,
            workflow_uuid TEXT NOT NULL,
            workflow_name TEXT NOT NULL,
            rule TEXT NOT NULL,
            action TEXT NOT NULL,
            mode TEXT NOT NULL,
            state TEXT NOT NULL,
            result TEXT NOT NULL,
            records INTEGER NOT NULL,
            estimated_credits REAL NOT NULL,
            created_batch_uuid TEXT NOT NULL,
            reason TEXT NOT NULL,
            decided_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            outcome TEXT NOT NULL DEFAULT '',
            recovered INTEGER NOT NULL DEFAULT 0,
            still_failing INTEGER NOT NULL DEFAULT 0,
            UNIQUE (batch_uuid, mode));
        CREATE INDEX IF NOT EXISTS actions_by_day ON actions (decided_at);
        CREATE INDEX IF NOT EXISTS actions_created ON actions (created_batch_uuid);
        CREATE TABLE IF NOT EXISTS actions_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    )");
    // Files from before re-runs were followed to their end: their rows have no outcome.
    db_.add_column_if_missing("actions", "outcome", "TEXT NOT NULL DEFAULT ''");
    db_.add_column_if_missing("actions", "recovered", "INTEGER NOT NULL DEFAULT 0");
    db_.add_column_if_missing("actions", "still_failing", "INTEGER NOT NULL DEFAULT 0");
    sqlite::Transaction tx(db_);
    {
        Statement read(db_, "SELECT value FROM actions_meta WHERE key = 'epoch'");
        if (read.step()) {
            epoch_ = sqlite::from_millis(read.int64(0));
            read.reset();
        } else {
            epoch_ = now;
            epoch_is_new_ = true;
            Statement write(db_, "INSERT INTO actions_meta (key, value) VALUES ('epoch', ?)");
            write.bind(1, sqlite::to_millis(now)).run();
        }
    }
    tx.commit();
}

int ActionStore::synchronous() {
    std::lock_guard lock(mu_);
    Statement s(db_, "PRAGMA synchronous");
    const int level = s.step() ? static_cast<int>(s.int64(0)) : -1;
    s.reset();
    return level;
}

std::vector<Action> ActionStore::unsettled() {
    std::lock_guard lock(mu_);
    std::vector<Action> out;
    Statement s(db_, std::string("SELECT ") + kColumns + " FROM actions WHERE state IN ('pending', 'uncertain') ORDER BY id");
    while (s.step()) out.push_back(read_row(s));
    return out;
}

std::vector<Action> ActionStore::interrupt_pending(SystemTime now) {
    std::lock_guard lock(mu_);
    sqlite::Transaction tx(db_);
    std::vector<Action> out;
    {
        Statement s(db_, std::string("SELECT ") + kColumns + " FROM actions WHERE state = 'pending' ORDER BY id");
        while (s.step()) out.push_back(read_row(s));
    }
    const std::string reason =
        "cargomon stopped between recording this action and hearing the API's answer: the batch may or may not "
        "have been created; the workflow's batches will tell (it is never retried automatically)";
    Statement u(db_, "UPDATE actions SET state = 'uncertain', result = 'interrupted', reason = ?, updated_at = ? "
                     "WHERE state = 'pending'");
    u.bind(1, reason).bind(2, sqlite::to_millis(now)).run();
    tx.commit();
    for (auto& a : out) a.state = "uncertain", a.result = "interrupted", a.reason = reason, a.updated_at = now;
    return out;
}

bool ActionStore::decided(const std::string& batch_uuid, const std::string& mode) {
    std::lock_guard lock(mu_);
    Statement s(db_, "SELECT 1 FROM actions WHERE batch_uuid = ? AND mode = ?");
    s.bind(1, batch_uuid).bind(2, mode);
    const bool found = s.step();
    s.reset();
    return found;
}

bool ActionStore::created_by_us(const std::string& batch_uuid) {
    std::lock_guard lock(mu_);
    Statement s(db_, "SELECT 1 FROM actions WHERE created_batch_uuid = ?");
    s.bind(1, batch_uuid);
    const bool found = s.step();
    s.reset();
    return found;
}

ActionStore::Spent ActionStore::spent(const Action& action, SystemTime since) {
    Spent out;
    // Every decision but a skip counts: a refused or interrupted create may still have
    // cost, and counting it keeps a failing API from being asked again and again.
    Statement s(db_,
                "SELECT coalesce(sum(workflow_uuid = ?), 0), coalesce(sum(CASE WHEN rule = ? THEN estimated_credits "
                "ELSE 0 END), 0) FROM actions WHERE mode = ? AND state != 'skipped' AND decided_at >= ?");
    s.bind(1, action.workflow_uuid).bind(2, action.rule).bind(3, action.mode).bind(4, sqlite::to_millis(since));
    if (s.step()) {
        out.reruns = static_cast<int>(s.int64(0));
        out.credits = s.real(1);
        s.reset();
    }
    return out;
}

std::int64_t ActionStore::insert(const Action& a) {
    Statement s(db_,
                "INSERT INTO actions (batch_uuid, workflow_uuid, workflow_name, rule, action, mode, state, result, "
                "records, estimated_credits, created_batch_uuid, reason, decided_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, a.batch_uuid).bind(2, a.workflow_uuid).bind(3, a.workflow_name).bind(4, a.rule).bind(5, a.action);
    s.bind(6, a.mode).bind(7, a.state).bind(8, a.result).bind(9, a.records).bind(10, a.estimated_credits);
    s.bind(11, a.created_batch_uuid).bind(12, a.reason).bind(13, sqlite::to_millis(a.decided_at));
    s.bind(14, sqlite::to_millis(a.updated_at)).run();
    return sqlite3_last_insert_rowid(db_.handle());
}

void ActionStore::finish(std::int64_t id, const std::string& state, const std::string& result,
                         const std::string& created_batch_uuid, const std::string& reason, SystemTime now) {
    std::lock_guard lock(mu_);
    Statement s(db_, "UPDATE actions SET state = ?, result = ?, created_batch_uuid = ?, reason = ?, updated_at = ? "
                     "WHERE id = ?");
    s.bind(1, state).bind(2, result).bind(3, created_batch_uuid).bind(4, reason).bind(5, sqlite::to_millis(now));
    s.bind(6, id).run();
}

std::vector<Action> ActionStore::awaiting_outcome(std::size_t limit) {
    std::lock_guard lock(mu_);
    std::vector<Action> out;
    Statement s(db_, std::string("SELECT ") + kColumns +
                         " FROM actions WHERE state = 'done' AND created_batch_uuid != '' AND outcome = '' ORDER BY id "
                         "LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(limit));
    while (s.step()) out.push_back(read_row(s));
    return out;
}

void ActionStore::set_outcome(std::int64_t id, const std::string& outcome, std::int64_t recovered,
                              std::int64_t still_failing, SystemTime now) {
    std::lock_guard lock(mu_);
    Statement s(db_, "UPDATE actions SET outcome = ?, recovered = ?, still_failing = ?, updated_at = ? WHERE id = ?");
    s.bind(1, outcome).bind(2, recovered).bind(3, still_failing).bind(4, sqlite::to_millis(now)).bind(5, id).run();
}

std::vector<Action> ActionStore::recent(std::size_t limit) {
    std::lock_guard lock(mu_);
    std::vector<Action> out;
    Statement s(db_, std::string("SELECT ") + kColumns + " FROM actions ORDER BY decided_at DESC, id DESC LIMIT ?");
    s.bind(1, static_cast<std::int64_t>(limit));
    while (s.step()) out.push_back(read_row(s));
    return out;
}

}  // namespace cargomon::actions
