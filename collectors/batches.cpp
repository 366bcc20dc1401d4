#include "collectors/batches.h"

#include <algorithm>
#include <map>

#include "collectors/series.h"

namespace cargomon::collectors {

namespace {

constexpr const char* kRuns = "cargo_batch_runs";
constexpr const char* kCredits = "cargo_batch_credits_used";
constexpr const char* kStatus = "cargo_batch_status";
constexpr const char* kByStatus = "cargo_workflow_batches";
constexpr const char* kPartial = "cargo_workflow_partially_failed_batches";

// batch_uuid is a label here, which is safe only because it is bounded: at most
// `limit` recent batches per covered workflow are exported, older ones vanish.
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
    });
    return table;
}

constexpr const char* kStatuses[] = {"pending", "syncing",    "skipped", "querying", "running",
                                     "success", "cancelling", "error",   "cancelled"};

}  // namespace

BatchesCollector::BatchesCollector(std::string name, config::BatchesSpec spec, cargo::ApiClient& client,
                                   const WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry* registry)
    : name_(std::move(name)),
      spec_(spec),
      client_(client),
      catalog_(catalog),
      clock_(clock),
      duplicates_(duplicate_rows_counter(registry, name_)) {}

std::vector<std::string> BatchesCollector::metric_names() const { return families().names(); }

metrics::Snapshot BatchesCollector::collect(const CollectContext& context) {
    const auto workflows = catalog_.require();
    const auto window_start = whole_seconds(clock_.now()) - spec_.window;
    const auto window = window_label(spec_.window);

    auto runs = families().family(kRuns);
    auto credits = families().family(kCredits);
    auto status = families().family(kStatus);
    auto by_status = families().family(kByStatus);
    auto partial = families().family(kPartial);

    for (const auto& w : workflows->covered) {
        check_time_left(context, clock_);
        auto batches = client_.list_batches({.workflow_uuids = {w.uuid}, .limit = spec_.limit});
        drop_repeated_rows(batches, [](const cargo::Batch& b) { return b.uuid; }, duplicates_);
        // Newest first, so `limit` keeps the most recent whatever order the API used.
        std::sort(batches.begin(), batches.end(), [](const cargo::Batch& a, const cargo::Batch& b) {
            return a.created_at.value_or(SystemTime{}) > b.created_at.value_or(SystemTime{});
        });
        std::map<std::string, double> per_status;
        for (const char* s : kStatuses) per_status[s] = 0;
        double partially_failed = 0;
        int kept = 0;
        for (const auto& b : batches) {
            if (kept == spec_.limit) break;
            if (!b.created_at || *b.created_at < window_start) continue;
            ++kept;
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
        }
        for (const auto& [s, n] : per_status)
            by_status.add(workflow_labels(w, {{"status", s}, {"window", window}}), n);
        partial.add(workflow_labels(w, {{"window", window}}), partially_failed);
    }
    metrics::Snapshot snapshot;
    for (auto* f : {&runs, &credits, &status, &by_status, &partial}) snapshot.families.push_back(std::move(*f).take());
    return snapshot;
}

}  // namespace cargomon::collectors
