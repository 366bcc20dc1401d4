#include "alerts/notify/notify_config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "common/text.h"
#include "config/yaml_reader.h"

namespace cargomon::alerts {
namespace {

using Keys = std::vector<std::string_view>;
const Keys kAlertingKeys{"external_url", "resolve_timeout", "route", "receivers", "delivery"};
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

// Collects positioned errors so one pass reports everything wrong with the section.
class Reader {
public:
    Reader(std::string_view file, const EnvLookup& env) : file_(file), env_(env) {}

    void error(const YAML::Node& at, const std::string& message) {
        const YAML::Mark mark = at.Mark();
        if (mark.is_null()) {
            errors_.push_back(file_ + ": " + message);
        } else {
            errors_.push_back(file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) +
                              ": " + message);
        }
    }
    std::vector<std::string> take_errors() { return std::move(errors_); }
    bool ok() const { return errors_.empty(); }

    bool check_map(const YAML::Node& node, const Keys& allowed, std::string_view where) {
        if (!node.IsMap()) {
            error(node, std::string("expected a mapping ") + std::string(where));
            return false;
        }
        std::set<std::string> seen;
        for (const auto& kv : node) {
            const std::string key = kv.first.Scalar();
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                error(kv.first, "unknown key " + quoted(key) + " " + std::string(where));
            } else if (!seen.insert(key).second) {
                error(kv.first, "duplicate key " + quoted(key) + " " + std::string(where));
            }
        }
        return true;
    }

    // The expanded text of a scalar. Messages never quote the value: it may be a secret.
    std::optional<std::string> string(const YAML::Node& node, std::string_view name) {
        if (!node.IsScalar()) {
            error(node, std::string(name) + ": expected a string");
            return std::nullopt;
        }
        return expand(node, node.Scalar(), name);
    }

    // `name` or `name_file` (whose content, trailing newline removed, is the value).
    std::optional<std::string> secret(const YAML::Node& parent, const std::string& name, bool required) {
        const YAML::Node direct = parent[name];
        const YAML::Node file = parent[name + "_file"];
        if (direct && file) {
            error(file, "set either " + name + " or " + name + "_file, not both");
            return std::nullopt;
        }
        if (direct) return string(direct, name);
        if (file) {
            std::optional<std::string> path = string(file, name + "_file");
            if (!path) return std::nullopt;
            std::ifstream in(*path, std::ios::binary);
            if (!in) {
                error(file, name + "_file: cannot read " + quoted(*path));
                return std::nullopt;
            }
            std::stringstream content;
            content << in.rdbuf();
            std::string value = content.str();
            while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
            return value;
        }
        if (required) error(parent, "missing " + name + " (or " + name + "_file)");
        return std::string();
    }

    std::optional<Millis> duration(const YAML::Node& node, std::string_view name, bool positive) {
        if (!node.IsScalar()) {
            error(node, std::string(name) + ": expected a duration like 30s or 5m");
            return std::nullopt;
        }
        std::string why;
        std::optional<Millis> d = parse_duration(node.Scalar(), &why);
        if (!d) {
            error(node, std::string(name) + ": " + quoted(node.Scalar()) + " is not a duration (" + why + ")");
        } else if (positive && d->count() <= 0) {
            error(node, std::string(name) + " must be greater than 0");
            return std::nullopt;
        }
        return d;
    }

    std::optional<bool> boolean(const YAML::Node& node, std::string_view name) {
        bool value = false;
        if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
            error(node, std::string(name) + ": expected true or false");
            return std::nullopt;
        }
        return value;
    }

    std::optional<std::vector<YAML::Node>> list(const YAML::Node& node, std::string_view name) {
        if (!node.IsSequence()) {
            error(node, std::string(name) + ": expected a list");
            return std::nullopt;
        }
        return std::vector<YAML::Node>(node.begin(), node.end());
    }

