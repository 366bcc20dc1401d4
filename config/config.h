#pragma once
// cargomon's configuration: one YAML file, parsed and validated whole into a value.
// The daemon reloads by loading a new Config and swapping it in only if it is valid.
// Every key is documented in docs/configuration.md.
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/duration.h"
#include "config/actions.h"
#include "config/alerting.h"

namespace cargomon::config {

struct RetryConfig {
    int max_attempts = 4;
    Millis initial_backoff{500};
    Millis max_backoff{std::chrono::seconds{30}};
    Millis budget{std::chrono::minutes{2}};  // no retry starts once this much time has gone by
    bool operator==(const RetryConfig&) const = default;
};

struct ClientConfig {
    Millis timeout{std::chrono::seconds{30}};  // a whole request
    Millis connect_timeout{std::chrono::seconds{5}};
    int max_in_flight = 4;
    double rate_limit = 5;  // requests per second; the burst is the same number
    RetryConfig retry;
    // Caps on one answer, counted as it arrives (past one it is cut off unread): decoded,
    // and as received when compressed. Answers are held whole to be parsed; downloads
    // (cargomon export) stream to a file, so theirs are larger.
    std::uint64_t max_answer_bytes = std::uint64_t{64} << 20;
    std::uint64_t max_compressed_answer_bytes = std::uint64_t{64} << 20;
    std::uint64_t max_download_bytes = std::uint64_t{4} << 30;
    std::uint64_t max_compressed_download_bytes = std::uint64_t{1} << 30;
    bool operator==(const ClientConfig&) const = default;
};

// Scheduling shared by every collector; `defaults:` in the file, overridable per collector.
struct Schedule {
    Millis interval{std::chrono::seconds{60}};
    Millis timeout{std::chrono::seconds{30}};
    double jitter = 0.1;  // fraction of interval, both ways
    Millis max_staleness{std::chrono::minutes{10}};
    // Series one collection may publish; over it the collection fails (reason
    // series_limit) and nothing of it is published, as Prometheus' sample_limit does.
    std::size_t max_series = 50'000;
    bool operator==(const Schedule&) const = default;
};

// Regexes are ECMAScript, already checked to compile.
struct DiscoverySpec {
    std::vector<std::string> include;  // empty: every workflow
    std::vector<std::string> exclude;
    bool operator==(const DiscoverySpec&) const = default;
};

// How run_counts, run_metrics and batches get their numbers: sql answers every workflow
// with grouped /orchestration/query calls, api calls per workflow (tokens without SQL
// rights), automatic tries sql and falls back to api when it is refused.
enum class CountStrategy { automatic, sql, api };

struct RunCountsSpec {
    std::vector<Millis> windows{std::chrono::hours{1}, std::chrono::hours{24}};
    CountStrategy strategy = CountStrategy::automatic;
    // Every run status by default; also the list of valid ones.
    std::vector<std::string> statuses{"idle",  "pending",    "running",   "success",
                                      "error", "cancelling", "cancelled", "skipped"};
    bool ratios = true;
    bool operator==(const RunCountsSpec&) const = default;
};

enum class RunMetricsScope { window, release, all };

struct RunMetricsSpec {
    RunMetricsScope scope = RunMetricsScope::window;
    Millis window{std::chrono::hours{24}};  // only for scope window
    CountStrategy strategy = CountStrategy::automatic;
    bool operator==(const RunMetricsSpec&) const = default;
};

struct BatchesSpec {
    Millis window{std::chrono::hours{24}};
    int limit = 50;  // batches per workflow
    CountStrategy strategy = CountStrategy::automatic;
    bool operator==(const BatchesSpec&) const = default;
};

struct CreditsSpec {
    Millis window{std::chrono::days{30}};
    std::vector<std::string> group_by{"workflow_uuid"};  // one usage request per dimension
    bool operator==(const CreditsSpec&) const = default;
};

// The subscription's credits left (/billing/subscriptions) and when they run out at the
// burn rate of the last `burn_window` of billing usage.
struct SubscriptionSpec {
    Millis burn_window{std::chrono::hours{24}};
    bool operator==(const SubscriptionSpec&) const = default;
};

// Run and node durations over `window`, unfinished batches (at most `limit` per workflow,
// the oldest), runs waiting, and each workflow's p90 batch duration over `baseline`.
struct DurationsSpec {
    Millis window{std::chrono::hours{1}};
    Millis baseline{std::chrono::days{7}};
    int limit = 20;
    bool operator==(const DurationsSpec&) const = default;
};

enum class MetricType { gauge, counter };

// One Prometheus metric fed by a column of a query's rows.
struct QueryMetric {
    std::string name;
    std::string help;
    MetricType type = MetricType::gauge;
    std::string value;                // the column holding the sample value
    std::vector<std::string> labels;  // columns that become labels
    std::map<std::string, std::string> const_labels;
    bool operator==(const QueryMetric&) const = default;
};

// SQL on /orchestration/query; $__from and $__to become the collection window.
struct QuerySpec {
    std::string sql;
    std::vector<QueryMetric> metrics;
    // A counter total whose label set no row has carried for this long (of counted
    // ranges) is dropped from memory, /metrics and the state file.
    Millis counter_max_staleness{std::chrono::days{7}};
    bool operator==(const QuerySpec&) const = default;
};

// Alternatives in the order of CollectorKind.
enum class CollectorKind { discovery, run_counts, run_metrics, batches, credits, subscription, durations, query };
using CollectorSpec = std::variant<DiscoverySpec, RunCountsSpec, RunMetricsSpec, BatchesSpec, CreditsSpec,
                                   SubscriptionSpec, DurationsSpec, QuerySpec>;

struct CollectorConfig {
    std::string name;
    Schedule schedule;
    CollectorSpec spec;

