#pragma once
// Where notifications go: an Integration renders a group's alerts into the body its
// peer expects and posts a stored body over HTTP. Rendering happens once, when the
// outbox takes the notification; sending may happen many times. One file per
// integration, as Alertmanager's notify/<integration>/: receivers/webhook.h (Alertmanager
// webhook v4), receivers/slack.h (Block Kit), receivers/alertmanager.h (API v2); what
// they share, posting and reading the answer, is receivers/http_poster.h.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert.h"
#include "config/alerting.h"

namespace cargomon::alerts::notify {

// One group's notification for one receiver.
struct Notification {
    std::string receiver;
    std::string group_key;
    metrics::Labels group_labels;
    std::vector<Alert> alerts;  // firing ones and resolved ones (ends_at set)
    std::string external_url;
    Millis group_interval{300'000};  // how often the group is re-evaluated (Alertmanager's endsAt hint)
};

bool is_resolved(const Alert& alert);
// Whether any alert of the notification still fires (the group's status).
bool any_firing(const Notification& notification);

struct SendResult {
    enum class Outcome { delivered, retry, failed };
    Outcome outcome = Outcome::failed;
    std::string error;  // for logs: status or connection problem, never the URL or a secret
};

class Integration {
public:
    explicit Integration(bool send_resolved) : send_resolved_(send_resolved) {}
    virtual ~Integration() = default;
    virtual std::string_view kind() const = 0;  // "webhook", "slack", "alertmanager"
    virtual std::string render(const Notification& notification, SystemTime now) const = 0;
    virtual SendResult send(const std::string& body, const std::string& idempotency_key, SystemTime now) = 0;
    // Makes a send() in flight on another thread return now (as a retry); for stopping.
    virtual void cancel() = 0;
    // Alertmanager forgets an alert whose endsAt passes, so it gets every group_interval
    // flush while firing instead of waiting for repeat_interval.
    virtual bool resend_while_firing() const { return false; }
    bool send_resolved() const { return send_resolved_; }

private:
    bool send_resolved_;
};

// The integration a receiver's config entry describes.
std::unique_ptr<Integration> make_integration(const config::IntegrationSpec& spec);

// The integrations of every configured receiver, in configuration order.
class Receivers {
public:
    explicit Receivers(const config::AlertingConfig& config);
    // Empty when the receiver is unknown or has no integrations.
    const std::vector<std::unique_ptr<Integration>>& integrations(std::string_view receiver) const;
    Integration* find(std::string_view receiver, std::size_t index) const;
    using ByName = std::map<std::string, std::vector<std::unique_ptr<Integration>>, std::less<>>;
    const ByName& all() const { return by_name_; }

private:
    ByName by_name_;
};

}  // namespace cargomon::alerts::notify
