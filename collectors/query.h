#pragma once
// The query collector: any orchestration SQL, mapped column by column to metrics.
//
// Gauges take the latest answer. Counters are fed incrementally: cargomon replaces
// $__from and $__to with DateTime literals bounding the range not yet counted,
// [watermark, now - safety_lag), adds each answer to running totals and persists totals
// and watermark together (WatermarkStore), so rate() works and a restart counts nothing
// twice. The lag leaves late-arriving rows time to land before their range is counted.
// On its very first run a counter query starts its watermark at now - safety_lag: it
// counts from the moment cargomon starts watching, not the whole history (which could be
// huge, and would make the first rate() a spike). A query without counters gets the
// last interval, [now - interval, now), as its range.
//
// A counter row whose value is not a finite non-negative number (NaN, ±Inf, negative,
// not a number) is refused: counted in cargomon_query_rejected_rows_total{collector,
// metric}, logged, and left out, while the rest of the range is counted and the
// watermark advances (failing the run would bring the same range back every time).
// A counter total whose label set no row has carried for spec.counter_max_staleness of
// counted ranges is dropped. More rows or series than the schedule's max_series fail
// the run before any state is saved, so raising the limit later counts the range then.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <map>
#include <optional>

#include "cargo/client.h"
#include "collectors/collector.h"
#include "collectors/families.h"
#include "collectors/watermarks.h"
#include "config/config.h"

namespace cargomon::collectors {

class QueryCollector final : public Collector {
public:
    // `watermarks` may be null only when no metric is a counter (std::invalid_argument otherwise).
    // The metric families are declared from spec.metrics here (std::invalid_argument on a
    // name or label given twice).
    // The range of a query without counters is schedule.interval; schedule.max_series
    // bounds rows and series. The rejected-rows counters go to `registry` (may be null).
    QueryCollector(std::string name, config::QuerySpec spec, const config::Schedule& schedule,
                   cargo::ApiClient& client, const Clock& clock, WatermarkStore* watermarks,
                   prometheus::Registry* registry, Millis safety_lag = std::chrono::minutes{1});

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "query"; }
    std::vector<std::string> metric_names() const override;
    // A missing column or a non-numeric value is a CollectorError("mapping") naming the column.
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    std::string name_;
    config::QuerySpec spec_;
    Millis interval_;
    std::size_t max_series_;
    cargo::ApiClient& client_;
    const Clock& clock_;
    WatermarkStore* watermarks_;
    Millis safety_lag_;
    FamilyTable families_;  // from spec_.metrics
    bool has_counters_ = false;
    std::string fingerprint_;
    std::optional<CounterState> state_;  // loaded on the first run
    // When a row last carried each total's label set: the end of that range. Kept in
    // memory only; totals loaded at start count as seen at the saved watermark, so a
    // restart never drops one early.
    std::map<std::pair<std::string, metrics::Labels>, SystemTime> last_seen_;
    std::map<std::string, prometheus::Counter*> rejected_;  // per counter metric; empty without a registry
};

}  // namespace cargomon::collectors
