#include "collectors/factory.h"

#include "collectors/batches.h"
#include "collectors/credits.h"
#include "collectors/discovery.h"
#include "collectors/durations.h"
#include "collectors/query.h"
#include "collectors/run_counts.h"
#include "collectors/run_metrics.h"
#include "collectors/series.h"
#include "collectors/subscription.h"

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
                [&](const config::SubscriptionSpec& s) -> std::unique_ptr<Collector> {
                    return std::make_unique<SubscriptionCollector>(c.name, s, d.client, d.clock);
                },
                [&](const config::DurationsSpec& s) -> std::unique_ptr<Collector> {
                    return std::make_unique<DurationsCollector>(c.name, s, d.client, d.catalog, d.clock);
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

cargo::ClientOptions client_options(const config::Config& c) {
    return cargo::ClientOptions{
        .base_url = c.api_url,
        .token = c.token,
        .workspace_uuid = c.workspace_uuid.value_or(""),
        .timeout = c.client.timeout,
        .connect_timeout = c.client.connect_timeout,
        .max_in_flight = c.client.max_in_flight,
        .rate_limit_per_s = c.client.rate_limit,
        .retry = {.max_attempts = c.client.retry.max_attempts,
                  .initial_backoff = c.client.retry.initial_backoff,
                  .max_backoff = c.client.retry.max_backoff,
                  .budget = c.client.retry.budget},
        .answers = {.max_bytes = c.client.max_answer_bytes,
                    .max_compressed_bytes = c.client.max_compressed_answer_bytes},
        .downloads = {.max_bytes = c.client.max_download_bytes,
                      .max_compressed_bytes = c.client.max_compressed_download_bytes},
    };
}

Connection make_connection(const config::Config& config, prometheus::Registry& registry, const Clock& clock,
                           std::shared_ptr<cargo::Pacer> pacer) {
    const cargo::ClientOptions options = client_options(config);
    Connection c;
    c.transport = cargo::make_http_transport(options);
    c.sleeper = std::make_unique<cargo::ClockSleeper>(clock);
    c.client = std::make_unique<cargo::ApiClient>(options, *c.transport, registry, clock, *c.sleeper, std::move(pacer));
    return c;
}

Collection build_collection(const config::Config& config, WorkflowCatalog& catalog, WatermarkStore* watermarks,
                            prometheus::Registry& registry, const Clock& clock) {
    Collection collection{.connection = make_connection(config, registry, clock), .collectors = {}};
    collection.collectors = make_collectors(config.collectors, {.client = *collection.connection.client,
                                                                .catalog = catalog,
                                                                .clock = clock,
                                                                .registry = registry,
                                                                .watermarks = watermarks});
    return collection;
}

}  // namespace cargomon::collectors
