// Turns one YAML document into a Config: every key is read through YamlReader, so a
// single pass reports every error; cross-checks (names, discovery, token) come last.
#include <re2/re2.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/text.h"
#include "config/config.h"
#include "config/detail/sections.h"
#include "config/yaml_reader.h"
#include "metrics/labels.h"
#include "metrics/names.h"

namespace cargomon::config {
namespace {

// `alerting` (routes, receivers, delivery) is read in config/alerting.cpp.
const Keys kTopKeys{"api_url",  "token",      "token_file", "workspace_uuid", "global", "client",
                    "defaults", "collectors", "rule_files", "alerting",       "actions"};
const Keys kGlobalKeys{"external_labels"};
const Keys kClientKeys{"timeout",          "connect_timeout",    "max_in_flight",
                       "rate_limit",       "retry",              "max_answer_bytes",
                       "max_compressed_answer_bytes",            "max_download_bytes",
                       "max_compressed_download_bytes"};
const Keys kRetryKeys{"max_attempts", "initial_backoff", "max_backoff", "budget"};
const Keys kScheduleKeys{"interval", "timeout", "jitter", "max_staleness", "max_series"};
const Keys kKindNames{"discovery", "run_counts", "run_metrics", "batches", "credits", "subscription", "durations", "query"};
// The keys each kind adds to name, kind and the schedule; in CollectorKind order.
const std::vector<Keys> kKindKeys{
    {"include", "exclude"}, {"windows", "strategy", "statuses", "ratios"},
    {"scope", "window", "strategy"}, {"window", "limit", "strategy"},
    {"window", "group_by"}, {"burn_window"}, {"window", "baseline", "limit"},
    {"sql", "metrics", "counter_max_staleness"},
};
const Keys kMetricKeys{"name", "help", "type", "value", "labels", "const_labels"};
const Keys kCreditDimensions{"workflow_uuid", "connector_uuid", "integration_slug", "model_uuid", "agent_uuid"};

// RE2, as every pattern in cargomon: linear time whatever the input.
const re2::RE2 kCollectorName{"[A-Za-z0-9_.-]+"};
const re2::RE2 kUuid{"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"};

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The base URL without a trailing slash, or the reason it is unusable. The URL itself
// stays out of the message: it may carry credentials.
std::string normalize_api_url(std::string& url) {
    std::size_t scheme_end = url.find("://");
    std::string_view scheme = scheme_end == std::string::npos ? "" : std::string_view(url).substr(0, scheme_end);
    if (scheme != "http" && scheme != "https") return "must be an http:// or https:// URL";
    std::size_t host = scheme_end + 3;
    if (url.size() == host || url[host] == '/') return "has no host";
    while (url.back() == '/') url.pop_back();
    if (url.find_first_of(" \t\r\n") != std::string::npos) return "must not contain whitespace";
    if (ends_with(url, "/v1")) return "must not end in /v1 (cargomon adds it to every path)";
    return "";
}

class Loader : public DocumentReader {
public:
    using DocumentReader::DocumentReader;

    Config load(const YAML::Node& document) {
        Config c;
        // An empty file is an empty mapping: all defaults.
        const std::optional<YAML::Node> top = r_.top_level(document, kTopKeys);
        if (!top) return c;
        const YAML::Node& root = *top;
        if (auto url = root["api_url"]) read_api_url(url, c);
        if (auto uuid = root["workspace_uuid"]) read_workspace_uuid(uuid, c);
        if (auto global = root["global"]) read_global(global, c.global);
        if (auto client = root["client"]) read_client(client, c.client);
        if (auto defaults = root["defaults"]; defaults && r_.check_map(defaults, kScheduleKeys, "in defaults")) {
            read_schedule(defaults, c.defaults, false);
            defaults_timeout_set_ = bool(defaults["timeout"]);
        }
        read_collectors(root["collectors"], c);
        if (auto globs = root["rule_files"]) read_rule_files(globs, c);
        if (auto alerting = root["alerting"]) c.alerting = detail::read_alerting(r_, alerting, dir_);
        if (auto actions = root["actions"]) c.actions = detail::read_actions(r_, actions);
        read_token(root, c);
        return c;
    }

private:
    void read_api_url(const YAML::Node& node, Config& c) {
        auto url = r_.string(node);
        if (!url) return;
        if (std::string why = normalize_api_url(*url); !why.empty()) return r_.error(node, "api_url " + why);
        c.api_url = *url;
    }

