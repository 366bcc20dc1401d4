#include "metrics/self_metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace cargomon::metrics {
namespace {

std::string bound_text(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (std::isnan(value)) return "NaN";
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

Labels with_label(Labels labels, std::string name, std::string value) {
    labels.emplace_back(std::move(name), std::move(value));
    std::sort(labels.begin(), labels.end());
    return labels;
}

}  // namespace

void for_each_client_sample(const std::vector<prometheus::MetricFamily>& families,
                            const std::function<void(const std::string&, const Labels&, double)>& fn) {
    for (const auto& family : families) {
        for (const auto& metric : family.metric) {
            Labels labels;
            labels.reserve(metric.label.size() + 1);
            for (const auto& label : metric.label) labels.emplace_back(label.name, label.value);
            std::sort(labels.begin(), labels.end());
            switch (family.type) {
                case prometheus::MetricType::Counter: fn(family.name, labels, metric.counter.value); break;
                case prometheus::MetricType::Gauge: fn(family.name, labels, metric.gauge.value); break;
                case prometheus::MetricType::Untyped: fn(family.name, labels, metric.untyped.value); break;
                case prometheus::MetricType::Histogram:
                    for (const auto& bucket : metric.histogram.bucket)
                        fn(family.name + "_bucket", with_label(labels, "le", bound_text(bucket.upper_bound)),
                           static_cast<double>(bucket.cumulative_count));
                    fn(family.name + "_sum", labels, metric.histogram.sample_sum);
                    fn(family.name + "_count", labels, static_cast<double>(metric.histogram.sample_count));
                    break;
                case prometheus::MetricType::Summary:
                    for (const auto& quantile : metric.summary.quantile)
                        fn(family.name, with_label(labels, "quantile", bound_text(quantile.quantile)), quantile.value);
                    fn(family.name + "_sum", labels, metric.summary.sample_sum);
                    fn(family.name + "_count", labels, static_cast<double>(metric.summary.sample_count));
                    break;
            }
        }
    }
}

}  // namespace cargomon::metrics