private:
    // The loader's own expansion (${VAR}, ${VAR:-fallback}, $$), so the alerting section
    // reads values exactly as the rest of the file.
    std::optional<std::string> expand(const YAML::Node& at, std::string_view text, std::string_view name) {
        std::string why;
        std::optional<std::string> out = config::detail::expand_env(text, env_, &why);
        if (!out) error(at, std::string(name) + ": " + why);
        return out;
    }

    std::string file_;
    const EnvLookup& env_;
    std::vector<std::string> errors_;
};

bool valid_url(std::string_view url) {
    return (url.starts_with("http://") && url.size() > 7) || (url.starts_with("https://") && url.size() > 8);
}

std::optional<HttpOptions> read_http(Reader& r, const YAML::Node& node, const std::string& url_key) {
    HttpOptions http;
    std::optional<std::string> url = r.secret(node, url_key, true);
    if (!url) return std::nullopt;
    if (!url->empty() && !valid_url(*url)) {
        // The URL may carry a token (Slack's do), so it is not quoted.
        r.error(node[url_key] ? node[url_key] : node[url_key + "_file"], url_key + ": expected an http:// or https:// URL");
    }
    http.url = *url;
    if (const YAML::Node headers = node["headers"]) {
        if (!headers.IsMap()) {
            r.error(headers, "headers: expected a mapping of header names to values");
        } else {
            for (const auto& kv : headers) {
                const std::string name = kv.first.Scalar();
                bool token = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                });
                if (!token) r.error(kv.first, "headers: " + quoted(name) + " is not a valid header name");
                std::optional<std::string> value = r.string(kv.second, "header " + name);
                if (value && value->find_first_of("\r\n") != std::string::npos) {
                    r.error(kv.second, "header " + name + ": value must be one line");
                } else if (token && value) {
                    http.headers[name] = *value;
                }
            }
        }
    }
    if (std::optional<std::string> token = r.secret(node, "bearer_token", false)) http.bearer_token = *token;
    if (const YAML::Node auth = node["basic_auth"]) {
        if (r.check_map(auth, kBasicAuthKeys, "in basic_auth")) {
            BasicAuth basic;
            if (auth["username"]) basic.username = r.string(auth["username"], "username").value_or("");
            else r.error(auth, "basic_auth: missing username");
            basic.password = r.secret(auth, "password", true).value_or("");
            http.basic_auth = basic;
        }
    }
    if (!http.bearer_token.empty() && http.basic_auth) {
        r.error(node["basic_auth"], "set either bearer_token or basic_auth, not both");
    }
    if (const YAML::Node t = node["timeout"]) {
        if (auto d = r.duration(t, "timeout", true)) http.timeout = *d;
    }
    return http;
}

std::optional<IntegrationSpec> read_integration(Reader& r, const YAML::Node& node, std::string_view kind) {
    IntegrationSpec spec;
    const std::string where = "in " + std::string(kind);
    if (kind == "webhook_configs") {
        if (!r.check_map(node, kWebhookKeys, where)) {
            return std::nullopt;
        }
        WebhookConfig webhook;
        if (auto http = read_http(r, node, "url")) webhook.http = *http;
        webhook.hmac_secret = r.secret(node, "hmac_secret", false).value_or("");
        if (const YAML::Node max = node["max_alerts"]) {
            long long n = -1;
            if (!max.IsScalar() || !YAML::convert<long long>::decode(max, n) || n < 0) {
                r.error(max, "max_alerts: expected a whole number >= 0");
            } else {
                webhook.max_alerts = static_cast<std::size_t>(n);
            }
        }
        spec.config = webhook;
    } else if (kind == "slack_configs") {
        if (!r.check_map(node, kSlackKeys, where)) {
            return std::nullopt;
        }
        SlackConfig slack;
        if (auto http = read_http(r, node, "api_url")) slack.http = *http;
        if (node["channel"]) slack.channel = r.string(node["channel"], "channel").value_or("");
        spec.config = slack;
    } else {
        if (!r.check_map(node, kAlertmanagerKeys, where)) {
            return std::nullopt;
        }
        AlertmanagerConfig am;
        if (auto http = read_http(r, node, "url")) am.http = *http;
        while (am.http.url.ends_with('/')) am.http.url.pop_back();
        spec.config = am;
    }
    if (const YAML::Node sr = node["send_resolved"]) spec.send_resolved = r.boolean(sr, "send_resolved").value_or(true);
    return spec;
}

