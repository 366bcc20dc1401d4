#pragma once
// The alerting half of the daemon: rules evaluated over the store, alerts handed to
// routing and the durable outbox, silences, and their HTTP API. Durable state lives
// in SQLite files under --storage.path so a restart (even kill -9) resumes it.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "alerts/alert.h"
#include "alerts/notify/notify_config.h"
#include "alerts/rules/rules.h"
#include "common/clock.h"
#include "config/config.h"
#include "web/http_server.h"
#include "metrics/metric_store.h"

namespace cargomon::alerts {
class StoreSource;
}  // namespace cargomon::alerts
namespace cargomon::alerts::rules {
class AlertStateStore;
class RuleManager;
}  // namespace cargomon::alerts::rules
namespace cargomon::alerts::notify {
class Delivery;
class Dispatcher;
class Outbox;
class Receivers;
class SilenceStore;
}  // namespace cargomon::alerts::notify

namespace cargomon::daemon {

// What the alerting half runs on: the rule files' groups and the config's `alerting:`.
struct AlertingSetup {
    std::vector<alerts::rules::RuleGroup> groups;
    alerts::notify::AlertingConfig alerting;
};
// Reads and validates the rule files config.rule_files names (on every call: they may
// change while the config file does not) and takes config.alerting, already validated by
// the config loader; the config file itself is not read again. Throws std::runtime_error
// listing every rule file error (file:line:col).
AlertingSetup load_alerting(const config::Config& config);

// Thread-safety: register_routes() and start() before serving, replace() from a reload,
// stop() from the owner; its loop thread and the HTTP handlers share it. mu_ guards the
// rules, routing and source, dispatch_mu_ dispatching, wake_mu_ only the loop's wait.
class Alerting {
public:
    // `data_ready` says when every collector has run once: before that an empty store
    // would resolve alerts restored from the last run and restart their `for` timers.
    // `state_db` is the state database (daemon/storage.h) holding alert state, the outbox
    // and silences.
    Alerting(AlertingSetup setup, const std::string& state_db, metrics::MetricStore& store,
             prometheus::Registry& registry, const Clock& clock, std::function<bool()> data_ready);
    ~Alerting();

    // Expired silences past their retention are dropped on start() and this often after.
    static constexpr std::chrono::minutes kSilenceGcInterval{1};

    void register_routes(web::HttpServer& http);
    void start();
    void stop();
    // Swaps in new rules (alert state is kept) and new routes/receivers.
    void replace(AlertingSetup setup);

private:
    void loop(std::stop_token stop);
    void evaluate_once();
    // Drops silences expired past their retention (never fails: a failure is logged).
    void collect_silences();
    void log_transitions(const std::vector<alerts::Alert>& alerts);

    metrics::MetricStore& store_;
    prometheus::Registry& registry_;
    const Clock& clock_;
    std::function<bool()> data_ready_;
    prometheus::Counter& state_save_failures_;

    std::unique_ptr<alerts::rules::AlertStateStore> state_;
    std::unique_ptr<alerts::notify::Outbox> outbox_;
    std::unique_ptr<alerts::notify::SilenceStore> silences_;
    SteadyTime next_silence_gc_{};  // start(), then the loop thread only

    // Silences are matched while dispatching, and how many there are is up to the API's
    // users: so dispatching runs under dispatch_mu_ alone, and mu_, which the HTTP
    // handlers and stop() take, is never held meanwhile. dispatcher_ and delivery_ change
    // only with both held (dispatch_mu_ first), so either one is enough to use them.
    std::mutex dispatch_mu_;
    mutable std::mutex mu_;  // guards everything below
    std::shared_ptr<const alerts::StoreSource> source_;
    std::unique_ptr<alerts::notify::AlertingConfig> alerting_;
    std::unique_ptr<alerts::notify::Receivers> receivers_;
    std::unique_ptr<alerts::notify::Dispatcher> dispatcher_;
    std::unique_ptr<alerts::notify::Delivery> delivery_;
    std::unique_ptr<alerts::rules::RuleManager> rules_;
    std::map<std::string, alerts::AlertState> logged_states_;  // by fingerprint: what the log last said
    bool publish_alerts_ = true;  // ALERTS is out of date (an evaluation or a reload since it was published)

    std::mutex wake_mu_;
    std::condition_variable_any wake_;
    std::jthread thread_;
};

}  // namespace cargomon::daemon
