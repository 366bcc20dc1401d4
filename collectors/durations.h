#pragma once
// The durations collector: how long work takes and what is stuck, each figure from one
// grouped query on /orchestration/query per cycle whatever the number of workflows
// (quantiles computed by ClickHouse):
// - run durations per workflow and node execution durations per node, as summaries over
//   the runs and spans that finished in `window` (count, sum, quantiles 0.5/0.9/0.99);
// - each workflow's unfinished batches (the oldest `limit`), their age and progress;
// - each workflow's p90 batch duration over the batches that finished in `baseline`,
//   what a stuck batch is measured against;
// - each workflow's runs waiting to start (status pending, created in `baseline`).
// The API has no per-workflow route for any of it, so there is no api strategy: a token
// that may not run SQL fails the collector (reason request).
#include <prometheus/registry.h>

#include "cargo/client.h"
#include "collectors/catalog.h"
#include "collectors/collector.h"
#include "collectors/grouped_sql.h"
#include "config/config.h"

namespace cargomon::collectors {

class DurationsCollector final : public Collector {
public:
    // `page_rows` is the grouped queries' page size: the API's cap, smaller in tests.
    DurationsCollector(std::string name, config::DurationsSpec spec, cargo::ApiClient& client,
                       const WorkflowCatalog& catalog, const Clock& clock, std::size_t page_rows = kMaxQueryRows);

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "durations"; }
    std::vector<std::string> metric_names() const override;
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    std::string name_;
    config::DurationsSpec spec_;
    cargo::ApiClient& client_;
    const WorkflowCatalog& catalog_;
    const Clock& clock_;
    std::size_t page_rows_;
};

}  // namespace cargomon::collectors
