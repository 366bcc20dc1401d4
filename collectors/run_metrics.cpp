#include "collectors/run_metrics.h"

#include <set>

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

// The statuses of RunMetric, as SQL over spans computes them the way runs/metrics does:
// an execution is pending, success or error; a pending one counts under its run's status
// when that run is idle, running, cancelling, cancelled or skipped, as pending otherwise.
constexpr const char* kStatusSql =
    "countIf(execution_status = 'pending' AND run_status = 'idle') AS idle, "
    "countIf(execution_status = 'pending' AND run_status NOT IN ('idle', 'running', 'cancelling', 'cancelled', "
    "'skipped')) AS pending, "
    "countIf(execution_status = 'pending' AND run_status = 'running') AS running, "
    "countIf(execution_status = 'success') AS success, "
    "countIf(execution_status = 'error') AS error, "
    "countIf(execution_status = 'pending' AND run_status = 'cancelling') AS cancelling, "
    "countIf(execution_status = 'pending' AND run_status = 'cancelled') AS cancelled, "
    "countIf(execution_status = 'pending' AND run_status = 'skipped') AS skipped";

}  // namespace

RunMetricsCollector::RunMetricsCollector(std::string name, config::RunMetricsSpec spec, cargo::ApiClient& client,
                                         const WorkflowCatalog& catalog, const Clock& clock,
                                         prometheus::Registry* registry, std::size_t page_rows)
    : name_(std::move(name)),
      spec_(spec),
      client_(client),
      catalog_(catalog),
      clock_(clock),
      duplicates_(duplicate_rows_counter(registry, name_)),
      page_rows_(page_rows),
      strategy_(name_, spec_.strategy, registry) {}

std::vector<std::string> RunMetricsCollector::metric_names() const { return families().names(); }

metrics::Snapshot RunMetricsCollector::collect(const CollectContext& context) {
    const auto workflows = catalog_.require();
    const auto window_start = whole_seconds(clock_.now()) - spec_.window;

    NodeMetrics by_workflow;
    strategy_.run([&] { by_workflow = metrics_sql(*workflows, window_start, context); },
                  [&] { by_workflow = metrics_api(*workflows, window_start, context); });

    auto executions = families().family(kExecutions);
    auto credits = families().family(kCredits);
    for (const auto& w : workflows->covered) {
        auto nodes = by_workflow.find(w.uuid);
        if (nodes == by_workflow.end()) continue;
        for (const auto& m : nodes->second) {
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

RunMetricsCollector::NodeMetrics RunMetricsCollector::metrics_api(const Workflows& workflows, SystemTime window_start,
                                                                  const CollectContext& context) {
    NodeMetrics out;
    for (const auto& w : workflows.covered) {
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
        out[w.uuid] = std::move(nodes);
    }
    return out;
}

// One query for every workflow: the runs in scope (a window of created_at, the deployed
// releases, or all), their spans grouped by workflow and node.
RunMetricsCollector::NodeMetrics RunMetricsCollector::metrics_sql(const Workflows& workflows, SystemTime window_start,
                                                                  const CollectContext& context) {
    NodeMetrics out;
    std::string runs_where = "1", spans_where = "1";
    switch (spec_.scope) {
        case config::RunMetricsScope::window:
            runs_where = "created_at >= " + sql_datetime(window_start);
            // A run's spans start no earlier than the run: lets ClickHouse skip older parts.
            spans_where = "execution_started_at >= " + sql_datetime(window_start);
            break;
        case config::RunMetricsScope::release: {
            std::string releases;
            for (const auto& w : workflows.covered)
                if (w.deployed_release_uuid) releases += (releases.empty() ? "" : ", ") + sql_string(*w.deployed_release_uuid);
            if (releases.empty()) return out;  // nothing deployed: nothing in scope
            runs_where = "release_uuid IN (" + releases + ")";
            break;
        }
        case config::RunMetricsScope::all: break;
    }
    auto sql_for = [&](const std::string& condition) {
        return std::string("SELECT workflow_uuid, node_uuid, count() AS total, ") + kStatusSql +
               ", sum(execution_credits_used_count) AS credits FROM spans ALL INNER JOIN (SELECT uuid AS run_uuid, "
               "status AS run_status FROM runs WHERE " +
               runs_where + ") USING run_uuid WHERE " + spans_where + " AND " + condition +
               " GROUP BY workflow_uuid, node_uuid ORDER BY workflow_uuid, node_uuid";
    };
    constexpr const char* kWhat = "run metrics query";
    for_each_row_by_workflow(client_, context, clock_, sql_for, [&](const cargo::QueryResult& result, std::size_t r) {
        auto number = [&](const char* column) { return cell_number(result, r, column, kWhat); };
        auto text = [&](const char* column) { return cell_text(result, r, column, kWhat); };
        auto count = [&](const char* column) { return static_cast<std::int64_t>(number(column)); };
        out[text("workflow_uuid")].push_back({.node_uuid = text("node_uuid"),
                                              .total = count("total"),
                                              .idle = count("idle"),
                                              .pending = count("pending"),
                                              .running = count("running"),
                                              .success = count("success"),
                                              .error = count("error"),
                                              .cancelling = count("cancelling"),
                                              .cancelled = count("cancelled"),
                                              .skipped = count("skipped"),
                                              .credits_used = number("credits")});
    }, page_rows_);
    // runs/metrics lists every node of the workflow, those that did not execute at 0.
    for (const auto& w : workflows.covered) {
        if (spec_.scope == config::RunMetricsScope::release && !w.deployed_release_uuid) continue;
        auto& nodes = out[w.uuid];
        std::set<std::string> seen;
        for (const auto& m : nodes) seen.insert(m.node_uuid);
        for (const auto& [uuid, slug] : w.node_slugs)
            if (!seen.count(uuid)) nodes.push_back({.node_uuid = uuid});
    }
    return out;
}

}  // namespace cargomon::collectors