    void read_workspace_uuid(const YAML::Node& node, Config& c) {
        auto uuid = r_.string(node);
        if (!uuid) return;
        if (!re2::RE2::FullMatch(*uuid, kUuid))
            return r_.error(node, "workspace_uuid " + quote(*uuid) + " is not a UUID (8-4-4-4-12 hex digits)");
        c.workspace_uuid = *uuid;
    }

    void read_global(const YAML::Node& node, GlobalConfig& global) {
        if (!r_.check_map(node, kGlobalKeys, "in global")) return;
        const YAML::Node labels = node["external_labels"];
        if (!labels) return;
        auto entries = r_.mapping(labels, "a mapping of label names to values", "a label name");
        if (!entries) return;
        for (const auto& [key, value] : *entries) {
            auto name = r_.string(key);
            auto text = r_.string(value);
            if (!name || !text) continue;
            if (!metrics::is_valid_label_name(*name))
                r_.error(key, "external label " + quote(*name) +
                                  " is not a label name (letters, digits and _, not starting with a digit or __)");
            else if (text->empty())
                r_.error(value, "external label " + quote(*name) + " has an empty value (leave the label out instead)");
            else if (metrics::find_label(global.external_labels, *name))
                r_.error(key, "duplicate external label " + quote(*name));
            else
                metrics::set_label(global.external_labels, *name, *text);
        }
    }

    void read_client(const YAML::Node& node, ClientConfig& client) {
        if (!r_.check_map(node, kClientKeys, "in client")) return;
        if (auto n = node["timeout"])
            if (auto d = r_.positive_duration(n, "timeout")) client.timeout = *d;
        if (auto n = node["connect_timeout"])
            if (auto d = r_.positive_duration(n, "connect_timeout")) client.connect_timeout = *d;
        if (client.connect_timeout > client.timeout)
            r_.error(node["connect_timeout"] ? node["connect_timeout"] : node["timeout"],
                     "connect_timeout (" + format_duration(client.connect_timeout) + ") must not exceed timeout (" +
                         format_duration(client.timeout) + ")");
        if (auto n = node["max_in_flight"])
            if (auto v = r_.integer_in(n, "max_in_flight", 1, 64)) client.max_in_flight = static_cast<int>(*v);
        if (auto n = node["rate_limit"])
            if (auto v = r_.number(n)) {
                if (*v > 0)
                    client.rate_limit = *v;
                else
                    r_.error(n, "rate_limit must be greater than 0");
            }
        if (auto n = node["retry"]) read_retry(n, client.retry);
        // From 1KiB: an error answer's errorMessage must fit. Up to 1TiB: past it a typo.
        constexpr std::uint64_t kMin = 1 << 10, kMax = std::uint64_t{1} << 40;
        const std::pair<const char*, std::uint64_t ClientConfig::*> sizes[] = {
            {"max_answer_bytes", &ClientConfig::max_answer_bytes},
            {"max_compressed_answer_bytes", &ClientConfig::max_compressed_answer_bytes},
            {"max_download_bytes", &ClientConfig::max_download_bytes},
            {"max_compressed_download_bytes", &ClientConfig::max_compressed_download_bytes},
        };
        for (auto [key, field] : sizes)
            if (auto n = node[key])
                if (auto v = r_.byte_size(n, key, kMin, kMax)) client.*field = *v;
    }

    void read_retry(const YAML::Node& node, RetryConfig& retry) {
        if (!r_.check_map(node, kRetryKeys, "in client.retry")) return;
        if (auto n = node["max_attempts"])
            if (auto v = r_.integer_in(n, "max_attempts", 1, 100)) retry.max_attempts = static_cast<int>(*v);
        if (auto n = node["initial_backoff"])
            if (auto d = r_.positive_duration(n, "initial_backoff")) retry.initial_backoff = *d;
        if (auto n = node["max_backoff"])
            if (auto d = r_.positive_duration(n, "max_backoff")) retry.max_backoff = *d;
        if (retry.max_backoff < retry.initial_backoff)
            r_.error(node["max_backoff"] ? node["max_backoff"] : node["initial_backoff"],
                     "max_backoff (" + format_duration(retry.max_backoff) +
                         ") must not be less than initial_backoff (" + format_duration(retry.initial_backoff) + ")");
        if (auto n = node["budget"])
            if (auto d = r_.duration(n)) retry.budget = *d;
    }

