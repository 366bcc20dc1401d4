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

namespace cargomon::alerts::promql {

// Self-metrics appear as Prometheus would scrape them: gauges, counters and untyped under
// their family name; histograms as name_bucket{le}, name_sum, name_count; summaries as
// name{quantile}, name_sum, name_count.
// The store holds no history: each current series is one sample at `at_ms` (the time the
// rules are evaluated at), so a selector at that time sees today's values and one that
// reads other times (offset, @, a range ending earlier) sees nothing there.
// Thread-safe: any number of evaluating threads may select from one source at once;
// index_mu_ guards only index_ (the postings built so far), immutable once built.
class StoreSource : public Queryable {
public:
    StoreSource(std::shared_ptr<const metrics::StoreView> view, const std::vector<prometheus::MetricFamily>& self_metrics,
                std::int64_t at_ms);

    void select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                const SeriesFn& fn) const override;
    std::int64_t at_ms() const { return at_ms_; }

private:
    using LabelValue = std::pair<std::string_view, std::string_view>;
    void visit(std::string_view name, const std::function<void(const metrics::Labels&, double)>& fn) const;
    // Answers from indexes of the name's series by the value of one label (each built the
    // first time that (name, label) is asked for, kept for the source's lifetime): the
    // series with every required pair, by intersecting their lists.
    void visit_candidates(std::string_view name, const std::vector<LabelValue>& required,
                          const std::function<void(const metrics::Labels&, double)>& fn) const;
    void visit_names(const std::function<void(std::string_view)>& fn) const;

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
    std::int64_t at_ms_;
    std::vector<Series> self_;  // sorted by name
    mutable std::mutex index_mu_;
    mutable std::unordered_map<std::string, std::shared_ptr<const Postings>> index_;  // by name '\xff' label
};

}  // namespace cargomon::alerts::promql
