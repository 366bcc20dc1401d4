#pragma once
// The run_metrics collector: per covered workflow and node, executions by status and
// credits used (/orchestration/runs/metrics), over a window, the deployed release or all
// runs. Nodes are labelled with their slug from discovery, or their uuid.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "cargo/client.h"
#include "collectors/catalog.h"
#include "collectors/collector.h"
#include "config/config.h"

namespace cargomon::collectors {

class RunMetricsCollector final : public Collector {
public:
    // A node the API lists twice is kept once and counted in
    // cargomon_collector_duplicate_rows_total{collector} (in `registry`, when given).
    RunMetricsCollector(std::string name, config::RunMetricsSpec spec, cargo::ApiClient& client,
                        const WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry* registry = nullptr);

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "run_metrics"; }
    std::vector<std::string> metric_names() const override;
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    std::string name_;
    config::RunMetricsSpec spec_;
    cargo::ApiClient& client_;
    const WorkflowCatalog& catalog_;
    const Clock& clock_;
    prometheus::Counter* duplicates_;
};

}  // namespace cargomon::collectors
