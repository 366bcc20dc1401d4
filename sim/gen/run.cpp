#include "sim/gen/run.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace cargomon::sim {
namespace {

using std::chrono::milliseconds;

constexpr double kDurationCap = 5.0;  // x the node's mean

milliseconds node_duration(const Node& node, Rng& rng, double scale) {
    double s = scale * std::min(rng.exponential(node.mean_duration_s), kDurationCap * node.mean_duration_s);
    return milliseconds{std::max<std::int64_t>(10, static_cast<std::int64_t>(s * 1000))};
}

double node_credits(const Node& node, Rng& rng, double factor) {
    // Agents bill by the steps they take; everything else a fixed price.
    double base =
        node.kind == NodeKind::agent ? node.credits_per_execution * rng.between(1, 3) : node.credits_per_execution;
    return base * factor;
}

const std::string* pick_error(const Node& node, Rng& rng) {
    if (node.error_messages.empty()) return nullptr;
    return &node.error_messages[rng.below(node.error_messages.size())];
}

// The node a forced failure happens at: any node of the run's path without a fallback
// (the entry node has none), so the run really ends in error.
std::size_t forced_failure_node(const std::vector<const Node*>& path, Rng& rng) {
    std::size_t candidates = 0;
    for (const Node* n : path) candidates += n->has_fallback ? 0 : 1;
    std::size_t pick = rng.below(candidates);
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i]->has_fallback) continue;
        if (pick-- == 0) return i;
    }
    return 0;
}

// The nodes a run goes through: from the entry node, one child at each node (drawn only
// where the graph branches), until a node without children. A cycle ends it.
void run_path(const std::vector<Node>& nodes, Rng& rng, std::vector<const Node*>& path) {
    path.clear();
    if (nodes.empty()) return;
    const Node* at = &nodes.front();
    while (at && path.size() < nodes.size()) {
        path.push_back(at);
        const auto& children = at->children_uuids;
        if (children.empty()) break;
        const std::string& next = children[children.size() == 1 ? 0 : rng.below(children.size())];
        at = nullptr;
        for (const Node& n : nodes)
            if (n.uuid == next) at = &n;
    }
}

OptionalText nullable(const std::string& s) { return s.empty() ? OptionalText{} : OptionalText{s}; }

}  // namespace

void BatchTally::add(const RunPlan& plan, SystemTime started) {
    ++runs;
    credits += plan.credits;  // a run that never finishes still paid for the nodes it got through
    if (!plan.finished()) return;
    ++executed;
    failed += plan.status == "error" ? 1 : 0;
    last_finished = std::max(last_finished, started + plan.duration);
}

void BatchTally::add_cancelled(SystemTime at) {
    ++runs;
    ++executed;
    last_finished = std::max(last_finished, at);
}

// exp(u^3 * ln(max)) has a median near 3 and a mean near max/25.
int batch_records(Rng& rng, int max_records) {
    double u = rng.uniform();
    double n = std::exp(u * u * u * std::log(static_cast<double>(max_records) + 1));
    return std::clamp(static_cast<int>(n), 1, max_records);
}

std::string batch_data(const Workflow& wf, std::string_view rerun_of, Rng& rng) {
    if (!rerun_of.empty())
        return R"({"kind":"runs","filter":{"kind":"runs","batchUuid":")" + std::string(rerun_of) +
               R"(","statuses":["error"]},"reset":{"from":"firstNode"}})";
    if (wf.kind == WorkflowKind::play) return R"({"kind":"segment","segmentUuid":")" + wf.segment_uuid + "\"}";
    return R"({"kind":"records","s3Filename":"uploads/)" + rng.uuid() + ".csv\"}";
}

milliseconds max_run_duration(const Workflow& workflow) {
    double s = 0;
    for (const Node& n : workflow.nodes) s += kDurationCap * n.mean_duration_s;
    return milliseconds{static_cast<std::int64_t>(s * 1000) + 10 * static_cast<std::int64_t>(workflow.nodes.size())};
}

