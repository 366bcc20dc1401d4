#pragma once
// The run_counts collector: runs per covered workflow and status over each window, and
// (with ratios) the error ratio of finished runs. Strategy sql answers every workflow
// with one grouped /orchestration/query per window; api counts per workflow and status
// (for tokens without SQL rights); auto tries sql and falls back to api when the query is
// refused (SqlStrategy, as the grouped SQL collectors do).
#include <prometheus/registry.h>

#include <map>

#include "cargo/client.h"
#include "collectors/catalog.h"
#include "collectors/collector.h"
#include "collectors/families.h"
#include "collectors/grouped_sql.h"
#include "config/config.h"

namespace cargomon::collectors {

class RunCountsCollector final : public Collector {
public:
    // Counts fallbacks from sql to api in cargomon_collector_sql_fallbacks_total{collector}.
    RunCountsCollector(std::string name, config::RunCountsSpec spec, cargo::ApiClient& client,
                       const WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry& registry);

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "run_counts"; }
    std::vector<std::string> metric_names() const override;
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    // (workflow uuid, status) -> runs created at or after the window start
    using Counts = std::map<std::pair<std::string, std::string>, double>;
    Counts count_sql(SystemTime window_start, const CollectContext& context);
    // Every window at once, so the calls the fallback needs are known before it starts.
    std::vector<Counts> count_api(const Workflows& workflows, const std::vector<SystemTime>& window_starts,
                                  const CollectContext& context);

    std::string name_;
    config::RunCountsSpec spec_;
    std::vector<std::string> counted_statuses_;  // spec statuses plus the finished ones when ratios
    FamilyTable families_;  // the finished runs and ratio only with ratios
    cargo::ApiClient& client_;
    const WorkflowCatalog& catalog_;
    const Clock& clock_;
    SqlStrategy strategy_;
};

}  // namespace cargomon::collectors