    // Reads the schedule keys present in `node` over `s`; unknown keys are the caller's to report.
    // A timeout longer than the interval is reported where either was set, so a collector
    // that sets neither does not repeat an error of `defaults`. `timeout_set`: a timeout
    // was written (here, or in the defaults `s` came from); without one the timeout is the
    // smaller of 30 s and the interval, so a short interval needs no timeout of its own.
    void read_schedule(const YAML::Node& node, Schedule& s, bool timeout_set) {
        auto interval = node["interval"];
        auto timeout = node["timeout"];
        if (interval)
            if (auto d = r_.positive_duration(interval, "interval")) s.interval = *d;
        if (timeout)
            if (auto d = r_.positive_duration(timeout, "timeout")) s.timeout = *d;
        if (!timeout && !timeout_set) s.timeout = std::min(Schedule{}.timeout, s.interval);
        if ((interval || timeout) && s.timeout > s.interval)
            r_.error(timeout ? timeout : interval, "timeout (" + format_duration(s.timeout) +
                                                       ") must not exceed interval (" + format_duration(s.interval) +
                                                       ")");
        if (auto n = node["jitter"])
            if (auto v = r_.number(n)) {
                if (*v >= 0 && *v <= 1)
                    s.jitter = *v;
                else
                    r_.error(n, "jitter must be between 0 and 1, got " + n.Scalar());
            }
        if (auto n = node["max_staleness"])
            if (auto d = r_.duration(n)) s.max_staleness = *d;
        if (auto n = node["max_series"])
            if (auto v = r_.integer_in(n, "max_series", 1, 10'000'000)) s.max_series = static_cast<std::size_t>(*v);
    }

    void read_collectors(const YAML::Node& node, Config& c) {
        if (!node) {
            c.collectors = {{"discovery", c.defaults, DiscoverySpec{}},
                            {"runs", c.defaults, RunCountsSpec{}},
                            {"nodes", c.defaults, RunMetricsSpec{}},
                            {"batches", c.defaults, BatchesSpec{}},
                            {"credits", c.defaults, CreditsSpec{}},
                            {"subscription", c.defaults, SubscriptionSpec{}},
                            {"durations", c.defaults, DurationsSpec{}}};
            return;
        }
        auto items = r_.sequence(node, "a list of collectors");
        if (!items) return;
        if (items->empty())
            return r_.error(node, "collectors must not be empty (leave the key out for the default set)");
        std::map<std::string, int> name_lines;
        int discovery_line = 0;
        for (const YAML::Node& item : *items) {
            auto collector = read_collector(item, c.defaults);
            if (!collector) continue;
            if (!collector->name.empty()) {
                auto [first, inserted] = name_lines.emplace(collector->name, item["name"].Mark().line + 1);
                if (!inserted)
                    r_.error(item["name"], "duplicate collector name " + quote(collector->name) +
                                               " (first defined at line " + std::to_string(first->second) + ")");
            }
            if (collector->kind() == CollectorKind::discovery) {
                if (discovery_line)
                    r_.error(item["kind"], "only one discovery collector is allowed (the first is at line " +
                                               std::to_string(discovery_line) + ")");
                else
                    discovery_line = item.Mark().line + 1;
            }
            c.collectors.push_back(std::move(*collector));
        }
        if (!discovery_line) add_implicit_discovery(*items, c);
        std::stable_partition(c.collectors.begin(), c.collectors.end(),
                              [](const CollectorConfig& col) { return col.kind() == CollectorKind::discovery; });
    }

    void add_implicit_discovery(const std::vector<YAML::Node>& items, Config& c) {
        for (const YAML::Node& item : items)
            if (item.IsMap() && item["name"] && item["name"].IsScalar() && item["name"].Scalar() == "discovery")
                return r_.error(item["name"],
                                "the name \"discovery\" is kept for the implicit discovery collector: rename this "
                                "collector or declare one of kind discovery");
        c.collectors.push_back({"discovery", c.defaults, DiscoverySpec{}});
    }

