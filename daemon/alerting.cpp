#include "daemon/alerting.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <utility>


#include "alerts/notify/delivery.h"
#include "alerts/notify/dispatcher.h"
#include "alerts/notify/outbox.h"
#include "alerts/notify/receivers.h"
#include "alerts/rules/rule_manager.h"
#include "alerts/notify/silences.h"
#include "alerts/rules/state_store.h"
#include "alerts/rules/template.h"
#include "alerts/promql/store_source.h"
#include "common/duration.h"
#include "common/timefmt.h"
#include "metrics/self_metrics.h"
#include "web/api.h"

namespace cargomon::daemon {

AlertingSetup load_alerting(const config::Config& config) {
    AlertingSetup setup;
    std::string errors;
    auto rules = alerts::load_rule_globs(config.rule_files);
    if (auto* e = std::get_if<std::vector<alerts::RuleError>>(&rules)) {
        for (const auto& error : *e) errors += error.to_string() + "\n";
    } else {
        setup.groups = std::get<std::vector<alerts::RuleGroup>>(std::move(rules));
    }
    setup.alerting = config.alerting;
    if (!errors.empty()) {
        errors.pop_back();
        throw std::runtime_error(errors);
    }
    return setup;
}

Alerting::Alerting(AlertingSetup setup, const std::string& state_db, metrics::MetricStore& store,
                   prometheus::Registry& registry, const Clock& clock, std::function<bool()> data_ready)
    : store_(store),
      registry_(registry),
      clock_(clock),
      data_ready_(std::move(data_ready)),
      state_save_failures_(
          metrics::counter_family(registry, "cargomon_alert_state_save_failures_total",
                                  "Saves of alert state that failed (logged; the changes are kept for the next save)")
              .Add({})) {
    state_ = std::make_unique<alerts::AlertStateStore>(state_db);
    outbox_ = std::make_unique<alerts::Outbox>(state_db, clock_, setup.alerting.delivery);
    silences_ = std::make_unique<alerts::SilenceStore>(state_db, clock_);
    rules_ = std::make_unique<alerts::RuleManager>(
        std::vector<alerts::RuleGroup>{},
        // Called inside evaluate_due(), which runs with mu_ held.
        [this](const alerts::AlertingRule& rule) { return alerts::series_evaluator(*source_)(rule); },
        [this](std::vector<alerts::Alert> alerts) { dispatcher_->put(alerts); }, clock_, registry_,
        alerts::RuleManagerOptions{.external_url = setup.alerting.external_url});
    replace(std::move(setup));
    // After the groups are installed: restore() keeps only states whose rule exists.
    rules_->restore(state_->load());
}

Alerting::~Alerting() { stop(); }

void Alerting::replace(AlertingSetup setup) {
    // The old world is released after the swap, in this order: delivery (it sends through
    // the receivers), dispatcher, receivers, then the config they all point into.
    std::unique_ptr<alerts::AlertingConfig> old_alerting;
    std::unique_ptr<alerts::Receivers> old_receivers;
    std::unique_ptr<alerts::Dispatcher> old_dispatcher;
    std::unique_ptr<alerts::Delivery> old_delivery;
    // Everything that can throw (a receiver's URL, a TLS setting) is built before anything
    // is swapped: a reload that fails here leaves the running alerting setup whole.
    auto alerting = std::make_unique<alerts::AlertingConfig>(std::move(setup.alerting));
    auto receivers = std::make_unique<alerts::Receivers>(*alerting);
    std::lock_guard dispatching(dispatch_mu_);
    {
        std::lock_guard lock(mu_);
        auto dispatcher = std::make_unique<alerts::Dispatcher>(*alerting, *receivers, *outbox_, silences_.get(), clock_,
                                                               registry_);
        auto delivery = std::make_unique<alerts::Delivery>(*outbox_, *receivers, clock_, registry_);
        // The alerts being notified live on in the new dispatcher, routed by the new routes:
        // one whose rule is gone is still resolved after resolve_timeout.
        if (dispatcher_) dispatcher->adopt(dispatcher_->held());
        rules_->replace_groups(std::move(setup.groups));
        publish_alerts_ = true;  // alerts of removed rules leave ALERTS
        old_delivery = std::exchange(delivery_, std::move(delivery));
        old_dispatcher = std::exchange(dispatcher_, std::move(dispatcher));
        old_receivers = std::exchange(receivers_, std::move(receivers));
        old_alerting = std::exchange(alerting_, std::move(alerting));
    }
    // With mu_ released, so API handlers never wait on a receiver. The old delivery cancels
    // its requests in flight and stops before the new one starts: no item is sent by both.
    if (old_delivery) old_delivery->stop();
    if (thread_.joinable()) delivery_->start();
}

void Alerting::register_routes(web::HttpServer& http) {
    using web::Access, web::Request, web::Response;
    auto reply = [](Response& res, web::Answer answer) {
        res.status = answer.status;
        if (!answer.json.empty()) res.set_content(std::move(answer.json), "application/json");
    };
    http.add_route(Access::read, "GET", "/api/v1/alerts",
                   [this](const Request&, Response& res) {
                       std::vector<alerts::Alert> active;
                       {
                           std::lock_guard lock(mu_);
                           active = rules_->alerts();
                       }
                       res.set_content(web::alerts_answer(active), "application/json");
                   });
    http.add_route(Access::read, "GET", "/api/v1/rules",
                   [this](const Request&, Response& res) {
                       std::vector<alerts::GroupStatus> groups;
                       {
                           std::lock_guard lock(mu_);
                           groups = rules_->groups();
                       }
                       res.set_content(web::rules_answer(groups), "application/json");
                   });
    http.add_route(Access::read, "GET", "/api/v1/silences",
                   [this, reply](const Request&, Response& res) { reply(res, web::list_silences_answer(*silences_)); });
    http.add_route(Access::admin, "POST", "/api/v1/silences", [this, reply](const Request& req, Response& res) {
        reply(res, web::create_silence_answer(*silences_, req.body));
    });
    http.add_route(Access::admin, "DELETE", "/api/v1/silences/:id", [this, reply](const Request& req, Response& res) {
        reply(res, web::expire_silence_answer(*silences_, req.path_params.at(0)));
    });
}

void Alerting::start() {
    collect_silences();
    {
        std::lock_guard lock(dispatch_mu_);
        delivery_->start();
    }
    thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void Alerting::stop() {
    if (thread_.joinable()) {
        thread_.request_stop();
        wake_.notify_all();
        thread_.join();
    }
    // dispatch_mu_, not mu_: API handlers go on answering while requests are cancelled.
    std::lock_guard lock(dispatch_mu_);
    if (delivery_) delivery_->stop();
}

void Alerting::evaluate_once() {
    alerts::AlertStateChanges changes;
    {
        std::lock_guard lock(mu_);
        // Between evaluations alerts do not change: no view of the store, no ALERTS, no
        // save until a group is due (idle costs nothing with thousands of alerts).
        if (rules_->next_due() <= clock_.monotonic()) {
            source_ = std::make_shared<alerts::StoreSource>(store_.view(), registry_.Collect());
            rules_->evaluate_due();
            source_.reset();
            log_transitions(rules_->alerts());
            publish_alerts_ = true;
        }
        if (publish_alerts_) {
            publish_alerts_ = false;
            try {
                store_.publish(std::string(alerts::kRulesCollector), rules_->alerts_snapshot(), clock_.now());
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

void Alerting::collect_silences() {
    next_silence_gc_ = clock_.monotonic() + kSilenceGcInterval;
    try {
        silences_->gc();
    } catch (const std::exception& e) {
        spdlog::error("cannot drop expired silences: {}", e.what());
    }
}

void Alerting::log_transitions(const std::vector<alerts::Alert>& alerts) {
    std::map<std::string, alerts::AlertState> now;
    for (const auto& a : alerts) {
        now[a.fingerprint] = a.state;
        auto before = logged_states_.find(a.fingerprint);
        if (before != logged_states_.end() && before->second == a.state) continue;
        spdlog::info("alert {} {} value={}", alerts::state_name(a.state), metrics::labels_text(a.labels),
                     alerts::go_float(a.value));
    }
    logged_states_ = std::move(now);
}

void Alerting::loop(std::stop_token stop) {
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

}  // namespace cargomon::daemon
