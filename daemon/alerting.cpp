#include "daemon/alerting.h"

#include <stdexcept>
#include <utility>

#include "alerts/notify/silences.h"
#include "alerts/rules/rule_manager.h"

namespace cargomon::daemon {

alerts::EngineSetup load_alerting(const config::Config& config) {
    alerts::EngineSetup setup;
    std::string errors;
    auto rules = alerts::rules::load_rule_globs(config.rule_files);
    if (auto* e = std::get_if<std::vector<alerts::rules::RuleError>>(&rules)) {
        for (const auto& error : *e) errors += error.to_string() + "\n";
    } else {
        setup.groups = std::get<std::vector<alerts::rules::RuleGroup>>(std::move(rules));
    }
    setup.alerting = config.alerting;
    setup.external_labels = config.global.external_labels;
    if (!errors.empty()) {
        errors.pop_back();
        throw std::runtime_error(errors);
    }
    return setup;
}

AlertingSources::AlertingSources(const alerts::Engine& engine) : engine_(engine) {}

std::vector<alerts::Alert> AlertingSources::active_alerts() const { return engine_.alerts(); }

std::vector<alerts::notify::AlertGroup> AlertingSources::alert_groups() const { return engine_.alert_groups(); }

std::vector<alerts::rules::GroupStatus> AlertingSources::rule_groups() const { return engine_.groups(); }

}  // namespace cargomon::daemon
