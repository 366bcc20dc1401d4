#include "alerts/notify/receivers.h"

#include <algorithm>

#include "alerts/notify/receivers/alertmanager.h"
#include "alerts/notify/receivers/slack.h"
#include "alerts/notify/receivers/webhook.h"

namespace cargomon::alerts::notify {

bool is_resolved(const Alert& alert) { return alert.ends_at.has_value(); }

bool any_firing(const Notification& n) {
    return std::any_of(n.alerts.begin(), n.alerts.end(), [](const Alert& a) { return !is_resolved(a); });
}

std::unique_ptr<Integration> make_integration(const config::IntegrationSpec& spec) {
    return std::visit(
        [&](const auto& c) -> std::unique_ptr<Integration> {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, config::WebhookConfig>) return make_webhook_integration(c, spec.send_resolved);
            if constexpr (std::is_same_v<T, config::SlackConfig>) return make_slack_integration(c, spec.send_resolved);
            if constexpr (std::is_same_v<T, config::AlertmanagerConfig>)
                return make_alertmanager_integration(c, spec.send_resolved);
        },
        spec.config);
}

Receivers::Receivers(const config::AlertingConfig& config) {
    for (const config::ReceiverConfig& r : config.receivers) {
        auto& list = by_name_[r.name];
        for (const config::IntegrationSpec& spec : r.integrations) list.push_back(make_integration(spec));
    }
}

const std::vector<std::unique_ptr<Integration>>& Receivers::integrations(std::string_view receiver) const {
    static const std::vector<std::unique_ptr<Integration>> none;
    auto it = by_name_.find(receiver);
    return it == by_name_.end() ? none : it->second;
}

Integration* Receivers::find(std::string_view receiver, std::size_t index) const {
    const auto& list = integrations(receiver);
    return index < list.size() ? list[index].get() : nullptr;
}

}  // namespace cargomon::alerts::notify