std::optional<ReceiverConfig> read_receiver(Reader& r, const YAML::Node& node) {
    if (!r.check_map(node, kReceiverKeys, "in a receiver")) {
        return std::nullopt;
    }
    ReceiverConfig receiver;
    if (!node["name"]) {
        r.error(node, "receiver without a name");
    } else {
        receiver.name = r.string(node["name"], "name").value_or("");
        if (receiver.name.empty()) r.error(node["name"], "receiver name must not be empty");
    }
    for (std::string_view kind : {"webhook_configs", "slack_configs", "alertmanager_configs"}) {
        const YAML::Node list = node[std::string(kind)];
        if (!list) continue;
        auto items = r.list(list, kind);
        if (!items) continue;
        for (const YAML::Node& item : *items) {
            if (auto spec = read_integration(r, item, kind)) receiver.integrations.push_back(std::move(*spec));
        }
    }
    return receiver;
}

void read_route(Reader& r, const YAML::Node& node, Route& route, bool root) {
    if (!r.check_map(node, kRouteKeys, root ? "in route" : "in a child route")) {
        return;
    }
    if (const YAML::Node n = node["receiver"]) route.receiver = r.string(n, "receiver").value_or("");
    if (const YAML::Node n = node["matchers"]) {
        if (root) r.error(n, "the root route must not have matchers: it receives every alert");
        if (auto items = r.list(n, "matchers")) {
            for (const YAML::Node& item : *items) {
                std::optional<std::string> text = r.string(item, "matcher");
                if (!text) continue;
                auto parsed = metrics::parse_matcher(*text);
                if (auto* m = std::get_if<metrics::Matcher>(&parsed)) {
                    route.matchers.push_back(std::move(*m));
                } else {
                    r.error(item, std::get<std::string>(parsed));
                }
            }
        }
    }
    if (const YAML::Node n = node["group_by"]) {
        route.group_by.clear();
        route.group_by_all = false;
        if (auto items = r.list(n, "group_by")) {
            for (const YAML::Node& item : *items) {
                std::string label = item.IsScalar() ? item.Scalar() : "";
                if (label == "...") {
                    route.group_by_all = true;
                } else if (!metrics::is_label_name(label)) {
                    r.error(item, "group_by: " + quoted(label) + " is not a label name");
                } else {
                    route.group_by.push_back(label);
                }
            }
            if (route.group_by_all && !route.group_by.empty()) {
                r.error(n, "group_by: '...' groups by all labels and cannot be combined with label names");
            }
            std::sort(route.group_by.begin(), route.group_by.end());
            route.group_by.erase(std::unique(route.group_by.begin(), route.group_by.end()), route.group_by.end());
        }
    }
    if (const YAML::Node n = node["group_wait"]) route.group_wait = r.duration(n, "group_wait", false).value_or(route.group_wait);
    if (const YAML::Node n = node["group_interval"]) {
        route.group_interval = r.duration(n, "group_interval", true).value_or(route.group_interval);
    }
    if (const YAML::Node n = node["repeat_interval"]) {
        route.repeat_interval = r.duration(n, "repeat_interval", true).value_or(route.repeat_interval);
    }
    if (const YAML::Node n = node["continue"]) {
        if (root) r.error(n, "the root route cannot have continue");
        route.continue_matching = r.boolean(n, "continue").value_or(false);
    }
    std::string matchers = "{";
    for (std::size_t i = 0; i < route.matchers.size(); ++i) {
        matchers += (i ? "," : "") + route.matchers[i].to_string();
    }
    matchers += "}";
    route.key = root ? matchers : route.key + "/" + matchers;
    if (const YAML::Node n = node["routes"]) {
        auto items = r.list(n, "routes");
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
            read_route(r, (*items)[i], child, false);
            child.key += "/" + std::to_string(i);
            route.routes.push_back(std::move(child));
        }
    }
}

