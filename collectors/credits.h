#pragma once
// The credits collector: billing usage in credits (/billing/usage/metrics, unit
// billing.credits) for today, this month (UTC) and the configured window, grouped by each
// configured dimension: one usage request per dimension covers all three periods.
#include "cargo/client.h"
#include "collectors/catalog.h"
#include "collectors/collector.h"
#include "collectors/families.h"
#include "config/config.h"

namespace cargomon::collectors {

class CreditsCollector final : public Collector {
public:
    // Throws std::invalid_argument on a group_by dimension it does not know or gives twice.
    CreditsCollector(std::string name, config::CreditsSpec spec, cargo::ApiClient& client,
                     const WorkflowCatalog& catalog, const Clock& clock);

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "credits"; }
    std::vector<std::string> metric_names() const override;
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    std::string name_;
    config::CreditsSpec spec_;
    cargo::ApiClient& client_;
    const WorkflowCatalog& catalog_;
    const Clock& clock_;
    FamilyTable families_;  // one family per group_by dimension
};

}  // namespace cargomon::collectors