    CollectorKind kind() const { return static_cast<CollectorKind>(spec.index()); }
    bool operator==(const CollectorConfig&) const = default;
};

inline constexpr std::string_view kDefaultApiUrl = "https://api.getcargo.io";

// The `global:` section, as Prometheus' global config.
struct GlobalConfig {
    // Added to every alert cargomon notifies (an alert's own label of the same name wins),
    // before alerting.alert_relabel_configs; not to /metrics, ALERTS, the history or the
    // API's answers. A replica of an HA pair sets `replica` here and drops it with an
    // alert relabelling, so both replicas' alerts are one alert to Alertmanager.
    metrics::Labels external_labels;  // sorted, names valid, values not empty
    bool operator==(const GlobalConfig&) const = default;
};

struct Config {
    std::string api_url{kDefaultApiUrl};  // without the /v1 and without a trailing slash
    std::string token;                    // secret
    std::optional<std::string> workspace_uuid;
    GlobalConfig global;
    ClientConfig client;
    Schedule defaults;
    std::vector<CollectorConfig> collectors;  // exactly one discovery collector, first
    std::vector<std::string> rule_files;      // globs, relative ones resolved against the file's folder
    AlertingConfig alerting;                  // the `alerting:` section (config/alerting.h)
    ActionsConfig actions;                    // the `actions:` section (config/actions.h): none by default

    // Equal configs need no reload (but rule files, read apart, may have changed).
    bool operator==(const Config&) const = default;

    // The effective configuration (defaults applied) as YAML, with every secret shown as
    // <secret>; `alerting:` is left out.
    std::string redacted_yaml() const;
};

std::string_view kind_name(CollectorKind kind);

// Line and column are 1-based; 0 when the error concerns no position in the file.
struct ConfigError {
    std::string file;
    int line = 0;
    int column = 0;
    std::string message;

    // "cargomon.yml:12:5: unknown key ..." or "cargomon.yml: cannot read ..."
    std::string to_string() const;
    bool operator==(const ConfigError&) const = default;
};

// Where ${VAR} and the CARGO_API_* overrides come from: the process, or a fixed map in tests.
class Environment {
public:
    static Environment process();
    explicit Environment(std::map<std::string, std::string> vars = {});

    std::optional<std::string> get(const std::string& name) const;

private:
    bool from_process_ = false;
    std::map<std::string, std::string> vars_;
};

using LoadResult = std::variant<Config, std::vector<ConfigError>>;

// Reads, expands, validates; returns a complete Config or every error found.
LoadResult load_config(const std::string& path, const Environment& env);
// The same on text already in memory; `file_name` names it in errors and anchors relative paths.
LoadResult parse_config(std::string_view yaml_text, std::string_view file_name, const Environment& env);

// The `alerting:` section alone: `yaml_text` is the section's content (route:, receivers:
// ... at its top level), read exactly as load_config reads it inside a file, positions
// counted in `yaml_text`; `file_name` names it in errors and anchors relative `*_file`s.
using AlertingResult = std::variant<AlertingConfig, std::vector<ConfigError>>;
AlertingResult parse_alerting(std::string_view yaml_text, std::string_view file_name, const Environment& env);

// Keys the parser accepts in one place of the file, named as a path: "client.retry",
// "collectors[kind=query].metrics[]"; "" is the top level.
struct KnownKeys {
    std::string place;
    std::vector<std::string_view> keys;
};
// Every place but the inside of `alerting` (that is alerting_known_keys()), so tests can
// hold docs/configuration.md to what the parser takes.
std::vector<KnownKeys> known_keys();
// The places inside `alerting`: "alerting", "alerting.route" (which also covers its child
// routes), "alerting.receivers[]" ...; the last is "alerting.delivery".
std::vector<KnownKeys> alerting_known_keys();

}  // namespace cargomon::config