    std::optional<CollectorConfig> read_collector(const YAML::Node& item, const Schedule& defaults) {
        if (!item.IsMap()) {
            r_.error(item, "expected a collector (a mapping), got " + describe(item));
            return std::nullopt;
        }
        CollectorConfig col{.schedule = defaults};
        std::string where = "in collector at line " + std::to_string(item.Mark().line + 1);
        if (auto n = item["name"]) {
            if (auto name = r_.non_empty_string(n, "name")) {
                if (re2::RE2::FullMatch(*name, kCollectorName)) {
                    col.name = *name;
                    where = "in collector " + quote(col.name);
                } else {
                    r_.error(n, "collector name " + quote(*name) + " may only contain letters, digits, _, - and .");
                }
            }
        } else {
            r_.error(item, "collector is missing required key \"name\"");
        }
        auto kind = read_kind(item, where);
        if (!kind) return std::nullopt;

        Keys allowed{"name", "kind"};
        allowed.insert(allowed.end(), kScheduleKeys.begin(), kScheduleKeys.end());
        const Keys& own = kKindKeys[static_cast<std::size_t>(*kind)];
        allowed.insert(allowed.end(), own.begin(), own.end());
        r_.check_map(item, allowed, where);

        read_schedule(item, col.schedule, defaults_timeout_set_);
        col.spec = read_spec(item, *kind, col.name);
        return col;
    }

    std::optional<CollectorKind> read_kind(const YAML::Node& item, const std::string& where) {
        auto n = item["kind"];
        if (!n) {
            r_.error(item, "missing required key \"kind\" " + where);
            return std::nullopt;
        }
        auto text = r_.string(n);
        if (!text) return std::nullopt;
        auto found = std::find(kKindNames.begin(), kKindNames.end(), *text);
        if (found != kKindNames.end()) return static_cast<CollectorKind>(found - kKindNames.begin());
        std::string message = "unknown collector kind " + quote(*text) + " (expected one of ";
        for (std::size_t i = 0; i < kKindNames.size(); ++i) message += (i ? ", " : "") + std::string(kKindNames[i]);
        if (auto guess = closest(*text, kKindNames)) message += "; did you mean " + quote(*guess) + "?";
        r_.error(n, message + ")");
        return std::nullopt;
    }

    CollectorSpec read_spec(const YAML::Node& item, CollectorKind kind, const std::string& name) {
        switch (kind) {
            case CollectorKind::discovery: return read_discovery(item);
            case CollectorKind::run_counts: return read_run_counts(item);
            case CollectorKind::run_metrics: return read_run_metrics(item);
            case CollectorKind::batches: return read_batches(item);
            case CollectorKind::credits: return read_credits(item);
            case CollectorKind::subscription: return read_subscription(item);
            case CollectorKind::durations: return read_durations(item);
            case CollectorKind::query: return read_query(item, name);
        }
        return DiscoverySpec{};
    }

    std::vector<std::string> read_regexes(const YAML::Node& node) {
        std::vector<std::string> out;
        auto items = r_.sequence(node, "a list of regexes");
        if (!items) return out;
        for (const YAML::Node& item : *items) {
            auto text = r_.string(item);
            if (!text) continue;
            // Compiled as the discovery collector will compile them, so what passes here runs.
            auto compiled = metrics::compile_regex(*text);
            if (auto* error = std::get_if<std::string>(&compiled)) {
                r_.error(item, *error);
            } else {
                out.push_back(*text);
            }
        }
        return out;
    }

    DiscoverySpec read_discovery(const YAML::Node& item) {
        DiscoverySpec spec;
        if (auto n = item["include"]) spec.include = read_regexes(n);
        if (auto n = item["exclude"]) spec.exclude = read_regexes(n);
        return spec;
    }

    // Words from a fixed vocabulary, each once, at least one.
    std::optional<std::vector<std::string>> read_words(const YAML::Node& node, std::string_view key,
                                                       std::string_view word, const Keys& vocabulary) {
        auto items = r_.sequence(node, "a list of " + std::string(word) + "s");
        if (!items) return std::nullopt;
        if (items->empty()) {
            r_.error(node, std::string(key) + " must not be empty (leave the key out for the default)");
            return std::nullopt;
        }
        std::vector<std::string> out;
        bool ok = true;
        for (const YAML::Node& item : *items) {
            auto text = r_.string(item);
            if (!text) {
                ok = false;
            } else if (std::find(vocabulary.begin(), vocabulary.end(), *text) == vocabulary.end()) {
                std::string message = "unknown " + std::string(word) + " " + quote(*text);
                if (auto guess = closest(*text, vocabulary))
                    message += " (did you mean " + quote(*guess) + "?)";
                r_.error(item, message);
                ok = false;
            } else if (std::find(out.begin(), out.end(), *text) != out.end()) {
                r_.error(item, "duplicate " + std::string(word) + " " + quote(*text));
                ok = false;
            } else {
                out.push_back(*text);
            }
        }
        if (!ok) return std::nullopt;
        return out;
    }

