#include "alerts/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "alerts/notify/delivery.h"
#include "alerts/notify/dispatcher.h"
#include "alerts/notify/outbox.h"
#include "alerts/notify/receivers.h"
#include "alerts/notify/router.h"
#include "alerts/notify/silences.h"
#include "alerts/promql/rule_source.h"
#include "alerts/promql/store_source.h"
#include "alerts/rules/rule_manager.h"
#include "metrics/self_metrics.h"
#include "alerts/rules/state_store.h"
#include "alerts/rules/template.h"
#include "metrics/labels.h"

namespace cargomon::alerts {

Engine::Engine(EngineSetup setup, const std::string& state_db, metrics::MetricStore& store,
               prometheus::Registry& registry, const Clock& clock, std::function<bool()> data_ready,
               const promql::Queryable* history)
    : store_(store),
      registry_(registry),
      clock_(clock),
      data_ready_(std::move(data_ready)),
      state_save_failures_(
          metrics::counter_family(registry, "cargomon_alert_state_save_failures_total",
                                  "Saves of alert state that failed (logged; the changes are kept for the next save)")
              .Add({})),
      history_(history) {
    state_ = std::make_unique<rules::AlertStateStore>(state_db);
    outbox_ = std::make_unique<notify::Outbox>(state_db, clock_, setup.alerting.delivery);
    silences_ = std::make_unique<notify::SilenceStore>(state_db, clock_);
    rules_ = std::make_unique<rules::RuleManager>(
        std::vector<rules::RuleGroup>{},
        // Both called inside evaluate_due(), which runs with mu_ held.
        [this](const rules::Rule& rule, std::int64_t t_ms) {
            return promql::evaluate_checked(rules::rule_expr(rule), *source_, t_ms);
        },
        [this](std::vector<Alert> alerts) {
            dispatcher_->put(relabel_alerts(std::move(alerts), external_labels_, alerting_->alert_relabel_configs));
        },
        clock_, registry_,
        rules::RuleManagerOptions{.external_url = setup.alerting.external_url},
        [this](const std::string& collector, promql::Vector series, std::int64_t t_ms) {
            record(collector, std::move(series), t_ms);
        });
    replace(std::move(setup));
    // After the groups are installed: restore() keeps only states whose rule exists.
    rules_->restore(state_->load());
}

std::vector<Alert> relabel_alerts(std::vector<Alert> alerts, const metrics::Labels& external_labels,
                                  const std::vector<metrics::RelabelConfig>& relabel_configs) {
    if (external_labels.empty() && relabel_configs.empty()) return alerts;
    std::vector<Alert> out;
    out.reserve(alerts.size());
    for (Alert& alert : alerts) {
        for (const auto& [name, value] : external_labels)
            if (!metrics::find_label(alert.labels, name)) metrics::set_label(alert.labels, name, value);
        if (!metrics::relabel(alert.labels, relabel_configs)) continue;
        alert.fingerprint = rules::fingerprint(alert.labels);
        out.push_back(std::move(alert));
    }
    return out;
}

Engine::~Engine() { stop(); }

void Engine::replace(EngineSetup setup) {
    // The old world is released after the swap, in this order: delivery (it sends through
    // the receivers), dispatcher, receivers, then the config they all point into.
    std::unique_ptr<config::AlertingConfig> old_alerting;
    std::unique_ptr<notify::Receivers> old_receivers;
    std::unique_ptr<notify::Dispatcher> old_dispatcher;
    std::unique_ptr<notify::Delivery> old_delivery;
    // Everything that can throw (a receiver's URL, a TLS setting) is built before anything
    // is swapped: a reload that fails here leaves the running alerting setup whole.
    auto alerting = std::make_unique<config::AlertingConfig>(std::move(setup.alerting));
    auto receivers = std::make_unique<notify::Receivers>(*alerting);
    std::lock_guard dispatching(dispatch_mu_);
    {
        std::lock_guard lock(mu_);
        auto dispatcher =
            std::make_unique<notify::Dispatcher>(*alerting, *receivers, *outbox_, silences_.get(), clock_, registry_);
        auto delivery = std::make_unique<notify::Delivery>(*outbox_, *receivers, clock_, registry_);
        // The alerts being notified live on in the new dispatcher, routed by the new routes:
        // one whose rule is gone is still resolved after resolve_timeout.
        if (dispatcher_) dispatcher->adopt(dispatcher_->held());
        rules_->replace_groups(std::move(setup.groups));
        withdraw_removed_recordings();
        publish_alerts_ = true;  // alerts of removed rules leave ALERTS
        old_delivery = std::exchange(delivery_, std::move(delivery));
        old_dispatcher = std::exchange(dispatcher_, std::move(dispatcher));
        old_receivers = std::exchange(receivers_, std::move(receivers));
        old_alerting = std::exchange(alerting_, std::move(alerting));
        external_labels_ = std::move(setup.external_labels);
    }
    // With mu_ released, so API handlers never wait on a receiver. The old delivery cancels
    // its requests in flight and stops before the new one starts: no item is sent by both.
    if (old_delivery) old_delivery->stop();
    if (thread_.joinable()) delivery_->start();
}

std::vector<Alert> Engine::alerts() const {
    std::lock_guard lock(mu_);
    return rules_->alerts();
}

std::vector<notify::AlertGroup> Engine::alert_groups() const {
    std::lock_guard lock(mu_);
    return notify::group_alerts(alerting_->route, rules_->alerts());
}

std::vector<rules::GroupStatus> Engine::groups() const {
    std::lock_guard lock(mu_);
    return rules_->groups();
}

void Engine::start() {
    collect_silences();
    {
        std::lock_guard lock(dispatch_mu_);
        delivery_->start();
    }
    thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void Engine::stop() {
    if (thread_.joinable()) {
        thread_.request_stop();
        wake_.notify_all();
        thread_.join();
    }
    // dispatch_mu_, not mu_: API handlers go on answering while requests are cancelled.
    std::lock_guard lock(dispatch_mu_);
    if (delivery_) delivery_->stop();
}

void Engine::evaluate_once() {
    rules::AlertStateChanges changes;
    {
        std::lock_guard lock(mu_);
        // Between evaluations alerts do not change: no view of the store, no ALERTS, no
        // save until a group is due (idle costs nothing with thousands of alerts).
        if (rules_->next_due() <= clock_.monotonic()) {
            self_metrics_ = registry_.Collect();
            current_ = std::make_shared<promql::StoreSource>(
                store_.view(), self_metrics_,
                std::chrono::floor<std::chrono::milliseconds>(clock_.now()).time_since_epoch().count());
            if (history_) {
                rule_source_ = std::make_unique<promql::RuleSource>(current_, *history_);
                source_ = rule_source_.get();
            } else {
                source_ = current_.get();
            }
            rules_->evaluate_due();
            source_ = nullptr;
            rule_source_.reset();
            current_.reset();
            self_metrics_.clear();
            log_transitions(rules_->alerts());
            publish_alerts_ = true;
        }
        if (publish_alerts_) {
            publish_alerts_ = false;
            try {
                store_.publish(std::string(rules::kRulesCollector), rules_->alerts_snapshot(), clock_.now());
            } catch (const std::exception& e) {
                spdlog::error("cannot publish ALERTS series: {}", e.what());
            }
        }
        changes = rules_->take_changes();
    }
    // A failed save must not hold notifications back: dispatching runs regardless.
    if (!changes.empty()) {
        try {
            state_->update(changes);
        } catch (const std::exception& e) {
            state_save_failures_.Increment();
            spdlog::error("cannot save alert state ({} changed, {} removed; kept for the next save): {}",
                          changes.saved.size(), changes.removed.size(), e.what());
            std::lock_guard lock(mu_);
            rules_->keep_changes(changes);
        }
    }
    std::lock_guard lock(dispatch_mu_);
    if (dispatcher_->tick() > 0) delivery_->wake();
}

void Engine::record(const std::string& collector, promql::Vector series, std::int64_t t_ms) {
    try {
        store_.publish(collector, rules::recorded_snapshot(std::move(series)), SystemTime{std::chrono::milliseconds{t_ms}});
    } catch (const std::exception& e) {
        // A name another collector publishes with another type, say: the rule's output is
        // not stored, the rules after it go on.
        spdlog::error("cannot store the output of recording rule {}: {}", collector, e.what());
        return;
    }
    // The rules after this one read the new output at once, as Prometheus' appends are
    // visible to the next rule of the group.
    current_ = std::make_shared<promql::StoreSource>(store_.view(), self_metrics_, current_->at_ms());
    if (rule_source_)
        rule_source_->set_current(current_);
    else
        source_ = current_.get();
}

void Engine::withdraw_removed_recordings() {
    std::vector<std::string> now = rules_->recording_collectors();
    for (const std::string& old : recording_collectors_)
        if (std::find(now.begin(), now.end(), old) == now.end()) store_.remove(old);
    recording_collectors_ = std::move(now);
}

void Engine::collect_silences() {
    next_silence_gc_ = clock_.monotonic() + kSilenceGcInterval;
    try {
        silences_->gc();
    } catch (const std::exception& e) {
        spdlog::error("cannot drop expired silences: {}", e.what());
    }
}

void Engine::log_transitions(const std::vector<Alert>& alerts) {
    std::map<std::string, AlertState> now;
    for (const auto& a : alerts) {
        now[a.fingerprint] = a.state;
        auto before = logged_states_.find(a.fingerprint);
        if (before != logged_states_.end() && before->second == a.state) continue;
        spdlog::info("alert {} {} value={}", state_name(a.state), metrics::labels_text(a.labels),
                     rules::go_float(a.value));
    }
    logged_states_ = std::move(now);
}

void Engine::loop(std::stop_token stop) {
    // One second is finer than any rule interval or group timer, and cheap: a due check
    // and a view of the store.
    while (!stop.stop_requested()) {
        try {
            if (data_ready_()) evaluate_once();
        } catch (const std::exception& e) {
            spdlog::error("alert evaluation failed: {}", e.what());
        }
        if (clock_.monotonic() >= next_silence_gc_) collect_silences();
        std::unique_lock lock(wake_mu_);
        wake_.wait_for(lock, stop, std::chrono::seconds{1}, [] { return false; });
    }
}

}  // namespace cargomon::alerts
