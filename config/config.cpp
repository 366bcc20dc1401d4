#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdlib>

#include "common/text.h"

namespace cargomon::config {
namespace {

constexpr std::string_view kSecret = "<secret>";

std::string duration(Millis d) { return format_duration(d); }

// Shortest text that reads back to the same double: 0.1, not 0.10000000000000001.
std::string number(double value) {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, ec == std::errc{} ? end : buffer);
}

void emit_schedule(YAML::Emitter& out, const Schedule& s) {
    out << YAML::Key << "interval" << YAML::Value << duration(s.interval);
    out << YAML::Key << "timeout" << YAML::Value << duration(s.timeout);
    out << YAML::Key << "jitter" << YAML::Value << number(s.jitter);
    out << YAML::Key << "max_staleness" << YAML::Value << duration(s.max_staleness);
    out << YAML::Key << "max_series" << YAML::Value << s.max_series;
}

void emit_strings(YAML::Emitter& out, std::string_view key, const std::vector<std::string>& values) {
    out << YAML::Key << std::string(key) << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& v : values) out << v;
    out << YAML::EndSeq;
}

void emit_strategy(YAML::Emitter& out, CountStrategy strategy) {
    constexpr std::string_view strategies[] = {"auto", "sql", "api"};
    out << YAML::Key << "strategy" << YAML::Value << std::string(strategies[static_cast<int>(strategy)]);
}

struct SpecEmitter {
    YAML::Emitter& out;

    void operator()(const DiscoverySpec& s) const {
        emit_strings(out, "include", s.include);
        emit_strings(out, "exclude", s.exclude);
    }
    void operator()(const RunCountsSpec& s) const {
        out << YAML::Key << "windows" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (Millis w : s.windows) out << duration(w);
        out << YAML::EndSeq;
        emit_strategy(out, s.strategy);
        emit_strings(out, "statuses", s.statuses);
        out << YAML::Key << "ratios" << YAML::Value << s.ratios;
    }
    void operator()(const RunMetricsSpec& s) const {
        constexpr std::string_view scopes[] = {"window", "release", "all"};
        out << YAML::Key << "scope" << YAML::Value << std::string(scopes[static_cast<int>(s.scope)]);
        if (s.scope == RunMetricsScope::window) out << YAML::Key << "window" << YAML::Value << duration(s.window);
        emit_strategy(out, s.strategy);
    }
    void operator()(const BatchesSpec& s) const {
        out << YAML::Key << "window" << YAML::Value << duration(s.window);
        out << YAML::Key << "limit" << YAML::Value << s.limit;
        emit_strategy(out, s.strategy);
    }
    void operator()(const CreditsSpec& s) const {
        out << YAML::Key << "window" << YAML::Value << duration(s.window);
        emit_strings(out, "group_by", s.group_by);
    }
    void operator()(const SubscriptionSpec& s) const {
        out << YAML::Key << "burn_window" << YAML::Value << duration(s.burn_window);
    }
    void operator()(const DurationsSpec& s) const {
        out << YAML::Key << "window" << YAML::Value << duration(s.window);
        out << YAML::Key << "baseline" << YAML::Value << duration(s.baseline);
        out << YAML::Key << "limit" << YAML::Value << s.limit;
    }
    void operator()(const QuerySpec& s) const {
        out << YAML::Key << "sql" << YAML::Value << YAML::Literal << s.sql;
        out << YAML::Key << "metrics" << YAML::Value << YAML::BeginSeq;
        for (const QueryMetric& m : s.metrics) {
            out << YAML::BeginMap;
            out << YAML::Key << "name" << YAML::Value << m.name;
            out << YAML::Key << "help" << YAML::Value << m.help;
            out << YAML::Key << "type" << YAML::Value << (m.type == MetricType::counter ? "counter" : "gauge");
            out << YAML::Key << "value" << YAML::Value << m.value;
            emit_strings(out, "labels", m.labels);
            out << YAML::Key << "const_labels" << YAML::Value << YAML::Flow << YAML::BeginMap;
            for (const auto& [k, v] : m.const_labels) out << YAML::Key << k << YAML::Value << v;
            out << YAML::EndMap << YAML::EndMap;
        }
        out << YAML::EndSeq;
        out << YAML::Key << "counter_max_staleness" << YAML::Value << duration(s.counter_max_staleness);
    }
};

}  // namespace

