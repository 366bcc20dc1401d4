#include "collectors/query.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "collectors/series.h"
#include "metrics/self_metrics.h"

namespace cargomon::collectors {

namespace {

std::string fingerprint_of(const config::QuerySpec& spec) {
    std::uint64_t h = 1469598103934665603ULL;
    auto mix = [&](std::string_view text) {
        for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;  // separator: ("ab","c") differs from ("a","bc")
    };
    mix(spec.sql);
    for (const auto& m : spec.metrics) {
        mix(m.name);
        mix(m.type == config::MetricType::counter ? "counter" : "gauge");
        mix(m.value);
        for (const auto& l : m.labels) mix(l);
        for (const auto& [k, v] : m.const_labels) {
            mix(k);
            mix(v);
        }
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return hex;
}

std::string replace_all(std::string text, std::string_view what, const std::string& with) {
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
        text.replace(at, what.size(), with);
    return text;
}

std::string label_value(const cargo::Cell& cell) {
    if (const auto* t = cell.text()) return *t;
    if (const auto* n = cell.number()) {
        char buf[32];
        if (std::nearbyint(*n) == *n && std::fabs(*n) < 1e15)
            std::snprintf(buf, sizeof buf, "%.0f", *n);
        else
            std::snprintf(buf, sizeof buf, "%.17g", *n);
        return buf;
    }
    return "";
}

std::size_t require_column(const cargo::QueryResult& result, const config::QueryMetric& metric, const std::string& column) {
    if (auto i = result.column(column)) return *i;
    std::string have;
    for (const auto& c : result.columns) have += (have.empty() ? "" : ", ") + c;
    throw CollectorError("mapping", "metric " + metric.name + ": column \"" + column +
                                        "\" is not in the query's answer (columns: " + have + ")");
}

// A family per configured metric: labels are the constant ones, then the column ones.
FamilyTable declare_families(const config::QuerySpec& spec) {
    std::vector<FamilyDescriptor> families;
    for (const auto& m : spec.metrics) {
        FamilyDescriptor f{.name = m.name,
                           .help = m.help.empty() ? m.name : m.help,
                           .type = m.type == config::MetricType::counter ? metrics::MetricType::counter
                                                                          : metrics::MetricType::gauge,
                           .labels = {}};
        for (const auto& [k, _] : m.const_labels) f.labels.push_back(k);
        f.labels.insert(f.labels.end(), m.labels.begin(), m.labels.end());
        families.push_back(std::move(f));
    }
    return FamilyTable(std::move(families));
}

// Why a counter row's value cannot be added, or nullptr when it can.
const char* refusal(const std::optional<double>& value, double total) {
    if (!value) return "not a number";
    if (std::isnan(*value)) return "NaN";
    if (std::isinf(*value)) return *value > 0 ? "+Inf" : "-Inf";
    if (*value < 0) return "negative";
    if (!std::isfinite(total + *value)) return "past the largest total";
    return nullptr;
}

}  // namespace

QueryCollector::QueryCollector(std::string name, config::QuerySpec spec, const config::Schedule& schedule,
                               cargo::ApiClient& client, const Clock& clock, WatermarkStore* watermarks,
                               prometheus::Registry* registry, Millis safety_lag)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      interval_(schedule.interval),
      max_series_(schedule.max_series),
      client_(client),
      clock_(clock),
      watermarks_(watermarks),
      safety_lag_(safety_lag),
      families_(declare_families(spec_)),
      fingerprint_(fingerprint_of(spec_)) {
    for (const auto& m : spec_.metrics) {
        if (m.type != config::MetricType::counter) continue;
        has_counters_ = true;
        if (registry)
            rejected_[m.name] = &metrics::counter_family(*registry, "cargomon_query_rejected_rows_total",
                                                         "Rows a query collector left out of a counter because their "
                                                         "value was not a finite non-negative number")
                                     .Add({{"collector", name_}, {"metric", m.name}});
    }
    if (has_counters_ && !watermarks_)
        throw std::invalid_argument("query collector " + name_ + ": counters need a watermark store");
}

std::vector<std::string> QueryCollector::metric_names() const { return families_.names(); }

metrics::Snapshot QueryCollector::collect(const CollectContext& context) {
    const auto now = whole_seconds(clock_.now());
    SystemTime from = now - interval_;
    SystemTime to = now;
    if (has_counters_) {
        if (!state_) {
            state_ = watermarks_->load(name_);
            if (!state_ || state_->fingerprint != fingerprint_)
                state_ = CounterState{.fingerprint = fingerprint_, .watermark = now - safety_lag_, .totals = {}};
            last_seen_.clear();
            for (const auto& [key, _] : state_->totals) last_seen_[key] = state_->watermark;
        }
        from = state_->watermark;
        to = std::max(from, now - safety_lag_);
    }
    const auto sql = replace_all(replace_all(spec_.sql, "$__from", sql_datetime(from)), "$__to", sql_datetime(to));
    check_time_left(context, clock_);
    const auto result = client_.query(sql);
    // Each row is meant to be one series of each metric: more rows than series allowed
    // is refused before any is mapped.
    if (result.row_count() > max_series_)
        throw CollectorError("series_limit", "query answered " + std::to_string(result.row_count()) +
                                                 " rows, more than max_series " + std::to_string(max_series_) +
                                                 "; nothing of it is counted or published (raise max_series, or "
                                                 "aggregate in the query)");

    CounterState next = has_counters_ ? *state_ : CounterState{};
    next.watermark = to;
    auto seen = last_seen_;
    std::vector<DeclaredFamily> families;
    std::size_t series = 0;
    for (const auto& m : spec_.metrics) {
        const bool counter = m.type == config::MetricType::counter;
        auto& family = families.emplace_back(families_.family(m.name));
        if (result.row_count() == 0) continue;
        const auto value_at = require_column(result, m, m.value);
        std::vector<std::size_t> label_at;
        for (const auto& l : m.labels) label_at.push_back(require_column(result, m, l));
        std::size_t refused = 0;
        std::string first_refused;
        for (std::size_t r = 0; r < result.row_count(); ++r) {
            const auto& cell = result.at(r, value_at);
            if (cell.is_null()) continue;  // an aggregate over nothing: no sample, not zero
            const auto value = cell.as_double();
            if (!counter && !value)
                throw CollectorError("mapping", "metric " + m.name + ": column \"" + m.value + "\" row " +
                                                    std::to_string(r + 1) + " is not a number");
            metrics::Labels labels(m.const_labels.begin(), m.const_labels.end());
            for (std::size_t i = 0; i < label_at.size(); ++i)
                labels.emplace_back(m.labels[i], label_value(result.at(r, label_at[i])));
            std::sort(labels.begin(), labels.end());
            if (!counter) {
                family.add(std::move(labels), *value);  // NaN and ±Inf included, as Prometheus exposes them
                continue;
            }
            std::pair<std::string, metrics::Labels> key{m.name, std::move(labels)};
            auto total = next.totals.find(key);
            if (const char* why = refusal(value, total == next.totals.end() ? 0 : total->second)) {
                if (refused++ == 0) first_refused = "row " + std::to_string(r + 1) + ": " + why;
                continue;
            }
            seen[key] = to;
            next.totals[std::move(key)] += *value;
        }
        if (refused > 0) {
            if (auto it = rejected_.find(m.name); it != rejected_.end()) it->second->Increment(static_cast<double>(refused));
            spdlog::error("collector {}: metric {}: left out {} row(s) whose column \"{}\" is not a finite non-negative "
                          "number ({}); the rest of the range is counted",
                          name_, m.name, refused, m.value, first_refused);
        }
        series += family.size();
    }
    // Totals of label sets no row has carried for counter_max_staleness go, so label
    // values that never return do not pile up in memory, on /metrics and on disk.
    for (auto it = next.totals.begin(); it != next.totals.end();) {
        if (to - seen.at(it->first) > spec_.counter_max_staleness) {
            seen.erase(it->first);
            it = next.totals.erase(it);
        } else {
            ++it;
        }
    }
    // Checked before the state is saved: a run over the limit leaves the watermark
    // where it was, and the range is counted once the limit is raised.
    check_series_limit(series + next.totals.size(), max_series_);

    metrics::Snapshot snapshot;
    for (std::size_t i = 0; i < spec_.metrics.size(); ++i) {
        if (spec_.metrics[i].type == config::MetricType::counter)
            for (const auto& [key, total] : next.totals)
                if (key.first == spec_.metrics[i].name) families[i].add(key.second, total);
        snapshot.families.push_back(std::move(families[i]).take());
    }
    if (has_counters_) {
        watermarks_->save(name_, next);
        state_ = std::move(next);
        last_seen_ = std::move(seen);
    }
    return snapshot;
}

}  // namespace cargomon::collectors
