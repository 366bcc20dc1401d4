#include "collectors/run_counts.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include "collectors/series.h"

namespace cargomon::collectors {

namespace {

// Finished as Cargo's own error-rate alerts count it: a terminal status.
constexpr const char* kFinished[] = {"success", "error", "cancelled", "skipped"};

constexpr const char* kRuns = "cargo_workflow_runs";
constexpr const char* kFinishedRuns = "cargo_workflow_finished_runs";
constexpr const char* kRatio = "cargo_workflow_error_ratio";

// The finished runs and the ratio only with `ratios`.
FamilyTable declare_families(bool ratios) {
    std::vector<FamilyDescriptor> families{
        {.name = kRuns,
         .help = "Runs created in the window, by status",
         .labels = workflow_label_names({"status", "window"})},
        {.name = kFinishedRuns,
         .help = "Runs created in the window that finished (success, error, cancelled, skipped)",
         .labels = workflow_label_names({"window"})},
        {.name = kRatio,
         .help = "Errors over finished runs created in the window; absent when none finished",
         .labels = workflow_label_names({"window"})},
    };
    if (!ratios) families.resize(1);
    return FamilyTable(std::move(families));
}

std::string format_number(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

}  // namespace

RunCountsCollector::RunCountsCollector(std::string name, config::RunCountsSpec spec, cargo::ApiClient& client,
                                       const WorkflowCatalog& catalog, const Clock& clock,
                                       prometheus::Registry& registry)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      counted_statuses_(spec_.statuses),
      families_(declare_families(spec_.ratios)),
      client_(client),
      catalog_(catalog),
      clock_(clock),
      strategy_(name_, spec_.strategy, &registry) {
    if (spec_.ratios)
        for (const char* s : kFinished)
            if (std::find(counted_statuses_.begin(), counted_statuses_.end(), s) == counted_statuses_.end())
                counted_statuses_.emplace_back(s);
}

std::vector<std::string> RunCountsCollector::metric_names() const { return families_.names(); }

metrics::Snapshot RunCountsCollector::collect(const CollectContext& context) {
    const auto workflows = catalog_.require();
    // One instant per collection, whole seconds: the SQL literal and createdAfter agree.
    const auto now = whole_seconds(clock_.now());

    auto runs = families_.family(kRuns);
    std::optional<DeclaredFamily> finished, ratio;
    if (spec_.ratios) {
        finished = families_.family(kFinishedRuns);
        ratio = families_.family(kRatio);
    }

    std::vector<SystemTime> starts;
    for (const auto window : spec_.windows) starts.push_back(now - window);
    std::vector<Counts> by_window;
    // A refused query refuses every window alike: the first refusal sends the whole
    // collection to the API, which needs the time.
    strategy_.run(
        [&] {
            std::vector<Counts> counted;
            for (const auto start : starts) counted.push_back(count_sql(start, context));
            by_window = std::move(counted);
        },
        [&] { by_window = count_api(*workflows, starts, context); });

    for (std::size_t i = 0; i < spec_.windows.size(); ++i) {
        const Counts& counts = by_window.at(i);
        const auto window_text = window_label(spec_.windows[i]);
        for (const auto& w : workflows->covered) {
            auto count = [&](const std::string& status) {
                auto it = counts.find({w.uuid, status});
                return it == counts.end() ? 0.0 : it->second;
            };
            for (const auto& status : spec_.statuses)
                runs.add(workflow_labels(w, {{"status", status}, {"window", window_text}}), count(status));
            if (!spec_.ratios) continue;
            double done = 0;
            for (const char* s : kFinished) done += count(s);
            finished->add(workflow_labels(w, {{"window", window_text}}), done);
            if (done > 0) ratio->add(workflow_labels(w, {{"window", window_text}}), count("error") / done);
        }
    }
    metrics::Snapshot snapshot;
    snapshot.families.push_back(std::move(runs).take());
    if (spec_.ratios) {
        snapshot.families.push_back(std::move(*finished).take());
        snapshot.families.push_back(std::move(*ratio).take());
    }
    return snapshot;
}

RunCountsCollector::Counts RunCountsCollector::count_sql(SystemTime window_start, const CollectContext& context) {
    check_time_left(context, clock_);
    const auto result = client_.query("SELECT workflow_uuid, status, count() AS runs FROM runs WHERE created_at >= " +
                                      sql_datetime(window_start) + " GROUP BY workflow_uuid, status");
    Counts counts;
    constexpr std::string_view what = "run counts query";
    for (std::size_t r = 0; r < result.row_count(); ++r)
        counts[{cell_text(result, r, "workflow_uuid", what), cell_text(result, r, "status", what)}] +=
            cell_number(result, r, "runs", what);
    return counts;
}

// /runs/count answers one number per call (statuses[] gives their sum), so counts per
// workflow and status take a call each: 12 workflows x 8 statuses x 2 windows is 192
// calls, 38 s at 5 requests/s. Most statuses are empty in most windows, so each status is
// first counted once over the whole workspace, and only the statuses that have runs are
// counted per workflow. What is left is known before it starts: when it cannot fit in
// the run's time at the client's rate, the run fails at once saying what it would take.
std::vector<RunCountsCollector::Counts> RunCountsCollector::count_api(const Workflows& workflows,
                                                                      const std::vector<SystemTime>& window_starts,
                                                                      const CollectContext& context) {
    std::vector<Counts> out(window_starts.size());
    std::vector<std::vector<std::string>> with_runs(window_starts.size());
    for (std::size_t i = 0; i < window_starts.size(); ++i)
        for (const auto& status : counted_statuses_) {
            check_time_left(context, clock_);
            if (client_.count_runs({.statuses = {status}, .created_after = window_starts[i]}) > 0)
                with_runs[i].push_back(status);
        }

    std::size_t needed = 0;
    for (const auto& statuses : with_runs) needed += statuses.size() * workflows.covered.size();
    const double rate = client_.options().rate_limit_per_s;
    const auto left = std::chrono::duration<double>(context.deadline - clock_.monotonic()).count();
    if (rate > 0 && static_cast<double>(needed) > rate * std::max(0.0, left)) {
        std::string per_window;
        for (std::size_t i = 0; i < with_runs.size(); ++i)
            per_window += (i ? ", " : "") + std::to_string(with_runs[i].size()) + " in " + window_label(spec_.windows[i]);
        throw CollectorError(
            "timeout",
            "counting runs through the API needs " + std::to_string(needed) + " more calls (" +
                std::to_string(workflows.covered.size()) + " workflows x the statuses that have runs: " + per_window +
                "), about " + std::to_string(static_cast<long>(std::ceil(static_cast<double>(needed) / rate))) +
                " s at " + format_number(rate) + " requests/s, more than the " +
                std::to_string(static_cast<long>(std::max(0.0, left))) +
                " s left of this run's timeout; raise the collector's timeout (and interval), client.rate_limit, "
                "narrow windows or statuses, or let the token run SQL");
    }
    for (std::size_t i = 0; i < window_starts.size(); ++i)
        for (const auto& w : workflows.covered)
            for (const auto& status : with_runs[i]) {
                check_time_left(context, clock_);
                const auto n =
                    client_.count_runs({.workflow_uuid = w.uuid, .statuses = {status}, .created_after = window_starts[i]});
                out[i][{w.uuid, status}] = static_cast<double>(n);
            }
    return out;
}

}  // namespace cargomon::collectors
