#pragma once
// Alert delivery configuration, the `alerting:` section of the daemon config: receivers
// and the route tree, shaped like Alertmanager's `receivers:` and `route:`.
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/duration.h"
#include "config/config.h"
#include "metrics/labels.h"

namespace cargomon::alerts {

struct BasicAuth {
    std::string username;
    std::string password;
};

struct HttpOptions {
    std::string url;
    std::map<std::string, std::string> headers;
    std::string bearer_token;
    std::optional<BasicAuth> basic_auth;
    Millis timeout{10'000};
};

struct WebhookConfig {
    HttpOptions http;
    std::string hmac_secret;  // empty: no X-Cargomon-Signature header
    std::size_t max_alerts = 0;  // 0: all alerts of the group in one body
};

struct SlackConfig {
    HttpOptions http;  // http.url is the incoming webhook URL
    std::string channel;  // optional override of the webhook's channel
};

struct AlertmanagerConfig {
    HttpOptions http;  // base URL; alerts go to <url>/api/v2/alerts
};

using IntegrationConfig = std::variant<WebhookConfig, SlackConfig, AlertmanagerConfig>;

struct IntegrationSpec {
    IntegrationConfig config;
    bool send_resolved = true;
};

struct ReceiverConfig {
    std::string name;
    std::vector<IntegrationSpec> integrations;  // none: notifications are discarded
};

// A node of the route tree. Children inherit receiver, group_by and timings unless set.
struct Route {
    std::string receiver;
    std::vector<metrics::Matcher> matchers;  // all must match (metrics/labels.h)
    std::vector<std::string> group_by;
    bool group_by_all = false;  // group_by: ['...']
    Millis group_wait{30'000};
    Millis group_interval{300'000};
    Millis repeat_interval{14'400'000};
    bool continue_matching = false;  // `continue:`
    std::vector<Route> routes;
    std::string key;  // identity in group keys: "{}/{severity=\"page\"}/1"
};

struct DeliveryOptions {
    Millis max_age{86'400'000};       // undelivered this long: dropped
    Millis min_backoff{1'000};
    Millis max_backoff{300'000};
};

struct AlertingConfig {
    std::string external_url;  // cargomon's own address, in payloads and links
    Millis resolve_timeout{300'000};  // a firing alert not re-sent this long is resolved
    Route route;
    std::vector<ReceiverConfig> receivers;
    DeliveryOptions delivery;

    const ReceiverConfig* receiver(std::string_view name) const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> process_env(const std::string& name);

// The keys parse_alerting accepts, by place ("alerting.route" also covers its child routes).
std::vector<config::KnownKeys> alerting_known_keys();

// Validates the whole section; errors read "file:line:col: message" and never quote a
// secret. Relative `*_file` paths are taken as given (relative to the working directory).
std::variant<AlertingConfig, std::vector<std::string>> parse_alerting(const YAML::Node& node,
                                                                     std::string_view file_name,
                                                                     const EnvLookup& env = process_env);

}  // namespace cargomon::alerts
