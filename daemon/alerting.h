#pragma once
// The daemon's wiring of the alert path (alerts/engine.h): the engine's setup read from
// the config and its rule files, and its HTTP API registered on the web server.
#include <string>

#include "alerts/engine.h"
#include "config/config.h"
#include "web/sources.h"

namespace cargomon::daemon {

// Reads and validates the rule files config.rule_files names (on every call: they may
// change while the config file does not) and takes config.alerting, already validated by
// the config loader; the config file itself is not read again. Throws std::runtime_error
// listing every rule file error (file:line:col).
alerts::EngineSetup load_alerting(const config::Config& config);

// What /api/v1/alerts and /api/v1/rules read (web/sources.h), from `engine`, which
// must outlive the web server's serving.
class AlertingSources : public web::AlertsSource, public web::RulesSource {
public:
    explicit AlertingSources(const alerts::Engine& engine);
    std::vector<alerts::Alert> active_alerts() const override;
    std::vector<alerts::notify::AlertGroup> alert_groups() const override;
    std::vector<alerts::rules::GroupStatus> rule_groups() const override;

private:
    const alerts::Engine& engine_;
};

}  // namespace cargomon::daemon
