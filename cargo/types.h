#pragma once
// The Cargo API's answers and filters, as far as a monitor reads them (docs/cargo-api.md).
// Statuses stay strings so a status added by Cargo tomorrow is reported, not rejected.
// Counts that arrive as null are 0; timestamps that arrive as null are nullopt. A batch's
// counts are never negative nor non-finite (the decoder refuses them).
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/clock.h"

namespace cargomon::cargo {

// One cell of an ad-hoc SQL answer. Numbers are doubles; nested arrays or objects
// (e.g. groupArray) are kept as their JSON text.
class Cell {
public:
    Cell() = default;
    explicit Cell(double number) : value_(number) {}
    explicit Cell(std::string text) : value_(std::move(text)) {}

    bool is_null() const { return std::holds_alternative<std::monostate>(value_); }
    const double* number() const { return std::get_if<double>(&value_); }
    const std::string* text() const { return std::get_if<std::string>(&value_); }
    // A number, or a string holding one ("123", "0.25"): 64-bit counts may arrive as strings.
    std::optional<double> as_double() const;

private:
    std::variant<std::monostate, double, std::string> value_;
};

struct QueryResult {
    std::vector<std::string> columns;  // in the order of the first row
    std::vector<Cell> cells;           // row-major: row r, column c at r * columns.size() + c

