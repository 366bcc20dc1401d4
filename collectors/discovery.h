#pragma once
// The discovery collector: lists workflows, plays and tools, names every workflow after
// its play or tool, keeps those selected by include/exclude in the WorkflowCatalog, and
// exports cargo_workflow_info for them.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <memory>
#include <vector>

#include "cargo/client.h"
#include "collectors/catalog.h"
#include "collectors/collector.h"
#include "config/config.h"

namespace re2 {
class RE2;
}

namespace cargomon::collectors {

class DiscoveryCollector final : public Collector {
public:
    // The regexes are RE2 (Go syntax, metrics::compile_regex) and searched anywhere in
    // the name; config checks them, so a bad one here throws std::invalid_argument.
    // A workflow the API lists twice is kept once and counted in
    // cargomon_collector_duplicate_rows_total{collector} (in `registry`, when given).
    DiscoveryCollector(std::string name, const config::DiscoverySpec& spec, cargo::ApiClient& client,
                       WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry* registry = nullptr);

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "discovery"; }
    std::vector<std::string> metric_names() const override;
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    bool covers(const std::string& workflow_name) const;

    std::string name_;
    std::vector<std::shared_ptr<const re2::RE2>> include_;
    std::vector<std::shared_ptr<const re2::RE2>> exclude_;
    cargo::ApiClient& client_;
    WorkflowCatalog& catalog_;
    const Clock& clock_;
    prometheus::Counter* duplicates_;
};

}  // namespace cargomon::collectors
