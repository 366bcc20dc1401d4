#pragma once
// An alert as the rule engine hands it to delivery: Alertmanager's model.
#include <optional>
#include <string>

#include "common/clock.h"
#include "metrics/model.h"

namespace cargomon::alerts {

enum class AlertState { inactive, pending, firing };

// "inactive", "pending", "firing": the names Prometheus' API and ALERTS use.
constexpr const char* state_name(AlertState s) {
    switch (s) {
        case AlertState::pending: return "pending";
        case AlertState::firing: return "firing";
        case AlertState::inactive: return "inactive";
    }
    return "inactive";
}

struct Alert {
    metrics::Labels labels;        // alertname, rule labels, series labels (sorted)
    metrics::Labels annotations;   // templates expanded
    AlertState state = AlertState::pending;
    double value = 0;              // the expression's value at the last evaluation
    SystemTime active_at;          // when it became pending
    SystemTime starts_at;          // when it started firing
    std::optional<SystemTime> ends_at;  // set once resolved
    std::string generator_url;     // link back to cargomon's rule page
    std::string fingerprint;       // stable hash of labels (hex), identity across restarts
};

}  // namespace cargomon::alerts
