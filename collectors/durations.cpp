#include "collectors/durations.h"

#include <map>

#include "collectors/families.h"
#include "collectors/series.h"
#include "common/timefmt.h"

namespace cargomon::collectors {

namespace {

constexpr const char* kRunDuration = "cargo_workflow_run_duration_seconds";
constexpr const char* kNodeDuration = "cargo_node_execution_duration_seconds";
constexpr const char* kRunning = "cargo_batch_running_seconds";
constexpr const char* kProgress = "cargo_batch_progress_ratio";
constexpr const char* kBatchP90 = "cargo_workflow_batch_duration_p90_seconds";
constexpr const char* kPending = "cargo_workflow_runs_pending";

// batch_uuid is bounded by `limit` per workflow; created_at is the batch's, so a batch
// keeps one series for its life (its age is the value).
const FamilyTable& families() {
    static const FamilyTable table({
        {.name = kRunDuration,
         .help = "Seconds from a run's creation to its end, over the runs of the workflow that finished in the window",
         .type = metrics::MetricType::summary,
         .labels = workflow_label_names({"window"})},
        {.name = kNodeDuration,
         .help = "Seconds a node's executions took, over those that finished in the window",
         .type = metrics::MetricType::summary,
         .labels = workflow_label_names({"node_uuid", "node_slug", "window"})},
        {.name = kRunning,
         .help = "Seconds since an unfinished batch was created (the workflow's oldest unfinished batches)",
         .labels = workflow_label_names({"batch_uuid", "created_at"})},
        {.name = kProgress,
         .help = "Share of an unfinished batch's runs that reached a terminal state (executed / total; 0 when it "
                 "has no runs yet)",
         .labels = workflow_label_names({"batch_uuid", "created_at"})},
        {.name = kBatchP90,
         .help = "90th percentile of the durations (creation to end) of the workflow's batches that finished in "
                 "the baseline; absent when none did",
         .labels = workflow_label_names({"window"})},
        {.name = kPending,
         .help = "Runs of the workflow waiting to start (status pending), among those created in the baseline",
         .labels = workflow_label_names({"window"})},
    });
    return table;
}

constexpr const char* kQuantiles[] = {"0.5", "0.9", "0.99"};

// count, sum and the three quantiles of `seconds`, computed by ClickHouse; quantileExact
// so that the figures are the same on every evaluation of the same rows.
std::string summary_columns(const std::string& seconds) {
    std::string out = "count() AS n, sum(" + seconds + ") AS total";
    for (std::size_t i = 0; i < std::size(kQuantiles); ++i)
        out += ", quantileExact(" + std::string(kQuantiles[i]) + ")(" + seconds + ") AS q" + std::to_string(i);
    return out;
}

struct Summary {
    double count = 0, sum = 0;
    double quantiles[std::size(kQuantiles)] = {};
};

Summary summary_of(const cargo::QueryResult& result, std::size_t r, std::string_view what) {
    Summary s{.count = cell_number(result, r, "n", what), .sum = cell_number(result, r, "total", what)};
    for (std::size_t i = 0; i < std::size(kQuantiles); ++i)
        s.quantiles[i] = cell_number(result, r, "q" + std::to_string(i), what);
    return s;
}

void add_summary(DeclaredFamily& family, const metrics::Labels& labels, const Summary& s) {
    std::vector<DeclaredFamily::Quantile> quantiles;
    for (std::size_t i = 0; i < std::size(kQuantiles); ++i) quantiles.push_back({kQuantiles[i], s.quantiles[i]});
    family.add_summary(labels, s.count, s.sum, quantiles);
}

const WorkflowInfo* find_workflow(const Workflows& workflows, const std::string& uuid) {
    auto it = std::lower_bound(workflows.covered.begin(), workflows.covered.end(), uuid,
                               [](const WorkflowInfo& w, const std::string& u) { return w.uuid < u; });
    return it != workflows.covered.end() && it->uuid == uuid ? &*it : nullptr;
}

}  // namespace

DurationsCollector::DurationsCollector(std::string name, config::DurationsSpec spec, cargo::ApiClient& client,
                                       const WorkflowCatalog& catalog, const Clock& clock, std::size_t page_rows)
    : name_(std::move(name)), spec_(spec), client_(client), catalog_(catalog), clock_(clock), page_rows_(page_rows) {}

std::vector<std::string> DurationsCollector::metric_names() const { return families().names(); }

metrics::Snapshot DurationsCollector::collect(const CollectContext& context) {
    const auto workflows = catalog_.require();
    const auto now = whole_seconds(clock_.now());
    const std::string from = sql_datetime(now - spec_.window), to = sql_datetime(now);
    const std::string baseline_from = sql_datetime(now - spec_.baseline);
    const std::string window = window_label(spec_.window), baseline = window_label(spec_.baseline);

    auto for_each_row = [&](const std::function<std::string(const std::string&)>& sql_for, std::string_view what,
                            const std::function<void(const cargo::QueryResult&, std::size_t, const WorkflowInfo&)>& fn) {
        for_each_row_by_workflow(client_, context, clock_, sql_for, [&](const cargo::QueryResult& result, std::size_t r) {
            if (const auto* w = find_workflow(*workflows, cell_text(result, r, "workflow_uuid", what))) fn(result, r, *w);
        }, page_rows_);
    };

    // Runs: from creation (queued) to end, every run that ended in the window.
    auto runs = families().family(kRunDuration);
    for_each_row([&](const std::string& condition) {
        return "SELECT workflow_uuid, " + summary_columns("dateDiff('second', created_at, finished_at)") +
               " FROM runs WHERE finished_at >= " + from + " AND finished_at < " + to + " AND " + condition +
               " GROUP BY workflow_uuid ORDER BY workflow_uuid";
    }, "run durations query", [&](const cargo::QueryResult& result, std::size_t r, const WorkflowInfo& w) {
        add_summary(runs, workflow_labels(w, {{"window", window}}), summary_of(result, r, "run durations query"));
    });

    auto nodes = families().family(kNodeDuration);
    for_each_row([&](const std::string& condition) {
        return "SELECT workflow_uuid, node_uuid, " +
               summary_columns("dateDiff('second', execution_started_at, execution_finished_at)") +
               " FROM spans WHERE execution_finished_at >= " + from + " AND execution_finished_at < " + to +
               " AND " + condition + " GROUP BY workflow_uuid, node_uuid ORDER BY workflow_uuid, node_uuid";
    }, "node durations query", [&](const cargo::QueryResult& result, std::size_t r, const WorkflowInfo& w) {
        const std::string node = cell_text(result, r, "node_uuid", "node durations query");
        add_summary(nodes, workflow_labels(w, {{"node_uuid", node}, {"node_slug", w.node_slug(node)}, {"window", window}}),
                    summary_of(result, r, "node durations query"));
    });

    // Unfinished batches, the oldest first: a stuck one stays among them.
    auto running = families().family(kRunning);
    auto progress = families().family(kProgress);
    for_each_row([&](const std::string& condition) {
        return "SELECT workflow_uuid, uuid, runs_count, executed_runs_count, toUnixTimestamp(created_at) AS created_unix "
               "FROM batches WHERE finished_at IS NULL AND " + condition +
               " ORDER BY workflow_uuid, created_at, uuid LIMIT " + std::to_string(spec_.limit) + " BY workflow_uuid";
    }, "unfinished batches query", [&](const cargo::QueryResult& result, std::size_t r, const WorkflowInfo& w) {
        constexpr std::string_view kWhat = "unfinished batches query";
        const SystemTime created{std::chrono::seconds{static_cast<std::int64_t>(cell_number(result, r, "created_unix", kWhat))}};
        const double total = cell_number(result, r, "runs_count", kWhat);
        const double executed = cell_number(result, r, "executed_runs_count", kWhat);
        const auto labels = workflow_labels(
            w, {{"batch_uuid", cell_text(result, r, "uuid", kWhat)}, {"created_at", format_iso8601(created)}});
        running.add(labels, std::max(0.0, std::chrono::duration<double>(now - created).count()));
        progress.add(labels, total > 0 ? std::min(1.0, executed / total) : 0);
    });

    auto p90 = families().family(kBatchP90);
    for_each_row([&](const std::string& condition) {
        return "SELECT workflow_uuid, quantileExact(0.9)(dateDiff('second', created_at, finished_at)) AS p90 "
               "FROM batches WHERE finished_at >= " + baseline_from + " AND finished_at < " + to + " AND " +
               condition + " GROUP BY workflow_uuid ORDER BY workflow_uuid";
    }, "batch durations query", [&](const cargo::QueryResult& result, std::size_t r, const WorkflowInfo& w) {
        p90.add(workflow_labels(w, {{"window", baseline}}), cell_number(result, r, "p90", "batch durations query"));
    });

    std::map<std::string, double> pending_runs;
    for_each_row([&](const std::string& condition) {
        return "SELECT workflow_uuid, count() AS n FROM runs WHERE status = 'pending' AND created_at >= " +
               baseline_from + " AND " + condition + " GROUP BY workflow_uuid ORDER BY workflow_uuid";
    }, "pending runs query", [&](const cargo::QueryResult& result, std::size_t r, const WorkflowInfo& w) {
        pending_runs[w.uuid] = cell_number(result, r, "n", "pending runs query");
    });
    auto pending = families().family(kPending);
    for (const auto& w : workflows->covered)
        pending.add(workflow_labels(w, {{"window", baseline}}), pending_runs.count(w.uuid) ? pending_runs[w.uuid] : 0);

    metrics::Snapshot snapshot;
    for (auto* f : {&runs, &nodes, &running, &progress, &p90, &pending}) snapshot.families.push_back(std::move(*f).take());
    return snapshot;
}

}  // namespace cargomon::collectors
