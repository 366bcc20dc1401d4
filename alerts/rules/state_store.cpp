#include "alerts/rules/state_store.h"

#include <charconv>
#include <stdexcept>

#include "metrics/labels.h"

namespace cargomon::alerts::rules {
namespace {

metrics::Labels parse_labels(const std::string& json) {
    auto labels = metrics::labels_from_json(json);
    if (!labels) throw std::runtime_error("alert state: bad labels in the state file");
    return std::move(*labels);
}

// Shortest round-trip text; SQLite REAL would do too, but the statement binds text and integers only.
std::string number_text(double v) {
    char buf[64];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}
double parse_number(const std::string& text) {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size()) throw std::runtime_error("alert state: bad value in the state file");
    return v;
}

}  // namespace

AlertStateStore::AlertStateStore(const std::string& path) : db_(path) {
    db_.exec(
        "CREATE TABLE IF NOT EXISTS alert_state ("
        " group_key TEXT NOT NULL, rule_name TEXT NOT NULL, rule_ordinal INTEGER NOT NULL, fingerprint TEXT NOT NULL,"
        " labels TEXT NOT NULL, annotations TEXT NOT NULL, state INTEGER NOT NULL, value TEXT NOT NULL,"
        " active_at INTEGER NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER, keep_firing_since INTEGER,"
        " last_sent_at INTEGER, generator_url TEXT NOT NULL,"
        " PRIMARY KEY (group_key, rule_name, rule_ordinal, fingerprint))");
}

void AlertStateStore::save(const std::vector<ActiveAlertState>& states) {
    sqlite::Transaction tx(db_);
    db_.exec("DELETE FROM alert_state");
    write(states);
    tx.commit();
}

void AlertStateStore::update(const AlertStateChanges& changes) {
    sqlite::Transaction tx(db_);
    sqlite::Statement remove(db_,
                             "DELETE FROM alert_state WHERE group_key = ?1 AND rule_name = ?2 AND rule_ordinal = ?3 AND fingerprint = ?4");
    for (const ActiveAlertState& s : changes.removed) {
        remove.bind(1, s.group_key).bind(2, s.rule_name).bind(3, std::int64_t{s.rule_ordinal}).bind(4, s.alert.fingerprint);
        remove.run();
    }
    write(changes.saved);
    tx.commit();
}

void AlertStateStore::write(const std::vector<ActiveAlertState>& states) {
    sqlite::Statement insert(db_,
                             "INSERT OR REPLACE INTO alert_state VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    for (const ActiveAlertState& s : states) {
        const Alert& a = s.alert;
        insert.bind(1, s.group_key).bind(2, s.rule_name).bind(3, std::int64_t{s.rule_ordinal}).bind(4, a.fingerprint);
        insert.bind(5, metrics::labels_to_json(a.labels)).bind(6, metrics::labels_to_json(a.annotations));
        insert.bind(7, static_cast<std::int64_t>(a.state)).bind(8, number_text(a.value));
        insert.bind(9, sqlite::to_millis(a.active_at)).bind(10, sqlite::to_millis(a.starts_at));
        if (a.ends_at) insert.bind(11, sqlite::to_millis(*a.ends_at));  // unbound parameters are NULL
        if (s.keep_firing_since) insert.bind(12, sqlite::to_millis(*s.keep_firing_since));
        if (s.last_sent_at) insert.bind(13, sqlite::to_millis(*s.last_sent_at));
        insert.bind(14, a.generator_url);
        insert.run();
    }
}

std::vector<ActiveAlertState> AlertStateStore::load() {
    sqlite::Statement select(db_,
                             "SELECT group_key, rule_name, rule_ordinal, fingerprint, labels, annotations, state, value,"
                             " active_at, starts_at, ends_at, keep_firing_since, last_sent_at, generator_url FROM alert_state");
    std::vector<ActiveAlertState> out;
    while (select.step()) {
        ActiveAlertState s;
        s.group_key = select.text(0);
        s.rule_name = select.text(1);
        s.rule_ordinal = static_cast<int>(select.int64(2));
        Alert& a = s.alert;
        a.fingerprint = select.text(3);
        a.labels = parse_labels(select.text(4));
        a.annotations = parse_labels(select.text(5));
        std::int64_t state = select.int64(6);
        if (state < 0 || state > static_cast<std::int64_t>(AlertState::firing))
            throw std::runtime_error("alert state: bad state in the state file");
        a.state = static_cast<AlertState>(state);
        a.value = parse_number(select.text(7));
        a.active_at = sqlite::from_millis(select.int64(8));
        a.starts_at = sqlite::from_millis(select.int64(9));
        if (!select.is_null(10)) a.ends_at = sqlite::from_millis(select.int64(10));
        if (!select.is_null(11)) s.keep_firing_since = sqlite::from_millis(select.int64(11));
        if (!select.is_null(12)) s.last_sent_at = sqlite::from_millis(select.int64(12));
        a.generator_url = select.text(13);
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace cargomon::alerts::rules
