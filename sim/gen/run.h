#pragma once
// One run of a workflow played out: which nodes execute, for how long, at what cost
// and how the run ends; and the rows that run leaves. Shared by the history generator
// and the live generator so both tell the same story.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/gen/random.h"
#include "sim/gen/generator.h"
#include "sim/gen/workspace.h"

namespace cargomon::sim {

enum class RunForce { none, fail, succeed };   // fail: one node without fallback errors
enum class RunStuck { no, running, pending };  // a run that never reaches a terminal state

struct RunKnobs {
    RunForce force = RunForce::none;
    RunStuck stuck = RunStuck::no;
    double credit_factor = 1.0;
    double duration_scale = 1.0;  // < 1 plays the run faster than real Cargo would
};

struct Execution {
    const Node* node = nullptr;
    std::string_view status;  // "success", "error" or "pending" (never finishes)
    const std::string* error_message = nullptr;
    double credits = 0;
    std::chrono::milliseconds started{0}, finished{0};  // offsets from the run's start
};

struct RunPlan {
    std::vector<Execution> executions;  // reused from run to run
    std::string_view status;            // "success", "error", "running" or "pending"
    const std::string* error_message = nullptr;
    std::chrono::milliseconds duration{0};  // until the last execution ended
    double credits = 0;
    bool finished() const { return status == "success" || status == "error"; }
};

// A run through a release's graph from its entry node: one child taken at each branch.
void plan_run(const std::vector<Node>& nodes, Rng& rng, const RunKnobs& knobs, RunPlan& plan);

// A batch's counters as its runs make them: runs_count, executed_runs_count (runs
// in a terminal state), failed_runs_count (runs in error) and the credits of their spans.
struct BatchTally {
    std::uint64_t runs = 0, executed = 0, failed = 0;
    double credits = 0;
    SystemTime last_finished;  // of the runs counted as executed

    void add(const RunPlan& plan, SystemTime started);
    void add_cancelled(SystemTime at);
};

// How many records a new batch holds: skewed so most batches are small.
int batch_records(Rng& rng, int max_records);
// A batch's `data`: plays start from their segment, tools from an uploaded file, and a
// re-run (non-empty `rerun_of`) retries the failed runs of an earlier batch.
std::string batch_data(const Workflow& workflow, std::string_view rerun_of, Rng& rng);

// No run of `workflow` lasts longer (node durations are capped at 5x their mean).
std::chrono::milliseconds max_run_duration(const Workflow& workflow);

// The per-run identifiers that are not in the plan, drawn without allocating.
struct RunIdentity {
    char uuid[36];
    char trace_uuid[36];
    char record_id[24];
    char record_title[64];
    std::size_t record_title_size = 0;
    void draw(Rng& rng);
};

struct RunEmit {
    const Workspace& workspace;
    const Workflow& workflow;
    std::string_view batch_uuid;
    std::string_view release_uuid;  // the batch's
};

// Writes the run's spans, the run and its record. Returns the number of spans.
std::size_t emit_run(const RunEmit& where, const RunIdentity& id, const RunPlan& plan, SystemTime started,
                     RowSink& sink);

// Writes a run that was cancelled before it started: a run and its record, no spans.
void emit_cancelled_run(const RunEmit& where, const RunIdentity& id, SystemTime at, RowSink& sink);

}  // namespace cargomon::sim
