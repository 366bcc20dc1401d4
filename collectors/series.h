#pragma once
// Small pieces every collector uses to build its snapshot and to respect its deadline.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "collectors/catalog.h"
#include "collectors/families.h"
#include "collectors/collector.h"
#include "common/clock.h"
#include "common/duration.h"
#include "metrics/model.h"

namespace cargomon::collectors {

// workflow_uuid and workflow_name, then `more`.
metrics::Labels workflow_labels(const WorkflowInfo& workflow, metrics::Labels more = {});
// The names of those labels, for a FamilyDescriptor: workflow_uuid, workflow_name, then `more`.
std::vector<std::string> workflow_label_names(std::vector<std::string> more = {});

// A window as a label value in one unit, the largest that divides it: "30d", "1d", "90m", "45s".
std::string window_label(Millis window);

// Window boundaries are whole seconds so SQL (second precision) and the API agree.
SystemTime whole_seconds(SystemTime t);

// A ClickHouse DateTime for the instant t, whole seconds: toDateTime(1764322294, 'UTC').
// Unix seconds mean the same instant whatever the server's time zone (a text literal is
// read in the server's zone), and the 'UTC' zone makes what a query derives from it
// (toDate($__from), toStartOfHour...) the UTC day and hour.
std::string sql_datetime(SystemTime t);

// Throws CollectorError("timeout") past the run's deadline, or ("stopped") once the
// scheduler is stopping. Called before each API call so a slow run gives up between calls.
void check_time_left(const CollectContext& context, const Clock& clock);

// Throws CollectorError("series_limit") when a collection holds more than `max_series`
// series, saying how many and which key raises the limit.
void check_series_limit(std::size_t series, std::size_t max_series);

// `collector`, with its collections capped at `max_series` series: one over it fails
// (check_series_limit) and publishes nothing, as a scrape over Prometheus' sample_limit
// does, so the last good snapshot is served until max_staleness. The limit is exported as
// cargomon_collector_series_limit{collector} (not when `registry` is null, in tests).
std::unique_ptr<Collector> limit_series(std::unique_ptr<Collector> collector, std::size_t max_series,
                                        prometheus::Registry* registry);

// cargomon_collector_duplicate_rows_total{collector}, exported at 0 from the start;
// nullptr without a registry (tests).
prometheus::Counter* duplicate_rows_counter(prometheus::Registry* registry, const std::string& collector);

// Keeps the first row of each key, in order, and counts the others in `repeats` (may be
// nullptr): the API can repeat a row (across pages, say), and one row kept twice would
// be a duplicate series, which fails the whole collection.
template <class Row, class KeyOf>
void drop_repeated_rows(std::vector<Row>& rows, KeyOf key_of, prometheus::Counter* repeats) {
    std::unordered_set<std::string> seen;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (!seen.insert(std::string(key_of(rows[i]))).second) continue;
        if (kept != i) rows[kept] = std::move(rows[i]);
        ++kept;
    }
    const std::size_t dropped = rows.size() - kept;
    rows.resize(kept);
    if (dropped > 0 && repeats) repeats->Increment(static_cast<double>(dropped));
}

}  // namespace cargomon::collectors