    std::size_t row_count() const { return columns.empty() ? 0 : cells.size() / columns.size(); }
    const Cell& at(std::size_t row, std::size_t column) const { return cells[row * columns.size() + column]; }
    std::optional<std::size_t> column(std::string_view name) const;
};

struct RunFilter {
    std::optional<std::string> workflow_uuid;
    std::vector<std::string> statuses;
    std::optional<std::string> batch_uuid;
    std::optional<std::string> release_uuid;
    std::optional<bool> is_finished;
    std::optional<std::string> record_id;
    std::optional<std::string> record_title;
    std::optional<SystemTime> created_after;
    std::optional<SystemTime> created_before;
    std::optional<SystemTime> updated_after;
    std::optional<SystemTime> updated_before;
};

// One node's execution inside a run: where a failed run stopped, and why.
struct Execution {
    std::string node_uuid;
    std::string node_slug;
    std::string status;  // "pending", "success", "error"
    std::optional<std::string> error_message;
};

struct Run {
    std::string uuid;
    std::string workflow_uuid;
    std::optional<std::string> batch_uuid;
    std::optional<std::string> release_uuid;
    std::string record_id;
    std::string record_title;
    std::string status;
    std::optional<std::string> error_message;
    std::vector<Execution> executions;
    std::optional<SystemTime> created_at;
    std::optional<SystemTime> finished_at;
};

// One page of runs/list, and how many runs match in all.
struct RunPage {
    std::vector<Run> runs;
    std::int64_t count = 0;
};

struct RunMetricsFilter {
    std::optional<std::string> release_uuid;
    std::optional<std::string> batch_uuid;
    std::optional<SystemTime> created_after;
    std::optional<SystemTime> created_before;
};

// Per node of a workflow: how many executions are in each state.
struct RunMetric {
    std::string node_uuid;
    std::int64_t total = 0;
    std::int64_t idle = 0;
    std::int64_t pending = 0;
    std::int64_t running = 0;
    std::int64_t success = 0;
    std::int64_t error = 0;
    std::int64_t cancelling = 0;
    std::int64_t cancelled = 0;
    std::int64_t skipped = 0;
    double credits_used = 0;
};

struct BatchFilter {
    std::vector<std::string> workflow_uuids;
    std::optional<std::string> release_uuid;
    std::vector<std::string> statuses;
    std::optional<bool> is_finished;
    std::optional<bool> has_runs;
    std::optional<int> limit;
    std::optional<int> offset;
};

struct Batch {
    std::string uuid;
    std::string workspace_uuid;
    std::string workflow_uuid;
    std::optional<std::string> release_uuid;
    std::string data_kind;  // data.kind: "segment", "runs", "file", ...
    // What a re-run's data names: data.filter.batchUuid (the batch it re-runs) and the
    // ids of a recordIds batch. Empty for other batches.
    std::optional<std::string> rerun_of;
    std::vector<std::string> record_ids;
    std::string status;
    std::optional<std::string> runs_status;  // "healthy", "unhealthy"
    std::int64_t runs_count = 0;
    std::int64_t executed_runs_count = 0;
    std::int64_t failed_runs_count = 0;
    double credits_used_count = 0;
    std::optional<std::string> error_message;
    std::optional<SystemTime> created_at;
    std::optional<SystemTime> updated_at;
    std::optional<SystemTime> finished_at;
};

struct LastBatch {
    std::string uuid;
    std::string status;
    std::optional<std::string> runs_status;
    std::optional<std::string> error_message;
    std::optional<SystemTime> created_at;
    std::optional<SystemTime> finished_at;
};

struct WorkflowNode {
    std::string uuid;
    std::string slug;
    std::string kind;  // "native", "connector", "tool", "agent"; "" when not said
    // A release's node: the nodes it leads to (childrenUuids, and fallbackChildUuid);
    // nullopt when the answer does not say (Cargo's docs show release nodes without
    // childrenUuids; the typings declare them). Unused for a workflow's node tree.
    std::optional<std::vector<std::string>> children_uuids;
};

// GET /orchestration/releases/{uuid}: one version of a workflow's graph. A batch and its
// runs keep the release they started with (Batch::release_uuid), whatever is deployed since.
struct Release {
    std::string uuid;
    std::string workflow_uuid;
    std::optional<std::string> version;
    std::string status;  // "draft", "deployed", "archived"; "" when not said
    std::vector<WorkflowNode> nodes;  // flat, linked by children_uuids; their order means nothing
};

// A workflow has no name; its play's or tool's name is the one users know.
struct Workflow {
    std::string uuid;
    std::optional<std::string> play_uuid;
    std::optional<std::string> tool_uuid;
    std::optional<LastBatch> last_batch;
    std::vector<WorkflowNode> nodes;  // the node tree flattened, children after their parent
    std::optional<std::string> deployed_release_uuid;
    std::vector<WorkflowNode> deployed_release_nodes;  // the release's flat node list, in its order
};

struct Play {
    std::string uuid;
    std::string workflow_uuid;
    std::string name;
    std::optional<std::string> model_uuid;  // what a recordIds batch of the play names
    bool is_enabled = false;
    double health_threshold = 0;
};

struct Tool {
    std::string uuid;
    std::string workflow_uuid;
    std::string name;
};

struct UsageQuery {
    SystemTime from;
    SystemTime to;
    std::optional<std::string> workflow_uuid;
    std::optional<std::string> group_by;  // "workflow_uuid", "connector_uuid", "integration_slug", ...
    std::optional<std::string> unit;      // "billing.credits", "orchestration.executions", "storage.records"
};

struct UsageItem {
    std::string slug;
    double count = 0;
    std::optional<std::string> group_by;  // the value of the grouping key, when grouped
};

struct UsageMetric {
    std::optional<SystemTime> date;
    std::vector<UsageItem> items;
};

// What happens to work once a unit's balance is spent: "deny" stops it, "allow" bills it.
struct OverageBehavior {
    std::string unit;  // "billing.credits", ...
    bool denied = false;
};

// The workspace's subscription (GET /billing/subscriptions): the credits of its current
// period and what happens when they run out.
struct Subscription {
    double available_credits = 0;   // subscriptionAvailableCreditsCount
    double used_credits = 0;        // subscriptionCreditsUsedCount, this period
    double additional_credits = 0;  // additionalAvailableCreditsCount
    std::vector<OverageBehavior> overage;
    std::optional<SystemTime> start_at;
    SystemTime reset_at;
    std::optional<SystemTime> end_at;
    bool has_credits = false;
};

}  // namespace cargomon::cargo
