#pragma once
// Reads one sample out of a prometheus-cpp Registry, for assertions on self-metrics.
#include <prometheus/registry.h>

#include <map>
#include <optional>
#include <string>

namespace cargomon::testing {

// A counter's or gauge's value, a histogram's observation count; nullopt when the
// registry has no such sample (or it is of another type).
inline std::optional<double> sample_value(const prometheus::Registry& registry, const std::string& name,
                                          const std::map<std::string, std::string>& labels) {
    for (const auto& family : registry.Collect()) {
        if (family.name != name) continue;
        for (const auto& metric : family.metric) {
            std::map<std::string, std::string> have;
            for (const auto& l : metric.label) have[l.name] = l.value;
            if (have != labels) continue;
            switch (family.type) {
                case prometheus::MetricType::Counter: return metric.counter.value;
                case prometheus::MetricType::Gauge: return metric.gauge.value;
                case prometheus::MetricType::Histogram: return static_cast<double>(metric.histogram.sample_count);
                default: return std::nullopt;
            }
        }
    }
    return std::nullopt;
}

}  // namespace cargomon::testing
