#pragma once
// A Queryable over series held in memory, appended to in time order: what the conformance
// runner loads Prometheus' test series into, and what tests and the fuzzer evaluate over.
#include <string>
#include <unordered_map>
#include <vector>

#include "alerts/promql/promql.h"

namespace cargomon::alerts::promql {

class MemorySource : public Queryable {
public:
    // `labels` hold "__name__"; samples of one series must come in ascending time (a
    // sample at or before the series' last one replaces nothing and is dropped).
    void add(const metrics::Labels& labels, std::int64_t t_ms, double v);
    void clear();
    std::size_t series_count() const { return series_.size(); }

    void select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                const SeriesFn& fn) const override;

private:
    struct Entry {
        metrics::Labels labels;
        std::vector<Sample> samples;
    };
    std::vector<Entry> series_;
    std::unordered_map<std::string, std::size_t> index_;  // series_key -> position
};

}  // namespace cargomon::alerts::promql
