#include "collectors/run_counts.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "collectors/series.h"

namespace cargomon::collectors {

namespace {

// Finished as Cargo's own error-rate alerts count it: a terminal status.
constexpr const char* kFinished[] = {"success", "error", "cancelled", "skipped"};

constexpr const char* kRuns = "cargo_workflow_runs";
constexpr const char* kFinishedRuns = "cargo_workflow_finished_runs";
constexpr const char* kRatio = "cargo_workflow_error_ratio";

}  // namespace

RunCountsCollector::RunCountsCollector(std::string name, config::RunCountsSpec spec, cargo::ApiClient& client,
                                       const WorkflowCatalog& catalog, const Clock& clock,
                                       prometheus::Registry& registry)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      counted_statuses_(spec_.statuses),
      client_(client),
      catalog_(catalog),
      clock_(clock),
      fallbacks_(prometheus::BuildCounter()
                     .Name("cargomon_run_counts_sql_fallbacks_total")
                     .Help("Run counts computed per workflow through the API because the SQL query failed")
                     .Register(registry)
                     .Add({{"collector", name_}})) {
    if (spec_.ratios)
        for (const char* s : kFinished)
            if (std::find(counted_statuses_.begin(), counted_statuses_.end(), s) == counted_statuses_.end())
                counted_statuses_.emplace_back(s);
}

std::vector<std::string> RunCountsCollector::metric_names() const {
    if (!spec_.ratios) return {kRuns};
    return {kRuns, kFinishedRuns, kRatio};
}

metrics::Snapshot RunCountsCollector::collect(const CollectContext& context) {
    const auto workflows = catalog_.require();
    // One instant per collection, whole seconds: the SQL literal and createdAfter agree.
    const auto now = whole_seconds(clock_.now());

    auto runs = make_family(kRuns, "Runs created in the window, by status");
    auto finished = make_family(kFinishedRuns,
                                "Runs created in the window that finished (success, error, cancelled, skipped)");
    auto ratio = make_family(kRatio,
                             "Errors over finished runs created in the window; absent when none finished");

    for (const auto window : spec_.windows) {
        const auto start = now - window;
        Counts counts;
        if (spec_.strategy == config::CountStrategy::api) {
            counts = count_api(*workflows, start, context);
        } else {
            try {
                counts = count_sql(start, context);
            } catch (const cargo::ApiError& e) {
                if (spec_.strategy == config::CountStrategy::sql) throw;
                fallbacks_.Increment();
                if (!fallback_logged_.exchange(true))
                    spdlog::warn("collector {}: SQL run counts failed, counting through the API instead: {}", name_,
                                 e.what());
                counts = count_api(*workflows, start, context);
            }
        }
        const auto window_text = window_label(window);
        for (const auto& w : workflows->covered) {
            auto count = [&](const std::string& status) {
                auto it = counts.find({w.uuid, status});
                return it == counts.end() ? 0.0 : it->second;
            };
            for (const auto& status : spec_.statuses)
                runs.samples.push_back({workflow_labels(w, {{"status", status}, {"window", window_text}}), count(status)});
            if (!spec_.ratios) continue;
            double done = 0;
            for (const char* s : kFinished) done += count(s);
            finished.samples.push_back({workflow_labels(w, {{"window", window_text}}), done});
            if (done > 0) ratio.samples.push_back({workflow_labels(w, {{"window", window_text}}), count("error") / done});
        }
    }
    metrics::Snapshot snapshot;
    snapshot.families.push_back(std::move(runs));
    if (spec_.ratios) {
        snapshot.families.push_back(std::move(finished));
        snapshot.families.push_back(std::move(ratio));
    }
    return snapshot;
}

RunCountsCollector::Counts RunCountsCollector::count_sql(SystemTime window_start, const CollectContext& context) {
    check_time_left(context, clock_);
    const auto result = client_.query("SELECT workflow_uuid, status, count() AS runs FROM runs WHERE created_at >= " +
                                      sql_datetime(window_start) + " GROUP BY workflow_uuid, status");
    Counts counts;
    if (result.row_count() == 0) return counts;
    const auto wf = result.column("workflow_uuid");
    const auto status = result.column("status");
    const auto runs = result.column("runs");
    if (!wf || !status || !runs) throw cargo::ParseError("run counts query: answer lacks its columns", 200, "", "");
    for (std::size_t r = 0; r < result.row_count(); ++r) {
        const auto* w = result.at(r, *wf).text();
        const auto* s = result.at(r, *status).text();
        const auto n = result.at(r, *runs).as_double();
        if (!w || !s || !n) throw cargo::ParseError("run counts query: row " + std::to_string(r) + " is malformed", 200, "", "");
        counts[{*w, *s}] += *n;
    }
    return counts;
}

RunCountsCollector::Counts RunCountsCollector::count_api(const Workflows& workflows, SystemTime window_start,
                                                         const CollectContext& context) {
    Counts counts;
    for (const auto& w : workflows.covered) {
        for (const auto& status : counted_statuses_) {
            check_time_left(context, clock_);
            const auto n = client_.count_runs({.workflow_uuid = w.uuid, .statuses = {status}, .created_after = window_start});
            counts[{w.uuid, status}] = static_cast<double>(n);
        }
    }
    return counts;
}

}  // namespace cargomon::collectors
