#pragma once
// The run_metrics collector: per covered workflow and node, executions by status and
// credits used, over a window, the deployed release or all runs. Strategy sql computes
// every workflow's nodes with one grouped query over `spans` joined to `runs` (a few
// pages past 10,000 nodes); api calls /orchestration/runs/metrics per workflow; auto
// tries sql and falls back to api when it is refused. Both give the same series: every
// node discovery lists (0 when it did not execute), plus nodes only the runs know. Nodes
// are labelled with their slug from discovery, or their uuid.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <map>

#include "cargo/client.h"
#include "collectors/catalog.h"
#include "collectors/collector.h"
#include "collectors/grouped_sql.h"
#include "config/config.h"

namespace cargomon::collectors {

class RunMetricsCollector final : public Collector {
public:
    // A node the API lists twice is kept once and counted in
    // cargomon_collector_duplicate_rows_total{collector}; SQL fallbacks are counted in
    // cargomon_collector_sql_fallbacks_total{collector} (both in `registry`, when given).
    // `page_rows` is the grouped query's page size: the API's cap, smaller in tests.
    RunMetricsCollector(std::string name, config::RunMetricsSpec spec, cargo::ApiClient& client,
                        const WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry* registry = nullptr,
                        std::size_t page_rows = kMaxQueryRows);

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "run_metrics"; }
    std::vector<std::string> metric_names() const override;
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    // workflow uuid -> its nodes' metrics; only workflows in scope have an entry
    using NodeMetrics = std::map<std::string, std::vector<cargo::RunMetric>>;
    NodeMetrics metrics_sql(const Workflows& workflows, SystemTime window_start, const CollectContext& context);
    NodeMetrics metrics_api(const Workflows& workflows, SystemTime window_start, const CollectContext& context);

    std::string name_;
    config::RunMetricsSpec spec_;
    cargo::ApiClient& client_;
    const WorkflowCatalog& catalog_;
    const Clock& clock_;
    prometheus::Counter* duplicates_;
    std::size_t page_rows_;
    SqlStrategy strategy_;
};

}  // namespace cargomon::collectors
