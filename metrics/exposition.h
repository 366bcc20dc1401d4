#pragma once
// Renders prometheus-cpp families (the self-metrics Registry) and a StoreView in the
// Prometheus text format 0.0.4 or OpenMetrics 1.0.0, straight from the store's snapshots.
#include <prometheus/metric_family.h>

#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_store.h"

namespace cargomon::metrics {

enum class Format { text, openmetrics };

// The format a scraper's Accept header prefers (q-values honoured); text when in doubt.
Format negotiate_format(std::string_view accept);
std::string_view content_type(Format format);

// Registry families first, then the store. The two must not share metric names (the
// daemon's own metrics are `cargomon_*`, the store's `cargo_*`).
std::string expose(const std::vector<prometheus::MetricFamily>& registry, const StoreView& store, Format format);

// A sample value as Prometheus writes it: "+Inf", "-Inf", "NaN", integers without exponent.
std::string format_value(double value);

}  // namespace cargomon::metrics
