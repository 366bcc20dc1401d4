#pragma once
// The sample history (tsdb::Head) as PromQL reads it: the one adapter between the two,
// used by the daemon (the query API) and by the tests that query a Head.
#include "alerts/promql/promql.h"
#include "tsdb/head.h"

namespace cargomon::alerts::promql {

// Thread-safe as tsdb::Head::select is: any number of queries at once, while the daemon
// appends and truncates.
class HistorySource final : public Queryable {
public:
    explicit HistorySource(const tsdb::Head& head) : head_(head) {}

    void select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                const SeriesFn& fn) const override;

private:
    const tsdb::Head& head_;
};

}  // namespace cargomon::alerts::promql
