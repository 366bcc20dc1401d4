#include "alerts/notify/router.h"

#include <algorithm>
#include <map>

#include "metrics/labels.h"

namespace cargomon::alerts::notify {
namespace {

void walk(const config::Route& route, const metrics::Labels& labels, std::vector<const config::Route*>& out) {
    const std::size_t before = out.size();
    for (const config::Route& child : route.routes) {
        if (!metrics::matches_all(child.matchers, labels)) continue;
        walk(child, labels, out);
        if (!child.continue_matching) break;
    }
    if (out.size() == before) out.push_back(&route);
}

}  // namespace

std::vector<const config::Route*> Router::match(const metrics::Labels& labels) const {
    std::vector<const config::Route*> out;
    walk(root_, labels, out);
    return out;
}

}  // namespace cargomon::alerts::notify

namespace cargomon::alerts::notify {

metrics::Labels group_labels(const config::Route& route, const metrics::Labels& labels) {
    if (route.group_by_all) return labels;
    metrics::Labels out;
    for (const auto& kv : labels) {
        if (std::binary_search(route.group_by.begin(), route.group_by.end(), kv.first)) out.push_back(kv);
    }
    return out;
}

std::string group_key(const config::Route& route, const metrics::Labels& labels) {
    return route.key + ":" + metrics::labels_text(labels);
}

std::vector<AlertGroup> group_alerts(const config::Route& root, const std::vector<Alert>& alerts) {
    const Router router(root);
    std::map<std::string, AlertGroup> groups;
    for (const Alert& alert : alerts) {
        for (const config::Route* route : router.match(alert.labels)) {
            metrics::Labels labels = group_labels(*route, alert.labels);
            std::string key = group_key(*route, labels);
            AlertGroup& group = groups[key];
            if (group.key.empty()) group = {.key = key, .receiver = route->receiver, .labels = std::move(labels)};
            group.alerts.push_back(alert);
        }
    }
    std::vector<AlertGroup> out;
    out.reserve(groups.size());
    for (auto& [key, group] : groups) out.push_back(std::move(group));
    return out;
}

}  // namespace cargomon::alerts::notify
