#include "collectors/run_metrics.h"

#include "collectors/series.h"

namespace cargomon::collectors {

namespace {

constexpr const char* kExecutions = "cargo_node_executions";
constexpr const char* kCredits = "cargo_node_credits_used";

const FamilyTable& families() {
    static const FamilyTable table({
        {.name = kExecutions,
         .help = "Node executions of the runs in scope, by status",
         .labels = workflow_label_names({"node_uuid", "node_slug", "status"})},
        {.name = kCredits,
         .help = "Credits used by the node in the runs in scope",
         .labels = workflow_label_names({"node_uuid", "node_slug"})},
    });
    return table;
}

}  // namespace

RunMetricsCollector::RunMetricsCollector(std::string name, config::RunMetricsSpec spec, cargo::ApiClient& client,
                                         const WorkflowCatalog& catalog, const Clock& clock,
                                         prometheus::Registry* registry)
    : name_(std::move(name)),
      spec_(spec),
      client_(client),
      catalog_(catalog),
      clock_(clock),
      duplicates_(duplicate_rows_counter(registry, name_)) {}

std::vector<std::string> RunMetricsCollector::metric_names() const { return families().names(); }

metrics::Snapshot RunMetricsCollector::collect(const CollectContext& context) {
    const auto workflows = catalog_.require();
    const auto window_start = whole_seconds(clock_.now()) - spec_.window;

    auto executions = families().family(kExecutions);
    auto credits = families().family(kCredits);
    for (const auto& w : workflows->covered) {
        cargo::RunMetricsFilter filter;
        switch (spec_.scope) {
            case config::RunMetricsScope::window: filter.created_after = window_start; break;
            case config::RunMetricsScope::release:
                if (!w.deployed_release_uuid) continue;  // never deployed: no release to describe
                filter.release_uuid = w.deployed_release_uuid;
                break;
            case config::RunMetricsScope::all: break;
        }
        check_time_left(context, clock_);
        auto nodes = client_.run_metrics(w.uuid, filter);
        drop_repeated_rows(nodes, [](const cargo::RunMetric& m) { return m.node_uuid; }, duplicates_);
        for (const auto& m : nodes) {
            const auto& slug = w.node_slug(m.node_uuid);
            const std::pair<const char*, std::int64_t> by_status[] = {
                {"idle", m.idle},           {"pending", m.pending},     {"running", m.running},
                {"success", m.success},     {"error", m.error},         {"cancelling", m.cancelling},
                {"cancelled", m.cancelled}, {"skipped", m.skipped}};
            for (const auto& [status, n] : by_status)
                executions.add(
                    workflow_labels(w, {{"node_uuid", m.node_uuid}, {"node_slug", slug}, {"status", status}}),
                    static_cast<double>(n));
            credits.add(workflow_labels(w, {{"node_uuid", m.node_uuid}, {"node_slug", slug}}), m.credits_used);
        }
    }
    metrics::Snapshot snapshot;
    snapshot.families.push_back(std::move(executions).take());
    snapshot.families.push_back(std::move(credits).take());
    return snapshot;
}

}  // namespace cargomon::collectors
