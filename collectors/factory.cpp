#include "collectors/factory.h"

#include "collectors/batches.h"
#include "collectors/credits.h"
#include "collectors/discovery.h"
#include "collectors/query.h"
#include "collectors/run_counts.h"
#include "collectors/run_metrics.h"
#include "collectors/series.h"

namespace cargomon::collectors {

namespace {

template <class... F>
struct Overload : F... {
    using F::operator()...;
};
// clang 14 (the fuzz build) has no aggregate deduction yet.
template <class... F>
Overload(F...) -> Overload<F...>;

}  // namespace

std::vector<ScheduledCollector> make_collectors(const std::vector<config::CollectorConfig>& configs,
                                                const CollectorDeps& d) {
    std::vector<ScheduledCollector> out;
    for (const auto& c : configs) {
        auto collector = std::visit(
            Overload{
                [&](const config::DiscoverySpec& s) -> std::unique_ptr<Collector> {
                    return std::make_unique<DiscoveryCollector>(c.name, s, d.client, d.catalog, d.clock, &d.registry);
                },
                [&](const config::RunCountsSpec& s) -> std::unique_ptr<Collector> {
                    return std::make_unique<RunCountsCollector>(c.name, s, d.client, d.catalog, d.clock, d.registry);
                },
                [&](const config::RunMetricsSpec& s) -> std::unique_ptr<Collector> {
                    return std::make_unique<RunMetricsCollector>(c.name, s, d.client, d.catalog, d.clock, &d.registry);
                },
                [&](const config::BatchesSpec& s) -> std::unique_ptr<Collector> {
                    return std::make_unique<BatchesCollector>(c.name, s, d.client, d.catalog, d.clock, &d.registry);
                },
                [&](const config::CreditsSpec& s) -> std::unique_ptr<Collector> {
                    return std::make_unique<CreditsCollector>(c.name, s, d.client, d.catalog, d.clock);
                },
                [&](const config::QuerySpec& s) -> std::unique_ptr<Collector> {
                    return std::make_unique<QueryCollector>(c.name, s, c.schedule, d.client, d.clock, d.watermarks,
                                                            &d.registry);
                },
            },
            c.spec);
        out.push_back({limit_series(std::move(collector), c.schedule.max_series, &d.registry), c.schedule});
    }
    return out;
}

}  // namespace cargomon::collectors
