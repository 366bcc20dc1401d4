#pragma once
// The deterministic workload: workspaces with their workflows, and a history of
// batches, runs, spans and records ending at a given instant. Same seed and same
// `now` give byte-identical rows.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "sim/clickhouse/clickhouse.h"
#include "sim/gen/workspace.h"

namespace cargomon::sim {

struct GeneratorOptions {
    int workflows = 20;  // per workspace
    std::chrono::milliseconds history = std::chrono::hours{24 * 7};
    std::uint64_t seed = 1;
    int workspaces = 1;
    SystemTime now;  // history ends here
};

// Throws std::invalid_argument naming the first option out of range (counts, a
// negative history, a window outside what ClickHouse DateTime holds: 1970 to 2105).
void validate(const GeneratorOptions& options);

// Workspaces, workflows (named plays and tools, 3-8 nodes each of the four node
// kinds), deterministic for a seed. Validates the options first.
std::vector<Workspace> generate_workspaces(const GeneratorOptions& options);

// One row of each table of sim/clickhouse/schema.cpp, one field per column. The string views
// point into the workspace or the generator and are valid only during the RowSink call.
using OptionalText = std::optional<std::string_view>;
using OptionalTime = std::optional<SystemTime>;

struct BatchRow {
    std::string_view uuid, workspace_uuid, workflow_uuid;
    OptionalText user_uuid, release_uuid;
    std::string_view data, status;
    OptionalText runs_status;
    std::uint64_t runs_count = 0, executed_runs_count = 0, failed_runs_count = 0;
    double credits_used_count = 0;
    OptionalText error_message;
    SystemTime created_at, updated_at;
    OptionalTime finished_at;
    std::uint64_t version = 1;
};

struct RunRow {
    std::string_view uuid, workspace_uuid, workflow_uuid;
    OptionalText user_uuid, release_uuid, batch_uuid;
    std::string_view trace_uuid, record_id, record_title, status;
    OptionalText error_message;
    SystemTime created_at, updated_at;
    OptionalTime finished_at;
};

struct SpanRow {
    std::string_view workspace_uuid, workflow_uuid, batch_uuid, trace_uuid, record_id, record_title, run_uuid;
    OptionalText release_uuid;
    std::string_view node_uuid, node_slug, node_kind, node_action_slug;
    OptionalText node_connector_uuid, node_integration_slug, node_tool_uuid, node_agent_uuid;
    std::uint32_t execution_index = 0;
    std::string_view execution_status;
    OptionalText execution_error_message;
    double execution_credits_used_count = 0;
    SystemTime execution_started_at, execution_updated_at;
    OptionalTime execution_finished_at;
};

struct RecordRow {
    std::string_view id, title, workspace_uuid, workflow_uuid;
    OptionalText batch_uuid;
    std::string_view run_uuid;
    OptionalText release_uuid;
    std::string_view status;
    OptionalText error_message;
    SystemTime created_at, updated_at;
    OptionalTime finished_at;
};

class RowSink {
public:
    virtual ~RowSink() = default;
    virtual void batch(const BatchRow&) = 0;
    virtual void run(const RunRow&) = 0;
    virtual void span(const SpanRow&) = 0;
    virtual void record(const RecordRow&) = 0;
};

// The history of one workspace over [now - history, now], every batch finished or
// given up on by `now` (a disabled play's batches stop halfway through the window).
// Rows arrive run by run; each batch row follows its runs.
void generate_history(const Workspace& workspace, const GeneratorOptions& options, RowSink& sink);

struct LoadStats {
    std::uint64_t batches = 0, runs = 0, spans = 0, records = 0;
    double seconds = 0;
};

// Drops each workspace's database if it exists (logging what it held), creates the schema
// again and inserts the history, streaming RowBinary blocks to ClickHouse while generating. Throws ClickHouseError when an insert fails.
LoadStats load_history(const ClickHouseClient& client, const std::vector<Workspace>& workspaces,
                       const GeneratorOptions& options);

}  // namespace cargomon::sim
