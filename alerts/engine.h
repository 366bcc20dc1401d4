#pragma once
// The alert path as one running thing: rule groups evaluated over the metric store, the
// alerts they make published as ALERTS and saved, given the external labels and the
// alert relabelling (relabel_alerts), handed to the dispatcher (routes,
// groups, silences) and from there to the outbox and delivery; silences past their
// retention dropped. Prometheus' rules.Manager and Alertmanager's dispatcher in one loop.
// The daemon builds an Engine from its config (daemon/alerting.h: load_alerting), starts
// it, replaces its rules and routes on reload and stops it; the HTTP API reads it.
// Durable state (alert state, outbox, silences) lives in the state database, so a restart
// (even kill -9) resumes it.
#include <prometheus/counter.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alerts/alert.h"
#include "alerts/promql/promql.h"
#include "alerts/rules/rules.h"
#include "common/clock.h"
#include "config/alerting.h"
#include "metrics/metric_store.h"

namespace cargomon::alerts {

namespace promql {
class Queryable;
class StoreSource;
class RuleSource;
}  // namespace promql

namespace rules {
class AlertStateStore;
class RuleManager;
struct GroupStatus;
}  // namespace rules

namespace notify {
struct AlertGroup;
class Delivery;
class Dispatcher;
class Outbox;
class Receivers;
class SilenceStore;
}  // namespace notify

// What the engine runs: rule groups, the config's `alerting:` (receivers, routes,
// delivery limits, alert relabelling) and global.external_labels.
struct EngineSetup {
    std::vector<rules::RuleGroup> groups;
    config::AlertingConfig alerting;
    metrics::Labels external_labels;
};

// The alerts as they leave the rule engine for routing, as Prometheus' notifier sends
// them: each gets the external labels it lacks, then `relabel_configs`; one they drop is
// left out, and the rest get the fingerprint of their new labels (alerts relabelled to
// the same labels are one alert from then on, as in Alertmanager).
std::vector<Alert> relabel_alerts(std::vector<Alert> alerts, const metrics::Labels& external_labels,
                                  const std::vector<metrics::RelabelConfig>& relabel_configs);

// Thread-safety: start() once, replace() from a reload, stop() from the owner; alerts(),
// groups() and silences() from any thread (the HTTP handlers). Its loop thread shares it.
// mu_ guards the rules, routing and source, dispatch_mu_ dispatching, wake_mu_ only the
// loop's wait.
class Engine {
public:
    // `data_ready` says when every collector has run once: before that an empty store
    // would resolve alerts restored from the last run and restart their `for` timers.
    // `state_db` is the state database holding alert state, the outbox and silences.
    // `history` is the sample history the rules' ranges, offsets and @ read (it must
    // outlive the engine); without one they read only the store's current values.
    // Throws what building the receivers throws (a receiver's URL, a TLS setting) and
    // std::runtime_error when the state database cannot be opened.
    Engine(EngineSetup setup, const std::string& state_db, metrics::MetricStore& store,
           prometheus::Registry& registry, const Clock& clock, std::function<bool()> data_ready,
           const promql::Queryable* history = nullptr);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Expired silences past their retention are dropped on start() and this often after.
    static constexpr std::chrono::minutes kSilenceGcInterval{1};

    void start();
    void stop();
    // Swaps in new rules (alert state is kept) and new routes/receivers; on a throw
    // (a receiver that cannot be built) the running setup is left whole.
    void replace(EngineSetup setup);

    // What the API shows: the active alerts and the rule groups' status, copied.
    std::vector<Alert> alerts() const;
    std::vector<rules::GroupStatus> groups() const;
    // The active alerts as the routes group them (notify/router.h: group_alerts).
    std::vector<notify::AlertGroup> alert_groups() const;
    // The silence store (thread-safe itself, see notify/silences.h).
    notify::SilenceStore& silences() { return *silences_; }

private:
    void loop(std::stop_token stop);
    void evaluate_once();
    // Drops silences expired past their retention (never fails: a failure is logged).
    void collect_silences();
    void log_transitions(const std::vector<Alert>& alerts);
    // A recording rule's output into the store (so /metrics and the history get it) and
    // into what the next rules read. Runs inside evaluate_due(), with mu_ held.
    void record(const std::string& collector, promql::Vector series, std::int64_t t_ms);
    // Withdraws the output of recording rules a reload removed. Caller holds mu_.
    void withdraw_removed_recordings();

    metrics::MetricStore& store_;
    prometheus::Registry& registry_;
    const Clock& clock_;
    std::function<bool()> data_ready_;
    prometheus::Counter& state_save_failures_;

    std::unique_ptr<rules::AlertStateStore> state_;
    std::unique_ptr<notify::Outbox> outbox_;
    std::unique_ptr<notify::SilenceStore> silences_;
    SteadyTime next_silence_gc_{};  // start(), then the loop thread only

    // Silences are matched while dispatching, and how many there are is up to the API's
    // users: so dispatching runs under dispatch_mu_ alone, and mu_, which the HTTP
    // handlers and stop() take, is never held meanwhile. dispatcher_ and delivery_ change
    // only with both held (dispatch_mu_ first), so either one is enough to use them.
    std::mutex dispatch_mu_;
    mutable std::mutex mu_;  // guards everything below
    const promql::Queryable* history_;
    // During an evaluation: the store's current view, the self-metrics it was built with,
    // and what the rules read (source_: rule_source_ over the two, or the view alone).
    std::shared_ptr<const promql::StoreSource> current_;
    std::vector<prometheus::MetricFamily> self_metrics_;
    std::unique_ptr<promql::RuleSource> rule_source_;
    const promql::Queryable* source_ = nullptr;
    std::vector<std::string> recording_collectors_;  // what the installed recording rules publish under
    std::unique_ptr<config::AlertingConfig> alerting_;
    metrics::Labels external_labels_;
    std::unique_ptr<notify::Receivers> receivers_;
    std::unique_ptr<notify::Dispatcher> dispatcher_;
    std::unique_ptr<notify::Delivery> delivery_;
    std::unique_ptr<rules::RuleManager> rules_;
    std::map<std::string, AlertState> logged_states_;  // by fingerprint: what the log last said
    bool publish_alerts_ = true;  // ALERTS is out of date (an evaluation or a reload since it was published)

    std::mutex wake_mu_;
    std::condition_variable_any wake_;
    std::jthread thread_;
};

}  // namespace cargomon::alerts
