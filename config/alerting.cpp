// Reads the `alerting:` section through the config file's own YamlReader: positioned
// ConfigErrors, ${ENV} from config::Environment, unknown keys with suggestions. Values
// that may be secrets (URLs, tokens, passwords) are never quoted in errors.
#include "config/alerting.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "config/config.h"
#include "config/detail/sections.h"
#include "config/yaml_reader.h"

namespace cargomon::config {
namespace {

const Keys kAlertingKeys{"external_url", "resolve_timeout", "route", "receivers", "delivery", "alert_relabel_configs"};
const Keys kRelabelKeys{"source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"};
const Keys kRouteKeys{"receiver", "matchers", "group_by", "group_wait", "group_interval", "repeat_interval",
                      "continue", "routes"};
const Keys kReceiverKeys{"name", "webhook_configs", "slack_configs", "alertmanager_configs"};
const Keys kWebhookKeys{"url",        "url_file", "send_resolved", "headers",          "bearer_token", "bearer_token_file",
                        "basic_auth", "timeout",  "hmac_secret",   "hmac_secret_file", "max_alerts"};
const Keys kSlackKeys{"api_url", "api_url_file", "send_resolved", "channel", "timeout"};
const Keys kAlertmanagerKeys{"url", "send_resolved", "headers", "bearer_token", "bearer_token_file", "basic_auth",
                             "timeout"};
const Keys kBasicAuthKeys{"username", "password", "password_file"};
const Keys kDeliveryKeys{"max_age", "min_backoff", "max_backoff"};

bool valid_url(std::string_view url) {
    return (url.starts_with("http://") && url.size() > 7) || (url.starts_with("https://") && url.size() > 8);
}

class AlertingReader : public DocumentReader {
public:
    using DocumentReader::DocumentReader;

    AlertingConfig read(const YAML::Node& node) {
        AlertingConfig config;
        if (!r_.check_map(node, kAlertingKeys, "in alerting")) return config;
        if (auto n = node["external_url"]) config.external_url = r_.string(n).value_or("");
        if (auto n = node["resolve_timeout"])
            config.resolve_timeout = r_.positive_duration(n, "resolve_timeout").value_or(config.resolve_timeout);
        if (auto n = node["delivery"]) read_delivery(n, config.delivery);
        if (auto n = node["alert_relabel_configs"]) {
            if (auto items = r_.sequence(n, "a list of relabel configs"))
                for (const YAML::Node& item : *items)
                    if (auto relabel = read_relabel(item)) config.alert_relabel_configs.push_back(std::move(*relabel));
        }
        if (auto n = node["receivers"]) {
            if (auto items = r_.sequence(n, "a list of receivers")) {
                for (const YAML::Node& item : *items) {
                    auto receiver = read_receiver(item);
                    if (!receiver) continue;
                    if (!receiver->name.empty() && config.receiver(receiver->name))
                        r_.error(item["name"], "duplicate receiver name " + quote(receiver->name));
                    config.receivers.push_back(std::move(*receiver));
                }
            }
        }
        const YAML::Node route = node["route"];
        if (!route) {
            r_.error(node, "alerting: missing route");
        } else {
            read_route(route, config.route, true);
            if (route.IsMap()) check_receivers_exist(route, config.route, config, true);
        }
        return config;
    }

private:
    // `name` or `name_file`, whose content (trailing newlines removed) is the value; a
    // relative `name_file` is read from the config file's folder.
    std::optional<std::string> secret(const YAML::Node& parent, const std::string& name, bool required) {
        const YAML::Node direct = parent[name];
        const YAML::Node file = parent[name + "_file"];
        if (direct && file) {
            r_.error(file, "set either " + name + " or " + name + "_file, not both");
            return std::nullopt;
        }
        if (direct) return r_.string(direct);
        if (file) {
            std::optional<std::string> path = r_.non_empty_string(file, name + "_file");
            if (!path) return std::nullopt;
            const std::string resolved = resolve(*path);
            std::ifstream in(resolved, std::ios::binary);
            if (!in) {
                r_.error(file, "cannot read " + name + "_file " + quote(resolved) + ": " + std::strerror(errno));
                return std::nullopt;
            }
            std::ostringstream content;
            content << in.rdbuf();
            std::string value = content.str();
            while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
            return value;
        }
        if (required) r_.error(parent, "missing " + name + " (or " + name + "_file)");
        return std::string();
    }

