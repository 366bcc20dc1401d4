#pragma once
// The `alerting:` section of the config file as values: receivers and the route tree,
// shaped like Alertmanager's `receivers:` and `route:`, and the outbox's delivery limits.
// Read with the rest of the file by config::load_config/parse_config into
// Config::alerting (config/config.h), so it is validated, positioned in errors and
// compared on reload like every other key. Values are final: ${ENV} is expanded, `*_file`
// secrets are read (relative paths against the config file's folder), matchers compiled.
// alerts/notify takes these types as they are, as config::Route, config::AlertingConfig...
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/duration.h"
#include "common/http_client.h"
#include "metrics/labels.h"
#include "metrics/relabel.h"

namespace cargomon::config {

// Where and how an integration posts: `bearer_token` is client.authorization (Bearer),
// `basic_auth` client.basic_auth (never both), `timeout` both of client's timeouts.
struct HttpOptions {
    std::string url;  // may hold a token (Slack's do): a secret
    std::map<std::string, std::string> headers;
    HttpClientConfig client{.connect_timeout = Millis{10'000}, .timeout = Millis{10'000}};
    bool operator==(const HttpOptions&) const = default;
};

struct WebhookConfig {
    HttpOptions http;
    std::string hmac_secret;     // secret; empty: no X-Cargomon-Signature header
    std::size_t max_alerts = 0;  // 0: all alerts of the group in one body
    bool operator==(const WebhookConfig&) const = default;
};

struct SlackConfig {
    HttpOptions http;     // http.url is the incoming webhook URL
    std::string channel;  // optional override of the webhook's channel
    bool operator==(const SlackConfig&) const = default;
};

struct AlertmanagerConfig {
    HttpOptions http;  // base URL without a trailing slash; alerts go to <url>/api/v2/alerts
    bool operator==(const AlertmanagerConfig&) const = default;
};

using IntegrationConfig = std::variant<WebhookConfig, SlackConfig, AlertmanagerConfig>;

struct IntegrationSpec {
    IntegrationConfig config;
    bool send_resolved = true;
    bool operator==(const IntegrationSpec&) const = default;
};

struct ReceiverConfig {
    std::string name;
    std::vector<IntegrationSpec> integrations;  // none: notifications are discarded
    bool operator==(const ReceiverConfig&) const = default;
};

// A node of the route tree. Children inherit receiver, group_by and timings unless set.
struct Route {
    std::string receiver;
    std::vector<metrics::Matcher> matchers;  // all must match (metrics/labels.h)
    std::vector<std::string> group_by;       // sorted, unique
    bool group_by_all = false;               // group_by: ['...']
    Millis group_wait{30'000};
    Millis group_interval{300'000};
    Millis repeat_interval{14'400'000};
    bool continue_matching = false;  // `continue:`
    std::vector<Route> routes;
    std::string key;  // identity in group keys: "{}/{severity=\"page\"}/1"
    bool operator==(const Route&) const = default;
};

struct DeliveryOptions {
    Millis max_age{86'400'000};  // undelivered this long: dropped
    Millis min_backoff{1'000};
    Millis max_backoff{300'000};
    bool operator==(const DeliveryOptions&) const = default;
};

// Without an `alerting:` section: a root route with no receiver and no receivers, so
// alerts are evaluated and shown but notify no one.
struct AlertingConfig {
    std::string external_url;          // cargomon's own address, in payloads and links
    Millis resolve_timeout{300'000};   // a firing alert not re-sent this long is resolved
    Route route;                       // every receiver it names exists
    std::vector<ReceiverConfig> receivers;  // names unique
    DeliveryOptions delivery;
    // Applied in order to each alert (after global.external_labels) before it is routed:
    // an alert they drop notifies no one. As Prometheus' alerting.alert_relabel_configs.
    std::vector<metrics::RelabelConfig> alert_relabel_configs;

    // The receiver named `name`, or null.
    const ReceiverConfig* receiver(std::string_view name) const;
    bool operator==(const AlertingConfig&) const = default;
};

}  // namespace cargomon::config
