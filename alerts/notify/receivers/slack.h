#pragma once
// The Slack integration: an incoming webhook's message in Block Kit, within Slack's
// limits (blocks, text lengths), firing alerts first.
#include <memory>
#include <string>

#include "alerts/notify/receivers.h"
#include "config/alerting.h"

namespace cargomon::alerts::notify {

std::unique_ptr<Integration> make_slack_integration(const config::SlackConfig& config, bool send_resolved);

// The body; `channel` empty keeps the webhook's own channel.
std::string render_slack_body(const Notification& notification, const std::string& channel);

}  // namespace cargomon::alerts::notify