    RunCountsSpec read_run_counts(const YAML::Node& item) {
        RunCountsSpec spec;
        if (auto n = item["windows"]) read_windows(n, spec.windows);
        if (auto n = item["strategy"]) read_strategy(n, spec.strategy);
        if (auto n = item["statuses"]) {
            Keys vocabulary(spec.statuses.begin(), spec.statuses.end());
            if (auto v = read_words(n, "statuses", "run status", vocabulary)) spec.statuses = std::move(*v);
        }
        if (auto n = item["ratios"])
            if (auto v = r_.boolean(n)) spec.ratios = *v;
        return spec;
    }

    void read_strategy(const YAML::Node& node, CountStrategy& strategy) {
        if (auto v = r_.choice(node, {"auto", "sql", "api"})) strategy = static_cast<CountStrategy>(*v);
    }

    void read_windows(const YAML::Node& node, std::vector<Millis>& windows) {
        auto items = r_.sequence(node, "a list of durations like [1h, 24h]");
        if (!items) return;
        if (items->empty()) return r_.error(node, "windows must not be empty");
        std::vector<Millis> out;
        for (const YAML::Node& item : *items) {
            auto d = r_.positive_duration(item, "window");
            if (!d) continue;
            if (std::find(out.begin(), out.end(), *d) != out.end())
                r_.error(item, "duplicate window " + format_duration(*d));
            else
                out.push_back(*d);
        }
        windows = std::move(out);
    }

    RunMetricsSpec read_run_metrics(const YAML::Node& item) {
        RunMetricsSpec spec;
        if (auto n = item["scope"])
            if (auto v = r_.choice(n, {"window", "release", "all"})) spec.scope = static_cast<RunMetricsScope>(*v);
        if (auto n = item["window"]) {
            if (spec.scope != RunMetricsScope::window)
                r_.error(n, "window applies only to scope window");
            else if (auto d = r_.positive_duration(n, "window"))
                spec.window = *d;
        }
        if (auto n = item["strategy"]) read_strategy(n, spec.strategy);
        return spec;
    }

    BatchesSpec read_batches(const YAML::Node& item) {
        BatchesSpec spec;
        if (auto n = item["window"])
            if (auto d = r_.positive_duration(n, "window")) spec.window = *d;
        if (auto n = item["limit"])
            if (auto v = r_.integer_in(n, "limit", 1, 1000)) spec.limit = static_cast<int>(*v);
        if (auto n = item["strategy"]) read_strategy(n, spec.strategy);
        return spec;
    }

    CreditsSpec read_credits(const YAML::Node& item) {
        CreditsSpec spec;
        if (auto n = item["window"])
            if (auto d = r_.positive_duration(n, "window")) spec.window = *d;
        if (auto n = item["group_by"])
            if (auto v = read_words(n, "group_by", "dimension", kCreditDimensions)) spec.group_by = std::move(*v);
        return spec;
    }

    SubscriptionSpec read_subscription(const YAML::Node& item) {
        SubscriptionSpec spec;
        if (auto n = item["burn_window"])
            if (auto d = r_.positive_duration(n, "burn_window")) spec.burn_window = *d;
        return spec;
    }

    DurationsSpec read_durations(const YAML::Node& item) {
        DurationsSpec spec;
        if (auto n = item["window"])
            if (auto d = r_.positive_duration(n, "window")) spec.window = *d;
        if (auto n = item["baseline"])
            if (auto d = r_.positive_duration(n, "baseline")) spec.baseline = *d;
        if (auto n = item["limit"])
            if (auto v = r_.integer_in(n, "limit", 1, 1000)) spec.limit = static_cast<int>(*v);
        return spec;
    }