// An inherited receiver is reported once, where it is written.
void check_receivers_exist(Reader& r, const YAML::Node& node, const Route& route, const AlertingConfig& config,
                           bool root) {
    const YAML::Node at = node["receiver"] ? node["receiver"] : node;
    const bool own = root || node["receiver"];
    if (own && route.receiver.empty()) {
        r.error(at, "route has no receiver (set one here or on a parent route)");
    } else if (own && !config.receiver(route.receiver)) {
        r.error(at, "route uses undefined receiver " + quoted(route.receiver));
    }
    const YAML::Node children = node["routes"];
    for (std::size_t i = 0; i < route.routes.size(); ++i) {
        check_receivers_exist(r, children[i], route.routes[i], config, false);
    }
}

void read_delivery(Reader& r, const YAML::Node& node, DeliveryOptions& delivery) {
    if (!r.check_map(node, kDeliveryKeys, "in delivery")) return;
    if (const YAML::Node n = node["max_age"]) delivery.max_age = r.duration(n, "max_age", true).value_or(delivery.max_age);
    if (const YAML::Node n = node["min_backoff"]) {
        delivery.min_backoff = r.duration(n, "min_backoff", true).value_or(delivery.min_backoff);
    }
    if (const YAML::Node n = node["max_backoff"]) {
        delivery.max_backoff = r.duration(n, "max_backoff", true).value_or(delivery.max_backoff);
    }
    if (delivery.max_backoff < delivery.min_backoff) r.error(node, "delivery: max_backoff is below min_backoff");
}

}  // namespace

const ReceiverConfig* AlertingConfig::receiver(std::string_view name) const {
    for (const ReceiverConfig& r : receivers) {
        if (r.name == name) return &r;
    }
    return nullptr;
}

std::optional<std::string> process_env(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
}

std::vector<config::KnownKeys> alerting_known_keys() {
    return {{"alerting", kAlertingKeys},
            {"alerting.route", kRouteKeys},
            {"alerting.receivers[]", kReceiverKeys},
            {"alerting.receivers[].webhook_configs[]", kWebhookKeys},
            {"alerting.receivers[].slack_configs[]", kSlackKeys},
            {"alerting.receivers[].alertmanager_configs[]", kAlertmanagerKeys},
            {"alerting.receivers[].*_configs[].basic_auth", kBasicAuthKeys},
            {"alerting.delivery", kDeliveryKeys}};
}

std::variant<AlertingConfig, std::vector<std::string>> parse_alerting(const YAML::Node& node,
                                                                     std::string_view file_name,
                                                                     const EnvLookup& env) {
    Reader r(file_name, env);
    AlertingConfig config;
    if (!r.check_map(node, kAlertingKeys, "in alerting")) {
        return r.take_errors();
    }
    if (const YAML::Node n = node["external_url"]) config.external_url = r.string(n, "external_url").value_or("");
    if (const YAML::Node n = node["resolve_timeout"]) {
        config.resolve_timeout = r.duration(n, "resolve_timeout", true).value_or(config.resolve_timeout);
    }
    if (const YAML::Node n = node["delivery"]) read_delivery(r, n, config.delivery);
    if (const YAML::Node n = node["receivers"]) {
        if (auto items = r.list(n, "receivers")) {
            for (const YAML::Node& item : *items) {
                auto receiver = read_receiver(r, item);
                if (!receiver) continue;
                if (!receiver->name.empty() && config.receiver(receiver->name)) {
                    r.error(item["name"], "duplicate receiver name " + quoted(receiver->name));
                }
                config.receivers.push_back(std::move(*receiver));
            }
        }
    }
    const YAML::Node route = node["route"];
    if (!route) {
        r.error(node, "alerting: missing route");
    } else {
        read_route(r, route, config.route, true);
        if (route.IsMap()) check_receivers_exist(r, route, config.route, config, true);
    }
    if (!r.ok()) return r.take_errors();
    return config;
}

}  // namespace cargomon::alerts
