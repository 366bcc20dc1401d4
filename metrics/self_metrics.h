#pragma once
// cargomon's own metrics (cargomon_*) live in a prometheus::Registry that /metrics serves
// before the store (exporters/metrics_handler.h). These register one family of them in a call, and
// are how every part of cargomon declares one: one place to find them all (docs/metrics.md
// lists them, tests/docs holds the list to the code).
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <string>
#include <vector>

#include "metrics/model.h"

namespace cargomon::metrics {

// The family `name` with `help`, registered in `registry`, which owns it (as
// prometheus-cpp's Build*().Register() does: a second family of that name with other
// help or type throws std::invalid_argument).
inline prometheus::Family<prometheus::Gauge>& gauge_family(prometheus::Registry& registry, const std::string& name,
                                                           const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}
inline prometheus::Family<prometheus::Counter>& counter_family(prometheus::Registry& registry, const std::string& name,
                                                               const std::string& help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}
// Each histogram's buckets are given when a child is added: family.Add(labels, buckets).
inline prometheus::Family<prometheus::Histogram>& histogram_family(prometheus::Registry& registry,
                                                                   const std::string& name, const std::string& help) {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

// Every sample of `families` (a registry's Collect()) as the series a scrape of it would
// give: a histogram's _bucket (with `le`), _sum and _count, a summary's quantiles (with
// `quantile`), _sum and _count; labels sorted. Bounds and quantiles are written as
// prometheus-cpp's text serializer writes them, so le="0.5" is the scraped label value.
void for_each_client_sample(const std::vector<prometheus::MetricFamily>& families,
                            const std::function<void(const std::string& name, const Labels& labels, double value)>& fn);

}  // namespace cargomon::metrics
