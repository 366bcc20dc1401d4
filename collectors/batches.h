#pragma once
// The batches collector: the recent batches of each covered workflow (created within the
// window, at most `limit` of them) with their run counts, credits and status, plus per
// workflow the batches by status and the partially failed ones (success with failed runs).
// Strategy sql reads every workflow's batches with one grouped query on `batches`
// (LIMIT limit BY workflow, a few pages past 10,000 rows); api lists them per workflow
// (/orchestration/batches/list); auto tries sql and falls back to api when it is refused.
// With SQL, it also says where the failed runs of each of those batches failed (the top
// nodes, and the top node's most frequent error), from one more grouped query on `spans`;
// the API offers that only per batch, so the api strategy leaves it out.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <map>

#include "cargo/client.h"
#include "collectors/catalog.h"
#include "collectors/collector.h"
#include "collectors/grouped_sql.h"
#include "config/config.h"

namespace cargomon::collectors {

class BatchesCollector final : public Collector {
public:
    // A batch the API lists twice is kept once and counted in
    // cargomon_collector_duplicate_rows_total{collector}; SQL fallbacks are counted in
    // cargomon_collector_sql_fallbacks_total{collector} (both in `registry`, when given).
    // `page_rows` is the grouped queries' page size: the API's cap, smaller in tests.
    BatchesCollector(std::string name, config::BatchesSpec spec, cargo::ApiClient& client,
                     const WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry* registry = nullptr,
                     std::size_t page_rows = kMaxQueryRows);

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "batches"; }
    std::vector<std::string> metric_names() const override;
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    // workflow uuid -> its batches in the window, newest first, at most `limit`
    using RecentBatches = std::map<std::string, std::vector<cargo::Batch>>;
    RecentBatches batches_sql(SystemTime window_start, const CollectContext& context);
    RecentBatches batches_api(const Workflows& workflows, SystemTime window_start, const CollectContext& context);

    std::string name_;
    config::BatchesSpec spec_;
    cargo::ApiClient& client_;
    const WorkflowCatalog& catalog_;
    const Clock& clock_;
    prometheus::Counter* duplicates_;
    std::size_t page_rows_;
    SqlStrategy strategy_;
    // The failures query on its own: refused (too many spans to read, say), the batches
    // are still published, without where their runs failed.
    SqlStrategy failures_strategy_;
};

}  // namespace cargomon::collectors