std::string_view kind_name(CollectorKind kind) {
    constexpr std::string_view names[] = {"discovery", "run_counts", "run_metrics", "batches",
                                          "credits",   "subscription", "durations", "query"};
    return names[static_cast<int>(kind)];
}

std::string Config::redacted_yaml() const {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "api_url" << YAML::Value << api_url;
    out << YAML::Key << "token" << YAML::Value << std::string(token.empty() ? "" : kSecret);
    if (workspace_uuid) out << YAML::Key << "workspace_uuid" << YAML::Value << *workspace_uuid;
    if (!global.external_labels.empty()) {
        out << YAML::Key << "global" << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "external_labels" << YAML::Value << YAML::BeginMap;
        for (const auto& [name, value] : global.external_labels) out << YAML::Key << name << YAML::Value << value;
        out << YAML::EndMap << YAML::EndMap;
    }

    out << YAML::Key << "client" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "timeout" << YAML::Value << duration(client.timeout);
    out << YAML::Key << "connect_timeout" << YAML::Value << duration(client.connect_timeout);
    out << YAML::Key << "max_in_flight" << YAML::Value << client.max_in_flight;
    out << YAML::Key << "rate_limit" << YAML::Value << number(client.rate_limit);
    out << YAML::Key << "retry" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "max_attempts" << YAML::Value << client.retry.max_attempts;
    out << YAML::Key << "initial_backoff" << YAML::Value << duration(client.retry.initial_backoff);
    out << YAML::Key << "max_backoff" << YAML::Value << duration(client.retry.max_backoff);
    out << YAML::Key << "budget" << YAML::Value << duration(client.retry.budget);
    out << YAML::EndMap;
    out << YAML::Key << "max_answer_bytes" << YAML::Value << format_byte_size(client.max_answer_bytes);
    out << YAML::Key << "max_compressed_answer_bytes" << YAML::Value
        << format_byte_size(client.max_compressed_answer_bytes);
    out << YAML::Key << "max_download_bytes" << YAML::Value << format_byte_size(client.max_download_bytes);
    out << YAML::Key << "max_compressed_download_bytes" << YAML::Value
        << format_byte_size(client.max_compressed_download_bytes);
    out << YAML::EndMap;

    out << YAML::Key << "defaults" << YAML::Value << YAML::BeginMap;
    emit_schedule(out, defaults);
    out << YAML::EndMap;

    out << YAML::Key << "collectors" << YAML::Value << YAML::BeginSeq;
    for (const CollectorConfig& c : collectors) {
        out << YAML::BeginMap;
        out << YAML::Key << "name" << YAML::Value << c.name;
        out << YAML::Key << "kind" << YAML::Value << std::string(kind_name(c.kind()));
        emit_schedule(out, c.schedule);
        std::visit(SpecEmitter{out}, c.spec);
        out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    emit_strings(out, "rule_files", rule_files);
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

std::string ConfigError::to_string() const {
    if (line <= 0) return file + ": " + message;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

Environment Environment::process() {
    Environment env;
    env.from_process_ = true;
    return env;
}

Environment::Environment(std::map<std::string, std::string> vars) : vars_(std::move(vars)) {}

std::optional<std::string> Environment::get(const std::string& name) const {
    if (from_process_) {
        const char* value = std::getenv(name.c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    }
    auto found = vars_.find(name);
    if (found == vars_.end()) return std::nullopt;
    return found->second;
}

}  // namespace cargomon::config
