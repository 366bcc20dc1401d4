#pragma once
// The JSON answers of the daemon's read API, in Prometheus' shapes so that Grafana and
// scripts written for Prometheus read them unchanged: /api/v1/alerts (web/v1 AlertDiscovery)
// and /api/v1/rules (RuleDiscovery, each rule with its own alerts, health and last
// evaluation). The domain hands over values (alerts/rule_manager.h); only this file
// knows the wire format.
#include <string>
#include <vector>

#include "alerts/alert.h"
#include "alerts/rule_manager.h"

namespace cargomon::web {

// {"status":"success","data":{"alerts":[...]}}: pending and firing alerts.
std::string alerts_answer(const std::vector<alerts::Alert>& alerts);
// {"status":"success","data":{"groups":[...]}}.
std::string rules_answer(const std::vector<alerts::GroupStatus>& groups);

}  // namespace cargomon::web