    std::optional<HttpOptions> read_http(const YAML::Node& node, const std::string& url_key) {
        HttpOptions http;
        std::optional<std::string> url = secret(node, url_key, true);
        if (!url) return std::nullopt;
        if (!url->empty() && !valid_url(*url)) {
            // The URL may carry a token (Slack's do), so it is not quoted.
            r_.error(node[url_key] ? node[url_key] : node[url_key + "_file"],
                     url_key + ": expected an http:// or https:// URL");
        }
        http.url = *url;
        if (const YAML::Node headers = node["headers"]) {
            if (!headers.IsMap()) {
                r_.error(headers, "headers: expected a mapping of header names to values, got " +
                                      describe(headers));
            } else {
                for (const auto& kv : headers) {
                    const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
                    bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                    });
                    if (!token) r_.error(kv.first, "headers: " + quote(name) + " is not a valid header name");
                    std::optional<std::string> value = r_.string(kv.second);
                    if (value && value->find_first_of("\r\n") != std::string::npos) {
                        r_.error(kv.second, "header " + name + ": value must be one line");
                    } else if (token && value) {
                        http.headers[name] = *value;
                    }
                }
            }
        }
        if (std::optional<std::string> token = secret(node, "bearer_token", false); token && !token->empty())
            http.client.authorization = HttpAuthorization{.type = "Bearer", .credentials = *token};
        if (const YAML::Node auth = node["basic_auth"]) {
            if (r_.check_map(auth, kBasicAuthKeys, "in basic_auth")) {
                HttpBasicAuth basic;
                if (auth["username"])
                    basic.username = r_.string(auth["username"]).value_or("");
                else
                    r_.error(auth, "basic_auth: missing username");
                basic.password = secret(auth, "password", true).value_or("");
                http.client.basic_auth = basic;
            }
        }
        if (http.client.authorization && http.client.basic_auth)
            r_.error(node["basic_auth"], "set either bearer_token or basic_auth, not both");
        if (const YAML::Node t = node["timeout"])
            if (auto d = r_.positive_duration(t, "timeout")) http.client.connect_timeout = http.client.timeout = *d;
        return http;
    }

    std::optional<IntegrationSpec> read_integration(const YAML::Node& node, std::string_view kind) {
        IntegrationSpec spec;
        const std::string where = "in " + std::string(kind);
        if (kind == "webhook_configs") {
            if (!r_.check_map(node, kWebhookKeys, where)) return std::nullopt;
            WebhookConfig webhook;
            if (auto http = read_http(node, "url")) webhook.http = *http;
            webhook.hmac_secret = secret(node, "hmac_secret", false).value_or("");
            if (const YAML::Node max = node["max_alerts"]) {
                if (auto n = r_.integer(max)) {
                    if (*n < 0)
                        r_.error(max, "max_alerts must be 0 or more");
                    else
                        webhook.max_alerts = static_cast<std::size_t>(*n);
                }
            }
            spec.config = webhook;
        } else if (kind == "slack_configs") {
            if (!r_.check_map(node, kSlackKeys, where)) return std::nullopt;
            SlackConfig slack;
            if (auto http = read_http(node, "api_url")) slack.http = *http;
            if (node["channel"]) slack.channel = r_.string(node["channel"]).value_or("");
            spec.config = slack;
        } else {
            if (!r_.check_map(node, kAlertmanagerKeys, where)) return std::nullopt;
            AlertmanagerConfig am;
            if (auto http = read_http(node, "url")) am.http = *http;
            while (am.http.url.ends_with('/')) am.http.url.pop_back();
            spec.config = am;
        }
        if (const YAML::Node sr = node["send_resolved"]) spec.send_resolved = r_.boolean(sr).value_or(true);
        return spec;
    }