    QuerySpec read_query(const YAML::Node& item, const std::string& collector) {
        QuerySpec spec;
        auto sql = item["sql"];
        if (!sql)
            r_.error(item, "missing required key \"sql\" in collector " + quote(collector));
        else if (auto text = r_.non_empty_string(sql, "sql"))
            spec.sql = *text;
        auto metrics = item["metrics"];
        if (!metrics) {
            r_.error(item, "missing required key \"metrics\" in collector " + quote(collector));
            return spec;
        }
        auto items = r_.sequence(metrics, "a list of metrics");
        if (!items) return spec;
        if (items->empty()) r_.error(metrics, "metrics must not be empty");
        for (const YAML::Node& m : *items)
            if (auto metric = read_metric(m, collector)) spec.metrics.push_back(std::move(*metric));
        if (auto n = item["counter_max_staleness"])
            if (auto d = r_.positive_duration(n, "counter_max_staleness")) spec.counter_max_staleness = *d;
        bool has_counter = std::any_of(spec.metrics.begin(), spec.metrics.end(),
                                       [](const QueryMetric& m) { return m.type == MetricType::counter; });
        if (has_counter && !spec.sql.empty() &&
            (spec.sql.find("$__from") == std::string::npos || spec.sql.find("$__to") == std::string::npos))
            r_.error(sql,
                     "a query with counters must select rows between $__from and $__to "
                     "(counters are fed incrementally, one window per collection)");
        return spec;
    }

    std::optional<QueryMetric> read_metric(const YAML::Node& node, const std::string& collector) {
        if (!node.IsMap()) {
            r_.error(node, "expected a metric (a mapping), got " + describe(node));
            return std::nullopt;
        }
        QueryMetric m;
        std::string where = "in a metric of collector " + quote(collector);
        auto name = node["name"];
        if (!name) {
            r_.error(node, "missing required key \"name\" " + where);
        } else if (auto text = r_.non_empty_string(name, "name")) {
            m.name = *text;
            where = "in metric " + quote(m.name) + " of collector " + quote(collector);
        }
        r_.check_map(node, kMetricKeys, where);
        if (auto n = node["help"])
            if (auto text = r_.string(n)) m.help = *text;
        if (auto n = node["type"])
            if (auto v = r_.choice(n, {"gauge", "counter"})) m.type = static_cast<MetricType>(*v);
        if (!m.name.empty()) check_metric_name(name, m);
        if (auto n = node["value"]) {
            if (auto text = r_.non_empty_string(n, "value")) m.value = *text;
        } else {
            r_.error(node, "missing required key \"value\" " + where);
        }
        if (auto n = node["labels"]) read_labels(n, m);
        if (auto n = node["const_labels"]) read_const_labels(n, m);
        return m;
    }

    void check_metric_name(const YAML::Node& at, const QueryMetric& m) {
        if (!metrics::is_valid_metric_name(m.name))
            return r_.error(at, "metric name " + quote(m.name) + " is not a valid Prometheus metric name");
        if (m.name.starts_with("cargomon_"))
            return r_.error(
                at, "metric name " + quote(m.name) + " uses the prefix cargomon_, kept for the daemon's own metrics");
        if (m.type == MetricType::counter && !ends_with(m.name, "_total"))
            return r_.error(at, "counter " + quote(m.name) + " must end in _total");
        if (m.type == MetricType::gauge && ends_with(m.name, "_total"))
            return r_.error(at, "gauge " + quote(m.name) + " must not end in _total (only counters do)");
        auto [first, inserted] = metric_lines_.emplace(m.name, at.Mark().line + 1);
        if (!inserted)
            r_.error(at, "metric " + quote(m.name) + " is already defined at line " + std::to_string(first->second));
    }

    bool check_label_name(const YAML::Node& at, const std::string& name) {
        if (!metrics::is_label_name(name)) {
            r_.error(at, "label name " + quote(name) + " is not a valid Prometheus label name");
            return false;
        }
        if (name.starts_with("__")) {
            r_.error(at, "label name " + quote(name) + " must not start with __ (reserved by Prometheus)");
            return false;
        }
        return true;
    }

    void read_labels(const YAML::Node& node, QueryMetric& m) {
        auto items = r_.sequence(node, "a list of label columns");
        if (!items) return;
        for (const YAML::Node& item : *items) {
            auto label = r_.non_empty_string(item, "label");
            if (!label || !check_label_name(item, *label)) continue;
            if (*label == m.value)
                r_.error(item, "column " + quote(*label) + " is the value; it cannot also be a label");
            else if (std::find(m.labels.begin(), m.labels.end(), *label) != m.labels.end())
                r_.error(item, "duplicate label " + quote(*label));
            else
                m.labels.push_back(*label);
        }
    }

