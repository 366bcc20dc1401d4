#pragma once
// Where notifications go: an Integration renders a group's alerts into the body its
// peer expects (Alertmanager webhook v4, Slack Block Kit, Alertmanager API v2) and posts
// a stored body over HTTP. Rendering happens once, when the outbox takes the
// notification; sending may happen many times.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert.h"
#include "alerts/notify/notify_config.h"

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

std::unique_ptr<Integration> make_integration(const IntegrationSpec& spec);

// The integrations of every configured receiver, in configuration order.
class Receivers {
public:
    explicit Receivers(const AlertingConfig& config);
    // Empty when the receiver is unknown or has no integrations.
    const std::vector<std::unique_ptr<Integration>>& integrations(std::string_view receiver) const;
    Integration* find(std::string_view receiver, std::size_t index) const;
    using ByName = std::map<std::string, std::vector<std::unique_ptr<Integration>>, std::less<>>;
    const ByName& all() const { return by_name_; }

private:
    ByName by_name_;
};

// The bodies, exposed for tests and `rules preview`.
// Labels as a JSON object, the shape every Prometheus and Alertmanager API uses.
void write_labels(rapidjson::Writer<rapidjson::StringBuffer>& w, const metrics::Labels& labels);

std::string render_webhook_body(const Notification& notification, std::size_t max_alerts);
std::string render_slack_body(const Notification& notification, const std::string& channel);
std::string render_alertmanager_body(const Notification& notification, SystemTime now);

// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">", the X-Cargomon-Signature value.
std::string webhook_signature(const std::string& secret, long long unix_seconds, const std::string& body);

}  // namespace cargomon::alerts::notify
