#pragma once
// The JSON answers of the daemon's read API, in Prometheus' shapes so that Grafana and
// scripts written for Prometheus read them unchanged: /api/v1/alerts (web/v1 AlertDiscovery)
// and /api/v1/rules (RuleDiscovery, each rule with its own alerts, health and last
// evaluation). The domain hands over values (alerts/rules/rule_manager.h); only this file
// knows the wire format.
#include <string>
#include <vector>

#include "alerts/alert.h"
#include "alerts/rules/rule_manager.h"
#include "collectors/scheduler.h"

namespace cargomon::web {

// {"status":"success","data":{"alerts":[...]}}: pending and firing alerts.
std::string alerts_answer(const std::vector<alerts::Alert>& alerts);
// {"status":"success","data":{"groups":[...]}}.
std::string rules_answer(const std::vector<alerts::GroupStatus>& groups);

// What /api/v1/status shows: the daemon, then each collector's last run.
struct DaemonStatus {
    bool stopping = false;  // then only {"status":"stopping"}
    std::string version;
    bool ready = false;
    std::string config_file;
    bool config_last_reload_successful = false;
    std::size_t series = 0;
    std::vector<collectors::CollectorStatus> collectors;
};
std::string status_answer(const DaemonStatus& status);

}  // namespace cargomon::web
