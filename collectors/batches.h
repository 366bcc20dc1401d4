#pragma once
// The batches collector: the recent batches of each covered workflow (created within the
// window, at most `limit` of them) with their run counts, credits and status, plus per
// workflow the batches by status and the partially failed ones (success with failed runs).
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "cargo/client.h"
#include "collectors/catalog.h"
#include "collectors/collector.h"
#include "config/config.h"

namespace cargomon::collectors {

class BatchesCollector final : public Collector {
public:
    // A batch the API lists twice is kept once and counted in
    // cargomon_collector_duplicate_rows_total{collector} (in `registry`, when given).
    BatchesCollector(std::string name, config::BatchesSpec spec, cargo::ApiClient& client,
                     const WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry* registry = nullptr);

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "batches"; }
    std::vector<std::string> metric_names() const override;
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    std::string name_;
    config::BatchesSpec spec_;
    cargo::ApiClient& client_;
    const WorkflowCatalog& catalog_;
    const Clock& clock_;
    prometheus::Counter* duplicates_;
};

}  // namespace cargomon::collectors
