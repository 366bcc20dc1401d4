#pragma once
// The Alertmanager integration: alerts posted to <url>/api/v2/alerts as Prometheus posts
// them, re-sent at every group_interval flush while firing (Alertmanager forgets an alert
// whose endsAt passes).
#include <memory>
#include <string>

#include "alerts/notify/receivers.h"
#include "config/alerting.h"

namespace cargomon::alerts::notify {

std::unique_ptr<Integration> make_alertmanager_integration(const config::AlertmanagerConfig& config,
                                                           bool send_resolved);

// The body: Alertmanager API v2's postable alerts.
std::string render_alertmanager_body(const Notification& notification, SystemTime now);

}  // namespace cargomon::alerts::notify