void plan_run(const std::vector<Node>& nodes, Rng& rng, const RunKnobs& knobs, RunPlan& plan) {
    plan.executions.clear();
    plan.error_message = nullptr;
    plan.credits = 0;
    plan.duration = milliseconds{0};
    if (knobs.stuck == RunStuck::pending) {
        plan.status = "pending";
        return;
    }
    thread_local std::vector<const Node*> path;
    run_path(nodes, rng, path);
    const std::size_t n = path.size();
    const std::size_t forced_at = knobs.force == RunForce::fail ? forced_failure_node(path, rng) : n;
    const std::size_t stuck_at = knobs.stuck == RunStuck::running ? rng.below(n) : n;
    milliseconds t{0};
    plan.status = "success";
    for (std::size_t i = 0; i < n; ++i) {
        const Node& node = *path[i];
        Execution e;
        e.node = &node;
        e.started = t;
        if (i == stuck_at) {
            e.status = "pending";
            plan.executions.push_back(e);
            plan.status = "running";
            break;
        }
        e.finished = t + node_duration(node, rng, knobs.duration_scale);
        bool fails = knobs.force == RunForce::none ? rng.chance(node.error_rate) : i == forced_at;
        if (fails) {
            e.status = "error";
            e.error_message = pick_error(node, rng);
        } else {
            e.status = "success";
            e.credits = node_credits(node, rng, knobs.credit_factor);
        }
        plan.credits += e.credits;
        plan.executions.push_back(e);
        t = e.finished;
        if (fails && !node.has_fallback) {
            plan.status = "error";
            plan.error_message = e.error_message;
            break;
        }
    }
    plan.duration = t;
}

void RunIdentity::draw(Rng& rng) {
    static constexpr const char* kCompanies[] = {
        "Acme",           "Globex",          "Initech",  "Umbrella",  "Hooli",    "Stark",
        "Wayne",          "Wonka",           "Soylent",  "Cyberdyne", "Vandelay", "Pied Piper",
        "Dunder Mifflin", "Massive Dynamic", "Tyrell",   "Aperture",  "Oscorp",   "Nakatomi",
        "Gringotts",      "Monarch",         "Vehement", "Contoso",   "Fabrikam", "Northwind"};
    static constexpr const char* kSuffixes[] = {" Inc",   " Labs",      " Systems", " GmbH",   " Ltd",
                                                " Group", " Analytics", " Cloud",   " Health", " Capital"};
    static constexpr char hex[] = "0123456789abcdef";
    rng.uuid(uuid);
    rng.uuid(trace_uuid);
    std::uint64_t a = rng.next(), b = rng.next();
    for (int i = 0; i < 12; ++i) record_id[i] = hex[(a >> (4 * i)) & 0xF];
    for (int i = 0; i < 12; ++i) record_id[12 + i] = hex[(b >> (4 * i)) & 0xF];
    const char* company = kCompanies[rng.below(std::size(kCompanies))];
    const char* suffix = kSuffixes[rng.below(std::size(kSuffixes))];
    std::size_t c = std::strlen(company), s = std::strlen(suffix);
    std::memcpy(record_title, company, c);
    std::memcpy(record_title + c, suffix, s);
    record_title_size = c + s;
}

