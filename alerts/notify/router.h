#pragma once
// The route tree walk, as Alertmanager does it: an alert goes down the first matching
// child (and on to later siblings while the matched child says `continue`); a node none
// of whose children match takes the alert itself.
#include <string>
#include <vector>

#include "alerts/alert.h"
#include "config/alerting.h"

namespace cargomon::alerts::notify {

class Router {
public:
    explicit Router(const config::Route& root) : root_(root) {}
    // The routes that handle an alert with these labels; never empty (the root catches all).
    std::vector<const config::Route*> match(const metrics::Labels& labels) const;

private:
    const config::Route& root_;
};

// The labels of `labels` the route groups by (all of them with `group_by: ['...']`).
metrics::Labels group_labels(const config::Route& route, const metrics::Labels& labels);
// Alertmanager's group key, route key and group labels: `{}/{severity="page"}:{a="1", b="2"}`,
// the values quoted, so no value can pass for another label (`a="1\", b=\"2"` is one).
std::string group_key(const config::Route& route, const metrics::Labels& labels);

// Alerts as the routes group them (the status page shows them so): one group per route
// and group labels, as the dispatcher's aggregation groups.
struct AlertGroup {
    std::string key;       // group_key()
    std::string receiver;  // the route's; "" for a root route without one
    metrics::Labels labels;
    std::vector<Alert> alerts;
};
// Each alert goes to every group its routes give it; groups in key order, alerts in the
// order given.
std::vector<AlertGroup> group_alerts(const config::Route& root, const std::vector<Alert>& alerts);

}  // namespace cargomon::alerts::notify
