#pragma once
// What the API reads and changes of the daemon, as small interfaces the daemon implements
// (daemon/daemon.h, daemon/alerting.h) and web/routes.h's register_routes() reads, as
// Prometheus' web/api/v1 reads its domain through RulesRetriever and alertsRetriever.
// web/ never includes daemon/: it sees only these.
//
// Each method is called on an HTTP connection thread, concurrently with the daemon's own
// threads and with other requests: implementations lock what they read.
#include <optional>
#include <string>
#include <vector>

#include "actions/store.h"
#include "alerts/alert.h"
#include "alerts/notify/router.h"
#include "alerts/promql/promql.h"
#include "alerts/rules/rule_manager.h"
#include "web/api.h"
#include "web/query_api.h"

namespace cargomon::alerts {
namespace notify {
class SilenceStore;
}
}
namespace cargomon::exporters {
class MetricsHandler;
}

namespace cargomon::web {

// GET /api/v1/status.
class StatusSource {
public:
    virtual ~StatusSource() = default;
    virtual DaemonStatus status() const = 0;
};

// POST /-/reload.
class Lifecycle {
public:
    virtual ~Lifecycle() = default;
    // Reloads the configuration: nullopt on success, else why it failed (the old one runs on).
    virtual std::optional<std::string> reload() = 0;
};

// GET /api/v1/alerts: pending and firing alerts.
class AlertsSource {
public:
    virtual ~AlertsSource() = default;
    virtual std::vector<alerts::Alert> active_alerts() const = 0;
    // The same alerts as the routes group them (the status page, web/status_page.h).
    virtual std::vector<alerts::notify::AlertGroup> alert_groups() const = 0;
};

// GET /api/v1/rules: each group with its rules, their alerts, health and last evaluation.
class RulesSource {
public:
    virtual ~RulesSource() = default;
    virtual std::vector<alerts::rules::GroupStatus> rule_groups() const = 0;
};

// One rule's daily budgets (config/actions.h), as the status page shows them beside what
// was spent today.
struct ActionBudget {
    std::string rule;
    std::string mode;  // enabled, dry_run
    int max_reruns_per_day_per_workflow = 0;
    double max_credits_per_day = 0;
};

// GET /api/v1/actions: the automatic actions' recent decisions, newest first.
class ActionsSource {
public:
    virtual ~ActionsSource() = default;
    virtual std::vector<actions::Action> recent_actions() const = 0;
    // The config's rules' budgets, in the config's order (the status page).
    virtual std::vector<ActionBudget> action_budgets() const = 0;
};

// Prometheus' query API (web/query_api.h): the sample history, as PromQL reads it and as
// its label index answers, and what is known of the metric families.
class QuerySource {
public:
    virtual ~QuerySource() = default;
    virtual const alerts::promql::Queryable& history() const = 0;
    // The engine's bounds (max samples, timeout); a request may only lower the timeout.
    virtual alerts::promql::Limits query_limits() const = 0;
    // As tsdb::Head's: of the series `matchers` select (all, when empty) with samples in
    // [mint_ms, maxt_ms], their labels (__name__ included), label names or one label's
    // values; sorted.
    virtual std::vector<metrics::Labels> series(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                                std::int64_t maxt_ms) const = 0;
    virtual std::vector<std::string> label_names(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                                 std::int64_t maxt_ms) const = 0;
    virtual std::vector<std::string> label_values(const std::string& name, const std::vector<metrics::Matcher>& matchers,
                                                  std::int64_t mint_ms, std::int64_t maxt_ms) const = 0;
    // Every family published now (collectors and cargomon's own), sorted by name.
    virtual std::vector<MetricMetadata> metadata() const = 0;
    virtual BuildInfo build_info() const = 0;
};

// Everything register_routes() serves. Each must outlive the server's serving (its stop()).
struct Sources {
    const StatusSource& status;
    Lifecycle& lifecycle;
    const AlertsSource& alerts;
    const RulesSource& rules;
    alerts::notify::SilenceStore& silences;  // thread-safe itself (alerts/notify/silences.h)
    const ActionsSource& actions;
    const QuerySource& query;
    exporters::MetricsHandler& metrics;
};

}  // namespace cargomon::web