    std::optional<ReceiverConfig> read_receiver(const YAML::Node& node) {
        if (!r_.check_map(node, kReceiverKeys, "in a receiver")) return std::nullopt;
        ReceiverConfig receiver;
        if (!node["name"])
            r_.error(node, "receiver without a name");
        else
            receiver.name = r_.non_empty_string(node["name"], "receiver name").value_or("");
        for (std::string_view kind : {"webhook_configs", "slack_configs", "alertmanager_configs"}) {
            const YAML::Node list = node[std::string(kind)];
            if (!list) continue;
            auto items = r_.sequence(list, "a list of " + std::string(kind));
            if (!items) continue;
            for (const YAML::Node& item : *items)
                if (auto spec = read_integration(item, kind)) receiver.integrations.push_back(std::move(*spec));
        }
        return receiver;
    }

    // One relabel_config, as Prometheus reads it: the action's name in any case, fields
    // checked against the action (metrics::make_relabel_config), each error at its key.
    std::optional<metrics::RelabelConfig> read_relabel(const YAML::Node& node) {
        if (!r_.check_map(node, kRelabelKeys, "in a relabel config")) return std::nullopt;
        metrics::RelabelConfig config;
        const std::size_t errors = r_.error_count();
        if (const YAML::Node n = node["action"]) {
            if (auto text = r_.string(n)) {
                std::string lower = *text;
                std::transform(lower.begin(), lower.end(), lower.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                if (auto action = metrics::relabel_action(lower))
                    config.action = *action;
                else
                    r_.error(n, "unknown relabel action " + quote(*text) +
                                    " (expected replace, keep, drop, keepequal, dropequal, hashmod, labelmap, "
                                    "labeldrop or labelkeep)");
            }
        }
        if (const YAML::Node n = node["source_labels"])
            if (auto names = r_.strings(n, "a list of label names")) config.source_labels = std::move(*names);
        if (const YAML::Node n = node["separator"]) config.separator = r_.string(n).value_or(config.separator);
        if (const YAML::Node n = node["regex"]) config.regex = r_.string(n).value_or(config.regex);
        if (const YAML::Node n = node["modulus"])
            if (auto m = r_.integer_in(n, "modulus", 1, std::numeric_limits<long long>::max()))
                config.modulus = static_cast<std::uint64_t>(*m);
        if (const YAML::Node n = node["target_label"]) config.target_label = r_.string(n).value_or("");
        if (const YAML::Node n = node["replacement"]) config.replacement = r_.string(n).value_or(config.replacement);
        if (r_.error_count() != errors) return std::nullopt;
        auto made = metrics::make_relabel_config(std::move(config));
        if (auto* error = std::get_if<metrics::RelabelError>(&made)) {
            const YAML::Node field = error->field.empty() ? node : node[error->field];
            r_.error(field.IsDefined() ? field : node, error->message);
            return std::nullopt;
        }
        return std::get<metrics::RelabelConfig>(std::move(made));
    }

    void read_route(const YAML::Node& node, Route& route, bool root) {
        if (!r_.check_map(node, kRouteKeys, root ? "in route" : "in a child route")) return;
        if (const YAML::Node n = node["receiver"]) route.receiver = r_.string(n).value_or("");
        if (const YAML::Node n = node["matchers"]) {
            if (root) r_.error(n, "the root route must not have matchers: it receives every alert");
            route.matchers = r_.matchers(n);
        }
        if (const YAML::Node n = node["group_by"]) read_group_by(n, route);
        if (const YAML::Node n = node["group_wait"]) route.group_wait = r_.duration(n).value_or(route.group_wait);
        if (const YAML::Node n = node["group_interval"])
            route.group_interval = r_.positive_duration(n, "group_interval").value_or(route.group_interval);
        if (const YAML::Node n = node["repeat_interval"])
            route.repeat_interval = r_.positive_duration(n, "repeat_interval").value_or(route.repeat_interval);
        if (const YAML::Node n = node["continue"]) {
            if (root) r_.error(n, "the root route cannot have continue");
            route.continue_matching = r_.boolean(n).value_or(false);
        }
        std::string matchers = "{";
        for (std::size_t i = 0; i < route.matchers.size(); ++i)
            matchers += (i ? "," : "") + route.matchers[i].to_string();
        matchers += "}";
        route.key = root ? matchers : route.key + "/" + matchers;
        if (const YAML::Node n = node["routes"]) {
            auto items = r_.sequence(n, "a list of routes");
            if (!items) return;
            for (std::size_t i = 0; i < items->size(); ++i) {
                Route child;
                child.receiver = route.receiver;
                child.group_by = route.group_by;
                child.group_by_all = route.group_by_all;
                child.group_wait = route.group_wait;
                child.group_interval = route.group_interval;
                child.repeat_interval = route.repeat_interval;
                child.key = route.key;
                read_route((*items)[i], child, false);
                child.key += "/" + std::to_string(i);
                route.routes.push_back(std::move(child));
            }
        }
    }

    void read_group_by(const YAML::Node& node, Route& route) {
        route.group_by.clear();
        route.group_by_all = false;
        auto items = r_.sequence(node, "a list of label names");
        if (!items) return;
        for (const YAML::Node& item : *items) {
            std::optional<std::string> label = r_.string(item);
            if (!label) continue;
            if (*label == "...")
                route.group_by_all = true;
            else if (!metrics::is_label_name(*label))
                r_.error(item, "group_by: " + quote(*label) + " is not a label name");
            else
                route.group_by.push_back(*label);
        }
        if (route.group_by_all && !route.group_by.empty())
            r_.error(node, "group_by: '...' groups by all labels and cannot be combined with label names");
        std::sort(route.group_by.begin(), route.group_by.end());
        route.group_by.erase(std::unique(route.group_by.begin(), route.group_by.end()), route.group_by.end());
    }

    // An inherited receiver is reported once, where it is written.
    void check_receivers_exist(const YAML::Node& node, const Route& route, const AlertingConfig& config, bool root) {
        const YAML::Node at = node["receiver"] ? node["receiver"] : node;
        const bool own = root || node["receiver"];
        if (own && route.receiver.empty())
            r_.error(at, "route has no receiver (set one here or on a parent route)");
        else if (own && !config.receiver(route.receiver))
            r_.error(at, "route uses undefined receiver " + quote(route.receiver));
        const YAML::Node children = node["routes"];
        for (std::size_t i = 0; i < route.routes.size(); ++i)
            check_receivers_exist(children[i], route.routes[i], config, false);
    }

    void read_delivery(const YAML::Node& node, DeliveryOptions& delivery) {
        if (!r_.check_map(node, kDeliveryKeys, "in delivery")) return;
        if (const YAML::Node n = node["max_age"])
            delivery.max_age = r_.positive_duration(n, "max_age").value_or(delivery.max_age);
        if (const YAML::Node n = node["min_backoff"])
            delivery.min_backoff = r_.positive_duration(n, "min_backoff").value_or(delivery.min_backoff);
        if (const YAML::Node n = node["max_backoff"])
            delivery.max_backoff = r_.positive_duration(n, "max_backoff").value_or(delivery.max_backoff);
        if (delivery.max_backoff < delivery.min_backoff) r_.error(node, "delivery: max_backoff is below min_backoff");
    }
};

}  // namespace

