#pragma once
// What failed in a batch and why, read from the API: the partial-failure procedure of
// Cargo's analytics guide (the batch's counters, its failed runs counted again, where
// and why each failed). `cargomon batch doctor|rerun` prints it; the daemon's automatic
// re-runs (actions/engine.h) read the same failed runs to pick the transient ones.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cargo/client.h"

namespace cargomon::actions {

// Failed runs read per batch: the API's own cap on a runs export. Past it, groups and
// ids are of the first 10,000 and say so; counts still come from the API.
inline constexpr int kMaxFailedRuns = 10'000;

// One failed run: where it stopped (its last failed execution) and why (that
// execution's message, else the run's).
struct FailedRun {
    std::string uuid;
    std::string record_id;
    std::string node_slug;               // "" when no execution failed
    std::optional<std::string> message;  // the API's text, uncut
};
FailedRun failure_of(const cargo::Run& run);

// The failed runs (status error) of `batch`, in the API's order, at most `max`; reading
// stops early once `enough` says so (given the runs read so far).
std::vector<FailedRun> read_failed_runs(
    cargo::ApiClient& client, const cargo::Batch& batch, int max = kMaxFailedRuns,
    const std::function<bool(const std::vector<FailedRun>&)>& enough = nullptr);


// Everything doctor reports and a re-run needs.
struct Diagnosis {
    cargo::Batch batch;
    std::string workflow_name;
    std::string owner_kind;  // "play", "tool" or ""
    std::string owner_uuid;  // the play's or the tool's uuid; "" when neither owns the workflow
    std::optional<std::string> model_uuid;
    std::optional<std::string> deployed_release_uuid;
    std::vector<cargo::WorkflowNode> nodes;  // the deployed release's, else the workflow's
    std::int64_t confirmed_failed = 0;       // runs/count, status error
    std::vector<FailedRun> failed_runs;      // read to group them (at most kMaxFailedRuns)
    std::map<std::string, std::int64_t> by_node;     // "(no failed execution)" for none
    std::map<std::string, std::int64_t> by_message;  // printable(); "(no message)" for none
    std::vector<std::string> failed_record_ids;      // in the order read, each once

    std::int64_t failed_read() const { return static_cast<std::int64_t>(failed_runs.size()); }
    bool finished() const { return batch.finished_at.has_value(); }
    std::int64_t unfinished() const {
        return finished() ? std::max<std::int64_t>(0, batch.runs_count - batch.executed_runs_count) : 0;
    }
    bool healthy() const {
        return batch.failed_runs_count == 0 && confirmed_failed == 0 && batch.status != "error" && unfinished() == 0;
    }
    bool complete() const { return failed_read() >= confirmed_failed; }
};

// Reads the batch, its workflow (name, owner, nodes) and its failed runs.
Diagnosis diagnose(cargo::ApiClient& client, const std::string& batch_uuid);

}  // namespace cargomon::actions
