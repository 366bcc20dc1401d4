#pragma once
// The rule manager's alerts on disk (SQLite, WAL), so a restart, even after kill -9,
// neither restarts a `for` timer nor re-sends what was just sent.
#include <string>
#include <vector>

#include "common/sqlite.h"
#include "alerts/rules/rule_manager.h"

namespace cargomon::alerts::rules {

class AlertStateStore {
public:
    // Creates the file and its table if missing. Throws std::runtime_error.
    explicit AlertStateStore(const std::string& path);

    // Replaces what is saved with `states`, in one transaction: a crash leaves the old set or the new.
    void save(const std::vector<ActiveAlertState>& states);
    // Writes only what changed (RuleManager::take_changes), in one transaction.
    void update(const AlertStateChanges& changes);
    std::vector<ActiveAlertState> load();

private:
    void write(const std::vector<ActiveAlertState>& states);  // inside the caller's transaction

    sqlite::Database db_;
};

}  // namespace cargomon::alerts::rules
