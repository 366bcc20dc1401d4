#pragma once
// Series for the PromQL tests, published into a real MetricStore, and results as text.
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "alerts/promql/promql.h"
#include "alerts/promql/store_source.h"
#include "metrics/metric_store.h"

namespace cargomon::alerts::promql::testing {

inline std::string value_text(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, v);
    return std::string(buffer, result.ptr);
}

// `name{a="1", b="2"} value`, or `{a="1"} value` without __name__.
inline std::string sample_text(const VectorSample& sample) {
    std::string name;
    std::string labels;
    for (const auto& [label, value] : sample.labels) {
        if (label == "__name__") {
            name = value;
            continue;
        }
        if (!labels.empty()) labels += ", ";
        labels += label + "=\"" + value + "\"";
    }
    return name + "{" + labels + "} " + value_text(sample.value);
}

inline std::multiset<std::string> vector_text(const Vector& vector) {
    std::multiset<std::string> out;
    for (const auto& sample : vector) out.insert(sample_text(sample));
    return out;
}

// Families by name; each test fixture publishes them as one collector.
class SeriesBuilder {
public:
    SeriesBuilder& add(const std::string& name, metrics::Labels labels, double value) {
        auto& family = families_[name];
        family.name = name;
        family.type = name.ends_with("_total") ? metrics::MetricType::counter : metrics::MetricType::gauge;
        family.samples.push_back({std::move(labels), value});
        return *this;
    }

    metrics::Snapshot snapshot() const {
        metrics::Snapshot snapshot;
        for (const auto& [name, family] : families_) snapshot.families.push_back(family);
        return snapshot;
    }

private:
    std::map<std::string, metrics::Family> families_;
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace cargomon::alerts::promql::testing
