#pragma once
// Evaluates rule groups at their intervals and keeps every alert's state as Prometheus'
// alerting rule does: pending from the first evaluation that returns its series, firing
// once that has lasted `for`, resolved when the series is gone (after `keep_firing_for`),
// and kept resolved for a while so delivery can tell receivers.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "alerts/alert.h"
#include "alerts/promql/promql.h"
#include "alerts/rules/rules.h"
#include "common/clock.h"
#include "metrics/model.h"

namespace cargomon::alerts::rules {

// One alert of one rule, everything needed to carry it across a restart or a reload.
struct ActiveAlertState {
    std::string group_key;      // RuleGroup::key()
    std::string rule_name;      // AlertingRule::name
    int rule_ordinal = 0;       // which rule of that name in the group (0: the first)
    Alert alert;                // state inactive + ends_at: resolved, kept for resending
    std::optional<SystemTime> keep_firing_since;  // when its series vanished while firing
    std::optional<SystemTime> last_sent_at;       // when it was last handed to the sink
};

// What changed since the state was last taken (RuleManager::take_changes), so a save
// writes only that: new or changed alerts, and the keys of those gone.
struct AlertStateChanges {
    std::vector<ActiveAlertState> saved;
    // Only the key counts: group_key, rule_name, rule_ordinal and alert.fingerprint.
    std::vector<ActiveAlertState> removed;
    bool empty() const { return saved.empty() && removed.empty(); }
};

struct RuleManagerOptions {
    std::string external_url;  // generator URLs point here; empty: none
    Millis resend_delay{std::chrono::minutes{1}};         // Prometheus' --rules.alert.resend-delay
    Millis resolved_retention{std::chrono::minutes{15}};  // how long resolved alerts are re-sent
};

// How a rule's expression is evaluated at `t_ms` (the group's evaluation time less its
// query_offset): evaluate_checked over the daemon's series, or canned results in tests.
using RuleEvaluator = std::function<promql::Evaluation(const Rule&, std::int64_t t_ms)>;
// Receives a recording rule's output right after its evaluation, before the next rule of
// its group is evaluated (which must see it): every series with its labels, __name__
// included; empty when the rule failed, as a failed rule records nothing. `collector`
// names the rule (recording_collector) so its output replaces its own last one only.
using RecordSink = std::function<void(const std::string& collector, promql::Vector series, std::int64_t t_ms)>;
// The store collector a recording rule publishes under: unique per rule across groups.
std::string recording_collector(const RuleGroup& group, const RecordingRule& rule, int ordinal);
// A rule's result as samples: a vector as it is, a scalar as one sample without labels.
// `result` must have no error.
promql::Vector result_vector(promql::Evaluation result);
// Prometheus' RecordingRule.Eval: the result's series renamed, with the rule's labels and
// time `t_ms`; or why the rule records nothing (an evaluation error, two series with the
// same labels, more series than `limit` when it is > 0).
std::variant<promql::Vector, std::string> recorded_series(const RecordingRule& rule, promql::Evaluation result,
                                                           long long limit, std::int64_t t_ms);
// A recording rule's output (what a RecordSink receives) as the store holds it: one gauge
// family, or nothing when the rule recorded no series.
metrics::Snapshot recorded_snapshot(promql::Vector series);
// The labels of the alert a rule makes of one sample: the sample's labels without
// __name__, the rule's (expanded) labels, and alertname.
metrics::Labels alert_labels(const AlertingRule& rule, const promql::VectorSample& sample);

// An alert's identity (Alert::fingerprint): a stable hash of its labels, in hex, the same
// across restarts.
std::string fingerprint(const metrics::Labels& labels);


// Receives, after each group evaluation, the alerts to notify: firing ones (again every
// resend_delay) and resolved ones (with ends_at), as Prometheus hands them to its notifier.
using AlertSink = std::function<void(std::vector<Alert>)>;

// One rule as the rules API shows it (Prometheus' AlertingRule getters): its state is
// the worst of its own alerts.
struct RuleStatus {
    Rule rule;
    AlertState state = AlertState::inactive;
    std::vector<Alert> alerts;  // this rule's pending and firing alerts, no other rule's
    std::string last_error;     // of its last evaluation; empty when it succeeded
    std::optional<SystemTime> last_evaluation;
    Millis evaluation_duration{0};
};
struct GroupStatus {
    std::string name;
    std::string file;
    Millis interval{0};
    long long limit = 0;
    Millis query_offset{0};
    std::vector<RuleStatus> rules;
    std::optional<SystemTime> last_evaluation;
    Millis evaluation_duration{0};
};

// The collector name the daemon publishes alerts_snapshot() under.
inline constexpr std::string_view kRulesCollector = "rules";

// Thread-safe: evaluate_due() from the evaluating thread, replace_groups() and restore()
// from a reload, the readers from API handlers; mu_ guards groups_ (rules, alert states,
// schedules) and is held while rules are evaluated but not while the sink is called.
class RuleManager {
public:
    // `record` may be empty when no group has recording rules (tests of alerting rules).
    RuleManager(std::vector<RuleGroup> groups, RuleEvaluator evaluator, AlertSink sink, const Clock& clock,
                prometheus::Registry& registry, RuleManagerOptions options = {}, RecordSink record = {});

