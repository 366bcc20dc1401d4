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
#include "alerts/rules/rule_manager.h"
#include "web/api.h"

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
};

// GET /api/v1/rules: each group with its rules, their alerts, health and last evaluation.
class RulesSource {
public:
    virtual ~RulesSource() = default;
    virtual std::vector<alerts::rules::GroupStatus> rule_groups() const = 0;
};

// GET /api/v1/actions: the automatic actions' recent decisions, newest first.
class ActionsSource {
public:
    virtual ~ActionsSource() = default;
    virtual std::vector<actions::Action> recent_actions() const = 0;
};

// Everything register_routes() serves. Each must outlive the server's serving (its stop()).
struct Sources {
    const StatusSource& status;
    Lifecycle& lifecycle;
    const AlertsSource& alerts;
    const RulesSource& rules;
    alerts::notify::SilenceStore& silences;  // thread-safe itself (alerts/notify/silences.h)
    const ActionsSource& actions;
    exporters::MetricsHandler& metrics;
};

}  // namespace cargomon::web
