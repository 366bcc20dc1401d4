#pragma once
// The series rules see: the metric store's current view plus the daemon's own metrics.
#include <prometheus/metric_family.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "alerts/promql/promql.h"
#include "metrics/metric_store.h"

namespace cargomon::alerts {

// Self-metrics appear as Prometheus would scrape them: gauges, counters and untyped under
// their family name; histograms as name_bucket{le}, name_sum, name_count; summaries as
// name{quantile}, name_sum, name_count.
// Thread-safe: any number of evaluating threads may visit one source at once; index_mu_
// guards only index_ (the postings built so far), whose entries are immutable once built.
class StoreSource : public SeriesSource {
public:
    StoreSource(std::shared_ptr<const metrics::StoreView> view, const std::vector<prometheus::MetricFamily>& self_metrics);

    void visit(std::string_view name,
               const std::function<void(const metrics::Labels&, double)>& fn) const override;
    // Answers from indexes of the name's series by the value of one label (each built the
    // first time that (name, label) is asked for, kept for the source's lifetime): the
    // series with every required pair, by intersecting their lists.
    void visit_candidates(std::string_view name, const std::vector<LabelValue>& required,
                          const std::function<void(const metrics::Labels&, double)>& fn) const override;
    void visit_names(const std::function<void(std::string_view)>& fn) const override;

private:
    struct Series {
        std::string name;
        metrics::Labels labels;
        double value = 0;
    };
    struct Ref {
        std::uint32_t ordinal;  // position in the name's visit order: lists sort by it
        const metrics::Labels* labels;
        double value;
    };
    using Postings = std::unordered_map<std::string_view, std::vector<Ref>>;  // label value -> series
    std::shared_ptr<const Postings> postings(std::string_view name, std::string_view label) const;

    std::shared_ptr<const metrics::StoreView> view_;
    std::vector<Series> self_;  // sorted by name
    mutable std::mutex index_mu_;
    mutable std::unordered_map<std::string, std::shared_ptr<const Postings>> index_;  // by name '\xff' label
};

}  // namespace cargomon::alerts