std::size_t emit_run(const RunEmit& where, const RunIdentity& id, const RunPlan& plan, SystemTime started,
                     RowSink& sink) {
    const Workflow& wf = where.workflow;
    const std::string_view run_uuid(id.uuid, 36), trace_uuid(id.trace_uuid, 36);
    const std::string_view record_id(id.record_id, sizeof id.record_id);
    const std::string_view title(id.record_title, id.record_title_size);
    const OptionalText release = where.release_uuid.empty() ? OptionalText{} : OptionalText{where.release_uuid};

    SpanRow span;
    span.workspace_uuid = where.workspace.uuid;
    span.workflow_uuid = wf.uuid;
    span.batch_uuid = where.batch_uuid;
    span.trace_uuid = trace_uuid;
    span.record_id = record_id;
    span.record_title = title;
    span.run_uuid = run_uuid;
    span.release_uuid = release;
    std::uint32_t index = 0;
    for (const Execution& e : plan.executions) {
        const Node& node = *e.node;
        span.node_uuid = node.uuid;
        span.node_slug = node.slug;
        span.node_kind = to_string(node.kind);
        span.node_action_slug = node.action_slug;
        span.node_connector_uuid = nullable(node.connector_uuid);
        span.node_integration_slug = nullable(node.integration_slug);
        span.node_tool_uuid = nullable(node.tool_uuid);
        span.node_agent_uuid = nullable(node.agent_uuid);
        span.execution_index = index++;
        span.execution_status = e.status;
        span.execution_error_message = e.error_message ? OptionalText{*e.error_message} : OptionalText{};
        span.execution_credits_used_count = e.credits;
        span.execution_started_at = started + e.started;
        if (e.status == "pending") {
            span.execution_updated_at = span.execution_started_at;
            span.execution_finished_at.reset();
        } else {
            span.execution_updated_at = started + e.finished;
            span.execution_finished_at = started + e.finished;
        }
        sink.span(span);
    }

    const OptionalText error = plan.error_message ? OptionalText{*plan.error_message} : OptionalText{};
    const SystemTime updated = started + plan.duration;
    const OptionalTime finished = plan.finished() ? OptionalTime{updated} : OptionalTime{};
    RunRow run{.uuid = run_uuid,
               .workspace_uuid = where.workspace.uuid,
               .workflow_uuid = wf.uuid,
               .user_uuid = nullable(wf.user_uuid),
               .release_uuid = release,
               .batch_uuid = where.batch_uuid,
               .trace_uuid = trace_uuid,
               .record_id = record_id,
               .record_title = title,
               .status = plan.status,
               .error_message = error,
               .created_at = started,
               .updated_at = updated,
               .finished_at = finished};
    sink.run(run);
    RecordRow record{.id = record_id,
                     .title = title,
                     .workspace_uuid = where.workspace.uuid,
                     .workflow_uuid = wf.uuid,
                     .batch_uuid = where.batch_uuid,
                     .run_uuid = run_uuid,
                     .release_uuid = release,
                     .status = plan.status,
                     .error_message = error,
                     .created_at = started,
                     .updated_at = updated,
                     .finished_at = finished};
    sink.record(record);
    return plan.executions.size();
}

void emit_cancelled_run(const RunEmit& where, const RunIdentity& id, SystemTime at, RowSink& sink) {
    const Workflow& wf = where.workflow;
    const OptionalText release = where.release_uuid.empty() ? OptionalText{} : OptionalText{where.release_uuid};
    const std::string_view run_uuid(id.uuid, 36);
    const std::string_view record_id(id.record_id, sizeof id.record_id);
    const std::string_view title(id.record_title, id.record_title_size);
    sink.run(RunRow{.uuid = run_uuid,
                    .workspace_uuid = where.workspace.uuid,
                    .workflow_uuid = wf.uuid,
                    .user_uuid = nullable(wf.user_uuid),
                    .release_uuid = release,
                    .batch_uuid = where.batch_uuid,
                    .trace_uuid = std::string_view(id.trace_uuid, 36),
                    .record_id = record_id,
                    .record_title = title,
                    .status = "cancelled",
                    .error_message = {},
                    .created_at = at,
                    .updated_at = at,
                    .finished_at = at});
    sink.record(RecordRow{.id = record_id,
                          .title = title,
                          .workspace_uuid = where.workspace.uuid,
                          .workflow_uuid = wf.uuid,
                          .batch_uuid = where.batch_uuid,
                          .run_uuid = run_uuid,
                          .release_uuid = release,
                          .status = "cancelled",
                          .error_message = {},
                          .created_at = at,
                          .updated_at = at,
                          .finished_at = at});
}

}  // namespace cargomon::sim