const ReceiverConfig* AlertingConfig::receiver(std::string_view name) const {
    for (const ReceiverConfig& r : receivers)
        if (r.name == name) return &r;
    return nullptr;
}

AlertingConfig detail::read_alerting(YamlReader& reader, const YAML::Node& node, const std::filesystem::path& dir) {
    return AlertingReader(reader, dir).read(node);
}

AlertingResult parse_alerting(std::string_view yaml_text, std::string_view file_name, const Environment& env) {
    return read_document<AlertingConfig>(
        yaml_text, file_name, env, [](YamlReader& reader, const YAML::Node& root, const std::filesystem::path& dir) {
            return detail::read_alerting(reader, root, dir);
        });
}

std::vector<KnownKeys> alerting_known_keys() {
    return {{"alerting", kAlertingKeys},
            {"alerting.route", kRouteKeys},
            {"alerting.receivers[]", kReceiverKeys},
            {"alerting.receivers[].webhook_configs[]", kWebhookKeys},
            {"alerting.receivers[].slack_configs[]", kSlackKeys},
            {"alerting.receivers[].alertmanager_configs[]", kAlertmanagerKeys},
            {"alerting.receivers[].*_configs[].basic_auth", kBasicAuthKeys},
            {"alerting.alert_relabel_configs[]", kRelabelKeys},
            {"alerting.delivery", kDeliveryKeys}};
}

}  // namespace cargomon::config
