#pragma once
// What rules read: the sample history for everything that reads time (ranges, offset, @,
// subqueries), and the metric store's current view for an instant selector at the
// evaluation time, so a collector that runs less often than the 5 minute lookback keeps
// its series visible between its runs, as rules saw them before there was a history.
#include <memory>

#include "alerts/promql/promql.h"
#include "alerts/promql/store_source.h"

namespace cargomon::alerts::promql {

// Not thread-safe to re-point (set_current); selecting is as thread-safe as both sources.
class RuleSource final : public Queryable {
public:
    RuleSource(std::shared_ptr<const StoreSource> current, const Queryable& history)
        : current_(std::move(current)), history_(history) {}

    // After a recording rule publishes its output: the next rules see it at once.
    void set_current(std::shared_ptr<const StoreSource> current) { current_ = std::move(current); }

    void select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                const SeriesFn& fn) const override {
        history_.select(matchers, mint_ms, maxt_ms, fn);
    }
    void select_instant(const std::vector<metrics::Matcher>& matchers, std::int64_t t_ms, std::int64_t lookback_ms,
                        const SeriesFn& fn) const override {
        if (t_ms == current_->at_ms())
            current_->select(matchers, t_ms, t_ms, fn);
        else
            history_.select_instant(matchers, t_ms, lookback_ms, fn);
    }

private:
    std::shared_ptr<const StoreSource> current_;
    const Queryable& history_;
};

}  // namespace cargomon::alerts::promql
