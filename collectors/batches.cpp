#include "collectors/batches.h"

#include <algorithm>
#include <set>

#include "cargo/rerun_outcome.h"
#include "collectors/batch_failures.h"
#include "collectors/series.h"

namespace cargomon::collectors {

namespace {

constexpr const char* kRuns = "cargo_batch_runs";
constexpr const char* kCredits = "cargo_batch_credits_used";
constexpr const char* kStatus = "cargo_batch_status";
constexpr const char* kByStatus = "cargo_workflow_batches";
constexpr const char* kPartial = "cargo_workflow_partially_failed_batches";
constexpr const char* kFailedByNode = "cargo_batch_failed_runs_by_node";
constexpr const char* kTopError = "cargo_batch_top_error_info";
constexpr const char* kRerun = "cargo_batch_rerun_outcome";

// batch_uuid is a label here, which is safe only because it is bounded: at most
// `limit` recent batches per covered workflow are exported, older ones vanish; per
// batch, at most kFailedNodesPerBatch nodes and one error message.
const FamilyTable& families() {
    static const FamilyTable table({
        {.name = kRuns,
         .help = "Runs of a recent batch: total, executed, failed, unfinished (total - executed)",
         .labels = workflow_label_names({"batch_uuid", "state"})},
        {.name = kCredits, .help = "Credits used by a recent batch", .labels = workflow_label_names({"batch_uuid"})},
        {.name = kStatus,
         .help = "Status of a recent batch (1 for its status)",
         .labels = workflow_label_names({"batch_uuid", "status"})},
        {.name = kByStatus,
         .help = "Recent batches of the workflow created in the window, by status",
         .labels = workflow_label_names({"status", "window"})},
        {.name = kPartial,
         .help = "Recent batches of the workflow created in the window that succeeded with failed runs",
         .labels = workflow_label_names({"window"})},
        {.name = kFailedByNode,
         .help = "Failed runs of a recent batch by the node where they failed (the batch's top 3 nodes)",
         .labels = workflow_label_names({"batch_uuid", "node_slug"})},
        {.name = kTopError,
         .help = "The most frequent error message at the node where most runs of a recent batch failed (always 1)",
         .labels = workflow_label_names({"batch_uuid", "node_slug", "error_message"})},
        {.name = kRerun,
         .help = "A recent re-run of a recent batch (its data names batch_uuid), by what it achieved: running, "
                 "recovered (every run it re-ran ended well), still_failing or cancelled (always 1)",
         .labels = workflow_label_names({"batch_uuid", "rerun_batch_uuid", "result"})},
    });
    return table;
}

constexpr const char* kStatuses[] = {"pending", "syncing",    "skipped", "querying", "running",
                                     "success", "cancelling", "error",   "cancelled"};

}  // namespace

BatchesCollector::BatchesCollector(std::string name, config::BatchesSpec spec, cargo::ApiClient& client,
                                   const WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry* registry,
                                   std::size_t page_rows)
    : name_(std::move(name)),
      spec_(spec),
      client_(client),
      catalog_(catalog),
      clock_(clock),
      duplicates_(duplicate_rows_counter(registry, name_)),
      page_rows_(page_rows),
      strategy_(name_, spec_.strategy, registry),
      failures_strategy_(name_, spec_.strategy, registry) {}

std::vector<std::string> BatchesCollector::metric_names() const { return families().names(); }

metrics::Snapshot BatchesCollector::collect(const CollectContext& context) {
    const auto workflows = catalog_.require();
    const auto window_start = whole_seconds(clock_.now()) - spec_.window;
    const auto window = window_label(spec_.window);

    RecentBatches recent;
    const bool from_sql = strategy_.run([&] { recent = batches_sql(window_start, context); },
                                        [&] { recent = batches_api(*workflows, window_start, context); });

    // Where failed runs failed, only when some batch we publish has any: the query reads
    // every errored span of the window.
    std::map<std::string, std::vector<NodeFailures>> failures;
    bool any_failed = false;
    for (const auto& w : workflows->covered)
        if (auto it = recent.find(w.uuid); it != recent.end())
            for (const auto& b : it->second) any_failed |= b.failed_runs_count > 0;
    if (from_sql && any_failed)
        failures_strategy_.run([&] { failures = batch_failures(client_, window_start, context, clock_, page_rows_); },
                               [] {});

    auto runs = families().family(kRuns);
    auto credits = families().family(kCredits);
    auto status = families().family(kStatus);
    auto by_status = families().family(kByStatus);
    auto partial = families().family(kPartial);
    auto failed_by_node = families().family(kFailedByNode);
    auto top_error = families().family(kTopError);
    auto rerun = families().family(kRerun);

    static const std::vector<cargo::Batch> none;
    for (const auto& w : workflows->covered) {
        auto it = recent.find(w.uuid);
        const auto& batches = it == recent.end() ? none : it->second;
        std::map<std::string, double> per_status;
        for (const char* s : kStatuses) per_status[s] = 0;
        double partially_failed = 0;
        std::set<std::string> published;
        for (const auto& b : batches) published.insert(b.uuid);
        for (const auto& b : batches) {
            // Under its source's uuid, so that a rule on the source can see it recovered.
            if (b.rerun_of && published.count(*b.rerun_of)) {
                const auto outcome = cargo::rerun_outcome(b);
                rerun.add(workflow_labels(w, {{"batch_uuid", *b.rerun_of},
                                              {"rerun_batch_uuid", b.uuid},
                                              {"result", outcome ? std::string(outcome->result) : "running"}}),
                          1);
            }
            auto labels = [&](metrics::Labels more) {
                more.emplace_back("batch_uuid", b.uuid);
                return workflow_labels(w, std::move(more));
            };
            runs.add(labels({{"state", "total"}}), static_cast<double>(b.runs_count));
            runs.add(labels({{"state", "executed"}}), static_cast<double>(b.executed_runs_count));
            runs.add(labels({{"state", "failed"}}), static_cast<double>(b.failed_runs_count));
            runs.add(labels({{"state", "unfinished"}}),
                     static_cast<double>(std::max<std::int64_t>(0, b.runs_count - b.executed_runs_count)));
            credits.add(labels({}), b.credits_used_count);
            status.add(labels({{"status", b.status}}), 1);
            per_status[b.status] += 1;
            if (b.status == "success" && b.failed_runs_count > 0) partially_failed += 1;

            auto failed = failures.find(b.uuid);
            if (b.failed_runs_count <= 0 || failed == failures.end()) continue;
            std::set<std::string> nodes;  // printable() may merge two slugs; one series each
            for (const auto& node : failed->second)
                if (nodes.insert(node.node_slug).second)
                    failed_by_node.add(labels({{"node_slug", node.node_slug}}), node.failed_runs);
            const auto& top = failed->second.front();
            top_error.add(labels({{"node_slug", top.node_slug}, {"error_message", top.top_error}}), 1);
        }
        for (const auto& [s, n] : per_status)
            by_status.add(workflow_labels(w, {{"status", s}, {"window", window}}), n);
        partial.add(workflow_labels(w, {{"window", window}}), partially_failed);
    }
    metrics::Snapshot snapshot;
    for (auto* f : {&runs, &credits, &status, &by_status, &partial, &failed_by_node, &top_error, &rerun})
        snapshot.families.push_back(std::move(*f).take());
    return snapshot;
}

BatchesCollector::RecentBatches BatchesCollector::batches_api(const Workflows& workflows, SystemTime window_start,
                                                              const CollectContext& context) {
    RecentBatches out;
    for (const auto& w : workflows.covered) {
        check_time_left(context, clock_);
        auto batches = client_.list_batches({.workflow_uuids = {w.uuid}, .limit = spec_.limit});
        drop_repeated_rows(batches, [](const cargo::Batch& b) { return b.uuid; }, duplicates_);
        // Newest first, so `limit` keeps the most recent whatever order the API used.
        std::sort(batches.begin(), batches.end(), [](const cargo::Batch& a, const cargo::Batch& b) {
            return a.created_at.value_or(SystemTime{}) > b.created_at.value_or(SystemTime{});
        });
        auto& kept = out[w.uuid];
        for (auto& b : batches) {
            if (kept.size() == static_cast<std::size_t>(spec_.limit)) break;
            if (!b.created_at || *b.created_at < window_start) continue;
            kept.push_back(std::move(b));
        }
    }
    return out;
}

// The same batches as `limit` newest per workflow through the API, then those in the
// window: the newest `limit` in the window (the newest overall that are in it).
BatchesCollector::RecentBatches BatchesCollector::batches_sql(SystemTime window_start, const CollectContext& context) {
    auto sql_for = [&](const std::string& condition) {
        return "SELECT workflow_uuid, uuid, status, runs_count, executed_runs_count, failed_runs_count, "
               "credits_used_count, toUnixTimestamp(created_at) AS created_unix, "
               "visitParamExtractString(data, 'batchUuid') AS rerun_of FROM batches WHERE created_at >= " +
               sql_datetime(window_start) + " AND " + condition +
               " ORDER BY workflow_uuid, created_at DESC, uuid DESC LIMIT " + std::to_string(spec_.limit) +
               " BY workflow_uuid";
    };
    constexpr const char* kWhat = "batches query";
    RecentBatches out;
    for_each_row_by_workflow(client_, context, clock_, sql_for, [&](const cargo::QueryResult& result, std::size_t r) {
        auto text = [&](const char* column) { return cell_text(result, r, column, kWhat); };
        auto number = [&](const char* column) { return cell_number(result, r, column, kWhat); };
        cargo::Batch b{.uuid = text("uuid"),
                       .workflow_uuid = text("workflow_uuid"),
                       .rerun_of = [&]() -> std::optional<std::string> {
                           // "" for a batch whose data names none. visitParamExtractString (the
                           // first "batchUuid" key anywhere in data: only a re-run's filter has one)
                           // is in every ClickHouse, the sim's 18.16 too, unlike JSONExtract*.
                           std::string of = cell_text(result, r, "rerun_of", kWhat, true);
                           if (of.empty()) return std::nullopt;
                           return of;
                       }(),
                       .status = text("status"),
                       .runs_count = static_cast<std::int64_t>(number("runs_count")),
                       .executed_runs_count = static_cast<std::int64_t>(number("executed_runs_count")),
                       .failed_runs_count = static_cast<std::int64_t>(number("failed_runs_count")),
                       .credits_used_count = number("credits_used_count"),
                       .created_at = SystemTime{std::chrono::seconds{static_cast<std::int64_t>(number("created_unix"))}}};
        out[b.workflow_uuid].push_back(std::move(b));
    }, page_rows_);
    return out;
}

}  // namespace cargomon::collectors