    // Evaluates every group that is due (each is first due at construction, then every
    // interval, missed ones skipped) and returns when the next one is due.
    SteadyTime evaluate_due();
    // When the next group is due (SteadyTime::max() without groups): callers skip the
    // work around an evaluation (a view of the store, ALERTS, saving) until then.
    SteadyTime next_due() const;

    // A reload: alerts of rules that remain (same group key, name and ordinal) keep their
    // state and their groups their schedule.
    void replace_groups(std::vector<RuleGroup> groups);

    // The collectors the recording rules publish under (recording_collector), so a reload
    // can withdraw the output of rules it removed.
    std::vector<std::string> recording_collectors() const;

    // For persistence: every alert the rules hold, resolved ones included.
    std::vector<ActiveAlertState> export_state() const;
    // Puts saved alerts back into their rules; those of rules that no longer exist are
    // dropped (and count as changes, so a save removes them).
    void restore(const std::vector<ActiveAlertState>& states);
    // The alerts changed (created, updated, sent, resolved) or removed since the last
    // call, by evaluations, reloads and restore(); restored alerts are not changes.
    AlertStateChanges take_changes();
    // Changes a failed save did not write: the next take_changes() returns them again.
    void keep_changes(const AlertStateChanges& changes);

    // ALERTS{alertname,alertstate,...} = 1 and ALERTS_FOR_STATE{alertname,...} = active_at
    // (Unix seconds) for every pending and firing alert.
    metrics::Snapshot alerts_snapshot() const;
    // Pending and firing alerts, for the alerts API.
    std::vector<Alert> alerts() const;
    // Every group and rule with their own alerts, for the rules API (Prometheus'
    // RuleGroups() with ActiveAlerts() per rule).
    std::vector<GroupStatus> groups() const;

private:
    struct RuleSlot {  // for group.rules[i] at the same index
        int ordinal = 0;
        std::map<std::string, ActiveAlertState> active;  // by fingerprint
        std::string last_error;
        std::optional<SystemTime> last_evaluation;
        Millis evaluation_duration{0};
    };
    struct GroupSlot {
        RuleGroup group;
        std::vector<RuleSlot> rules;
        SteadyTime next_due{};
        std::optional<SystemTime> last_evaluation;
        Millis evaluation_duration{0};
        prometheus::Counter* evaluations = nullptr;
        prometheus::Counter* failures = nullptr;
        prometheus::Gauge* last_duration = nullptr;
    };

    void install(std::vector<RuleGroup> groups, SteadyTime due);  // caller holds mu_
    std::vector<Alert> evaluate_group(GroupSlot& slot, SystemTime now);
    bool evaluate_rule(GroupSlot& group, std::size_t index, SystemTime now);
    bool evaluate_alerting(GroupSlot& group, std::size_t index, SystemTime now, promql::Evaluation result);
    bool evaluate_recording(GroupSlot& group, std::size_t index, promql::Evaluation result, std::int64_t t_ms);
    void update_alert_counts();
    void restore_locked(const std::vector<ActiveAlertState>& states);
    std::vector<ActiveAlertState> export_locked() const;
    using StateKey = std::tuple<std::string, std::string, int, std::string>;  // group, rule, ordinal, fingerprint
    static StateKey key_of(const ActiveAlertState& s);
    void changed(const ActiveAlertState& s) { changed_.insert(key_of(s)); }  // caller holds mu_
    const ActiveAlertState* find_locked(const StateKey& key) const;

    RuleEvaluator evaluator_;
    AlertSink sink_;
    RecordSink record_;
    const Clock& clock_;
    RuleManagerOptions options_;
    prometheus::Family<prometheus::Counter>& evaluations_;
    prometheus::Family<prometheus::Counter>& failures_;
    prometheus::Family<prometheus::Gauge>& last_duration_;
    prometheus::Family<prometheus::Gauge>& alert_counts_;
    prometheus::Gauge& pending_count_;
    prometheus::Gauge& firing_count_;

    mutable std::mutex mu_;
    std::vector<GroupSlot> groups_;
    std::set<StateKey> changed_;  // since the last take_changes()
};

}  // namespace cargomon::alerts::rules
