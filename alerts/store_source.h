#pragma once
// The series rules see: the metric store's current view plus the daemon's own metrics.
#include <prometheus/metric_family.h>

#include <memory>
#include <string>
#include <vector>

#include "alerts/promql.h"
#include "metrics/metric_store.h"

namespace cargomon::alerts {

// Self-metrics appear as Prometheus would scrape them: gauges, counters and untyped under
// their family name; histograms as name_bucket{le}, name_sum, name_count; summaries as
// name{quantile}, name_sum, name_count.
class StoreSource : public SeriesSource {
public:
    StoreSource(std::shared_ptr<const metrics::StoreView> view, const std::vector<prometheus::MetricFamily>& self_metrics);

    void visit(std::string_view name,
               const std::function<void(const metrics::Labels&, double)>& fn) const override;
    void visit_names(const std::function<void(std::string_view)>& fn) const override;

private:
    struct Series {
        std::string name;
        metrics::Labels labels;
        double value = 0;
    };
    std::shared_ptr<const metrics::StoreView> view_;
    std::vector<Series> self_;  // sorted by name
};

}  // namespace cargomon::alerts
