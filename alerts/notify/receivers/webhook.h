#pragma once
// The webhook integration: Alertmanager's webhook payload (version 4), optionally signed
// with an HMAC (X-Cargomon-Signature).
#include <cstddef>
#include <memory>
#include <string>

#include "alerts/notify/receivers.h"
#include "config/alerting.h"

namespace cargomon::alerts::notify {

std::unique_ptr<Integration> make_webhook_integration(const config::WebhookConfig& config, bool send_resolved);

// The body; `max_alerts` 0 puts every alert in it, otherwise the rest are counted in
// truncatedAlerts.
std::string render_webhook_body(const Notification& notification, std::size_t max_alerts);

// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">", the X-Cargomon-Signature value.
std::string webhook_signature(const std::string& secret, long long unix_seconds, const std::string& body);

}  // namespace cargomon::alerts::notify