    void read_const_labels(const YAML::Node& node, QueryMetric& m) {
        if (!node.IsMap())
            return r_.error(node, "expected a mapping of label names to values, got " + describe(node));
        for (const auto& entry : node) {
            auto name = r_.non_empty_string(entry.first, "label name");
            auto value = r_.string(entry.second);
            if (!name || !value || !check_label_name(entry.first, *name)) continue;
            if (m.const_labels.count(*name) || std::find(m.labels.begin(), m.labels.end(), *name) != m.labels.end())
                r_.error(entry.first, "duplicate label " + quote(*name));
            else
                m.const_labels.emplace(*name, *value);
        }
    }

    void read_rule_files(const YAML::Node& node, Config& c) {
        auto items = r_.sequence(node, "a list of file globs");
        if (!items) return;
        for (const YAML::Node& item : *items)
            if (auto glob = r_.non_empty_string(item, "a rule file glob")) c.rule_files.push_back(resolve(*glob));
    }

    // Precedence: CARGO_API_TOKEN, then token or token_file. token_file is not read when
    // the environment supplies the token, so one file serves the service and the simulator.
    void read_token(const YAML::Node& root, Config& c) {
        auto token = root["token"];
        auto token_file = root["token_file"];
        if (token && token_file) r_.error(token_file, "set only one of token and token_file");
        auto from_env = r_.env().get("CARGO_API_TOKEN");
        std::size_t errors_before = r_.error_count();
        if (token)
            if (auto text = r_.string(token)) c.token = std::string(trim(*text));
        if (token_file && !token && !(from_env && !from_env->empty()))
            if (auto path = r_.non_empty_string(token_file, "token_file"))
                c.token = read_token_file(token_file, resolve(*path));
        if (from_env && !from_env->empty()) c.token = std::string(trim(*from_env));
        if (c.token.empty() && r_.error_count() == errors_before)
            r_.error(token        ? token
                     : token_file ? token_file
                                  : root,
                     "no API token: set token, token_file or CARGO_API_TOKEN");
    }

    std::string read_token_file(const YAML::Node& at, const std::string& path) {
        std::string why;
        const std::optional<std::string> text = read_file(path, &why);
        if (!text) {
            r_.error(at, "cannot read token_file " + quote(path) + ": " + why);
            return "";
        }
        std::string token = std::string(trim(*text));
        if (token.empty()) r_.error(at, "token_file " + quote(path) + " is empty");
        return token;
    }

    std::map<std::string, int> metric_lines_;  // metric name -> line, across collectors
    bool defaults_timeout_set_ = false;        // `defaults` wrote a timeout: collectors inherit it as set
};

void apply_url_override(const Environment& env, YamlReader& reader, Config& c) {
    auto url = env.get("CARGO_API_URL");
    if (!url || url->empty()) return;
    if (std::string why = normalize_api_url(*url); !why.empty())
        reader.error(YAML::Mark::null_mark(), "CARGO_API_URL " + why);  // no place in the file
    else
        c.api_url = *url;
}

}  // namespace

LoadResult parse_config(std::string_view yaml_text, std::string_view file_name, const Environment& env) {
    return read_document<Config>(yaml_text, file_name, env,
                                         [&](YamlReader& reader, const YAML::Node& root, const std::filesystem::path& dir) {
                                             Config config = Loader(reader, dir).load(root);
                                             apply_url_override(env, reader, config);
                                             return config;
                                         });
}

std::vector<KnownKeys> known_keys() {
    Keys collector{"name", "kind"};
    collector.insert(collector.end(), kScheduleKeys.begin(), kScheduleKeys.end());
    std::vector<KnownKeys> out{{"", kTopKeys},
                               {"global", kGlobalKeys},
                               {"client", kClientKeys},
                               {"client.retry", kRetryKeys},
                               {"defaults", kScheduleKeys},
                               {"collectors[]", collector}};
    for (std::size_t i = 0; i < kKindNames.size(); ++i)
        out.push_back({"collectors[kind=" + std::string(kKindNames[i]) + "]", kKindKeys[i]});
    out.push_back({"collectors[kind=query].metrics[]", kMetricKeys});
    for (auto& place : detail::actions_known_keys()) out.push_back(std::move(place));
    return out;
}

LoadResult load_config(const std::string& path, const Environment& env) {
    return load_document(path, "config file", env, parse_config);
}

}  // namespace cargomon::config
