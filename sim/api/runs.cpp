// Runs and spans: count, list (with executions), metrics per node, downloads.
#include <algorithm>
#include <map>
#include <vector>

#include "sim/api/internal.h"

namespace cargomon::sim {
namespace {

constexpr int64_t kMaxOutputRuns = 10'000;
constexpr int64_t kMaxDownloadRuns = 100'000;

// Windows are half-open at ClickHouse's one-second precision: after <= t < before.
void add_window(std::string& where, const Payload& p, const char* after, const char* before, const char* column) {
    if (auto t = p.time(after)) where += std::string(" AND ") + column + " >= " + sql_time(*t);
    if (auto t = p.time(before)) where += std::string(" AND ") + column + " < " + sql_time(*t);
}

void add_equal(std::string& where, const Payload& p, const char* field, const char* column) {
    if (auto v = p.string(field)) where += std::string(" AND ") + column + " = " + sql_quote(*v);
}

// The WHERE clause of the run filters that count, list and the downloads share.
std::string run_conditions(const Payload& p) {
    if (p.value("executionsFilter")) throw invalid_payload("executionsFilter", "is not supported by cargomon-sim");
    std::string where = "1";
    add_equal(where, p, "workflowUuid", "workflow_uuid");
    add_equal(where, p, "userUuid", "user_uuid");
    add_equal(where, p, "batchUuid", "batch_uuid");
    add_equal(where, p, "releaseUuid", "release_uuid");
    add_equal(where, p, "recordId", "record_id");
    add_equal(where, p, "recordTitle", "record_title");
    if (auto v = p.string("recordTitleOrId"))
        where += " AND (record_id = " + sql_quote(*v) + " OR record_title = " + sql_quote(*v) + ")";
    if (auto statuses = p.all_of("statuses", kRunStatuses); !statuses.empty())
        where += " AND status IN " + sql_list(statuses);
    if (auto finished = p.boolean("isFinished"))
        where += *finished ? " AND finished_at IS NOT NULL" : " AND finished_at IS NULL";
    add_window(where, p, "createdAfter", "createdBefore", "created_at");
    add_window(where, p, "updatedAfter", "updatedBefore", "updated_at");
    return where;
}

const Workflow& required_workflow(const Call& call) {
    const std::string uuid = call.payload.required_string("workflowUuid");
    const Workflow* wf = call.workspace.find_workflow(uuid);
    if (!wf) throw ApiError(404, "workflowNotFound", "no workflow " + uuid + " in this workspace");
    return *wf;
}

std::string count_body(uint64_t n) {
    return "{\"count\":" + std::to_string(n) + "}";
}

constexpr const char* kRunColumns =
    "uuid, workspace_uuid, workflow_uuid, user_uuid, release_uuid, batch_uuid, trace_uuid, record_id, "
    "record_title, status, error_message, toUnixTimestamp(created_at), toUnixTimestamp(updated_at), "
    "toUnixTimestamp(finished_at)";

constexpr const char* kExecutionColumns =
    "run_uuid, node_uuid, node_slug, node_kind, node_action_slug, node_connector_uuid, node_integration_slug, "
    "node_tool_uuid, node_agent_uuid, execution_status, execution_error_message, execution_credits_used_count, "
    "toUnixTimestamp(execution_started_at), toUnixTimestamp(execution_updated_at), "
    "toUnixTimestamp(execution_finished_at)";

void write_execution(JsonWriter& w, const rapidjson::Value& s) {
    const std::string_view kind = s[3].GetString();
    w.StartObject();
    w.Key("nodeUuid"), w.String(s[1].GetString());
    w.Key("nodeSlug"), w.String(s[2].GetString());
    w.Key("nodeKind"), w.String(kind.data(), static_cast<rapidjson::SizeType>(kind.size()));
    if (kind == "native" || kind == "connector") w.Key("nodeActionSlug"), w.String(s[4].GetString());
    if (kind == "connector") {
        w.Key("nodeConnectorUuid"), write_string_or_null(w, s[5]);
        w.Key("nodeIntegrationSlug"), write_string_or_null(w, s[6]);
    }
    if (kind == "tool") w.Key("nodeToolUuid"), write_string_or_null(w, s[7]);
    if (kind == "agent") w.Key("nodeAgentUuid"), write_string_or_null(w, s[8]);
    if (kind == "tool" || kind == "agent") w.Key("nodeReleaseUuid"), w.Null();
    for (const char* absent : {"nodeBatchUuid", "nodeRunUuid", "nodeMessageUuid", "nodeChildIndex", "nextNodeUuid"})
        w.Key(absent), w.Null();
    w.Key("status"), w.String(s[9].GetString());
    w.Key("errorMessage"), write_string_or_null(w, s[10]);
    w.Key("title"), w.Null();
    w.Key("iconUrl"), w.Null();
    w.Key("creditsUsedCount"), write_number(w, s[11]);
    w.Key("startedAt"), write_time(w, s[12]);
    w.Key("updatedAt"), write_time(w, s[13]);
    w.Key("finishedAt"), write_time(w, s[14]);
    w.Key("nodeWaitUntilFinished"), w.Bool(false);
    w.EndObject();
}

// A run as runs/list answers it; with `context`, as runs/download writes it: its
// runContext too, each successful execution's output under its node's slug.
void write_run(JsonWriter& w, const rapidjson::Value& r, const std::vector<const rapidjson::Value*>& executions,
               bool context = false) {
    w.StartObject();
    w.Key("uuid"), w.String(r[0].GetString());
    w.Key("workspaceUuid"), w.String(r[1].GetString());
    w.Key("workflowUuid"), w.String(r[2].GetString());
    w.Key("userUuid"), write_string_or_null(w, r[3]);
    w.Key("releaseUuid"), write_string_or_null(w, r[4]);
    w.Key("batchUuid"), write_string_or_null(w, r[5]);
    w.Key("traceUuid"), w.String(r[6].GetString());
    const std::string uuid = r[0].GetString();
    // Required strings of the typings the sim has no engine behind: named as the service
    // names its own, so a client that reads them gets a plausible value, never a gap.
    w.Key("temporalWorkflowId"), w.String("run-" + uuid);
    w.Key("contextS3Filename"), w.String("runs/" + uuid + "/context.json");
    w.Key("computedConfigsS3Filename"), w.String("runs/" + uuid + "/computed-configs.json");
    w.Key("recordId"), w.String(r[7].GetString());
    w.Key("recordTitle"), w.String(r[8].GetString());
    for (const char* absent : {"nodes", "parentUuid", "parentNodeUuid", "parentBatchUuid", "parentAgentUuid",
                               "parentChatUuid", "parentMessageUuid", "isGroupParent"})
        w.Key(absent), w.Null();
    w.Key("status"), w.String(r[9].GetString());
    w.Key("errorMessage"), write_string_or_null(w, r[10]);
    w.Key("executions");
    w.StartArray();
    for (const rapidjson::Value* s : executions) write_execution(w, *s);
    w.EndArray();
    w.Key("createdAt"), write_time(w, r[11]);
    w.Key("updatedAt"), write_time(w, r[12]);
    w.Key("finishedAt"), write_time(w, r[13]);
    w.Key("deletedAt"), w.Null();
    if (context) {
        w.Key("runContext");
        w.StartObject();
        for (const rapidjson::Value* s : executions) {
            const rapidjson::Value& e = *s;
            if (std::string_view(e[9].GetString()) != "success") continue;
            w.Key(e[2].GetString());
            write_node_output(w, {e[2].GetString(), e[3].GetString(), e[4].GetString(),
                                  e[6].IsString() ? e[6].GetString() : ""},
                              r[7].GetString(), r[8].GetString());
        }
        w.EndObject();
    }
    w.EndObject();
}

// The executions of `runs` (rows of kRunColumns), in order, by run uuid; `spans` holds them.
// The uuids go to ClickHouse a few thousand at a time: all of a 10,000-run download in one
// IN list passes its 256 KiB max_query_size.
std::map<std::string, std::vector<const rapidjson::Value*>> executions_of(const Call& call, const rapidjson::Value& runs,
                                                                         std::vector<rapidjson::Document>& spans) {
    constexpr std::size_t kUuidsPerQuery = 2000;
    std::map<std::string, std::vector<const rapidjson::Value*>> executions;
    const auto rows = runs.GetArray();
    spans.reserve(spans.size() + rows.Size() / kUuidsPerQuery + 1);  // the pointers below stay valid
    for (rapidjson::SizeType from = 0; from < rows.Size(); from += kUuidsPerQuery) {
        std::vector<std::string> uuids;
        int64_t earliest = INT64_MAX;
        for (rapidjson::SizeType i = from; i < rows.Size() && i < from + kUuidsPerQuery; ++i) {
            uuids.emplace_back(rows[i][0].GetString());
            earliest = std::min(earliest, rows[i][11].GetInt64());
        }
        // A run's spans start no earlier than the run, which lets ClickHouse skip older parts.
        spans.push_back(call.select(std::string("SELECT ") + kExecutionColumns + " FROM spans WHERE run_uuid IN " +
                                    sql_list(uuids) + " AND execution_started_at >= toDateTime(" +
                                    std::to_string(earliest) + ") ORDER BY execution_started_at, execution_index"));
        for (const auto& s : spans.back()["data"].GetArray()) executions[s[0].GetString()].push_back(&s);
    }
    return executions;
}

std::string page_clause(const Payload& p, int64_t default_limit, int64_t max_limit) {
    const int64_t limit = p.integer("limit", 1, max_limit).value_or(default_limit);
    const int64_t offset = p.integer("offset", 0, 1'000'000'000).value_or(0);
    return " LIMIT " + std::to_string(offset) + ", " + std::to_string(limit);
}

}  // namespace

std::string handle_runs_count(const Call& call) {
    return count_body(call.count("SELECT count() FROM runs WHERE " + run_conditions(call.payload)));
}

std::string handle_runs_list(const Call& call) {
    const std::string where = run_conditions(call.payload);
    const std::string page = page_clause(call.payload, 20, 1000);
    const uint64_t total = call.count("SELECT count() FROM runs WHERE " + where);
    rapidjson::Document runs = call.select(std::string("SELECT ") + kRunColumns + " FROM runs WHERE " + where +
                                           " ORDER BY created_at DESC, uuid DESC" + page);
    const auto& rows = runs["data"];

    std::vector<rapidjson::Document> spans;
    const auto executions = executions_of(call, rows, spans);

    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("runs");
    w.StartArray();
    static const std::vector<const rapidjson::Value*> none;
    for (const auto& r : rows.GetArray()) {
        auto it = executions.find(r[0].GetString());
        write_run(w, r, it == executions.end() ? none : it->second);
    }
    w.EndArray();
    w.Key("count"), w.Uint64(total);
    w.EndObject();
    return buf.GetString();
}

std::string handle_runs_metrics(const Call& call) {
    const Payload& p = call.payload;
    const Workflow& wf = required_workflow(call);
    std::string runs_where = "workflow_uuid = " + sql_quote(wf.uuid);
    add_equal(runs_where, p, "releaseUuid", "release_uuid");
    add_equal(runs_where, p, "batchUuid", "batch_uuid");
    add_window(runs_where, p, "createdAfter", "createdBefore", "created_at");
    // Spans only know pending/success/error; a pending execution takes the state of its run.
    auto pending_in = [](const char* run_status) {
        return std::string(", countIf(execution_status = 'pending' AND run_status = '") + run_status + "')";
    };
    const std::string sql =
        "SELECT node_uuid, count()" + pending_in("idle") +
        ", countIf(execution_status = 'pending' AND run_status NOT IN "
        "('idle', 'running', 'cancelling', 'cancelled', 'skipped'))" +
        pending_in("running") + ", countIf(execution_status = 'success'), countIf(execution_status = 'error')" +
        pending_in("cancelling") + pending_in("cancelled") + pending_in("skipped") +
        ", sum(execution_credits_used_count) FROM spans ALL INNER JOIN (SELECT uuid AS run_uuid, status AS "
        "run_status FROM runs WHERE " +
        runs_where + ") USING run_uuid WHERE workflow_uuid = " + sql_quote(wf.uuid) + " GROUP BY node_uuid";
    rapidjson::Document result = call.select(sql);
    std::map<std::string, const rapidjson::Value*> by_node;
    for (const auto& row : result["data"].GetArray()) by_node[row[0].GetString()] = &row;

    static const char* const kFields[] = {
        "totalExecutionsCount",   "idleExecutionsCount",       "pendingExecutionsCount",
        "runningExecutionsCount", "successExecutionsCount",    "errorExecutionsCount",
        "cancellingExecutionsCount", "cancelledExecutionsCount", "skippedExecutionsCount"};
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    auto write_metric = [&](const std::string& node_uuid, const rapidjson::Value* row) {
        w.StartObject();
        w.Key("nodeUuid"), w.String(node_uuid);
        for (size_t i = 0; i < std::size(kFields); ++i) {
            w.Key(kFields[i]);
            if (row) write_number(w, (*row)[static_cast<rapidjson::SizeType>(i + 1)]);
            else w.Uint(0);
        }
        w.Key("creditsUsedCount");
        if (row) write_number(w, (*row)[10]);
        else w.Uint(0);
        w.EndObject();
    };
    // One metric per node of the workflow in graph order, then nodes only the spans know.
    w.StartObject();
    w.Key("runMetrics");
    w.StartArray();
    for (const Node& node : wf.nodes) {
        auto it = by_node.find(node.uuid);
        write_metric(node.uuid, it == by_node.end() ? nullptr : it->second);
        if (it != by_node.end()) by_node.erase(it);
    }
    for (const auto& [uuid, row] : by_node) write_metric(uuid, row);
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

// Newline-delimited JSON of the full run records, gzipped, as Cargo's docs describe it.
std::string handle_runs_download(const Call& call) {
    const Workflow& wf = required_workflow(call);
    std::string where = run_conditions(call.payload);
    if (auto uuids = call.payload.strings("uuids"); !uuids.empty()) where += " AND uuid IN " + sql_list(uuids);
    rapidjson::Document runs = call.select(std::string("SELECT ") + kRunColumns + " FROM runs WHERE " + where +
                                           " AND workflow_uuid = " + sql_quote(wf.uuid) +
                                           " ORDER BY created_at, uuid LIMIT " + std::to_string(kMaxDownloadRuns + 1));
    const auto& rows = runs["data"];
    if (rows.Size() > kMaxDownloadRuns)
        throw ApiError(400, "tooManyRuns", "more than " + std::to_string(kMaxDownloadRuns) + " runs match; narrow the filters");
    std::vector<rapidjson::Document> spans;
    const auto executions = executions_of(call, rows, spans);
    static const std::vector<const rapidjson::Value*> none;
    std::string lines;
    for (const auto& r : rows.GetArray()) {
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        auto it = executions.find(r[0].GetString());
        write_run(w, r, it == executions.end() ? none : it->second, true);
        lines.append(buf.GetString(), buf.GetSize());
        lines += '\n';
    }
    return "{\"url\":\"" + call.files.put(gzip(lines), "application/gzip") + "\"}";
}

std::string handle_runs_download_outputs(const Call& call) {
    const Payload& p = call.payload;
    const Workflow& wf = required_workflow(call);
    const auto node_slug = p.string("outputNodeSlug");
    if (node_slug && std::none_of(wf.nodes.begin(), wf.nodes.end(), [&](const Node& n) { return n.slug == *node_slug; }))
        throw invalid_payload("outputNodeSlug", "no node \"" + *node_slug + "\" in workflow " + wf.uuid);
    const std::string format = p.one_of("format", {"csv", "json"}).value_or("csv");
    const auto limit = p.integer("limit", 1, 1'000'000'000);
    const int64_t offset = p.integer("offset", 0, 1'000'000'000).value_or(0);
    const std::string where = run_conditions(p) + " AND workflow_uuid = " + sql_quote(wf.uuid);

    const uint64_t total = call.count("SELECT count() FROM runs WHERE " + where);
    uint64_t selected = total > static_cast<uint64_t>(offset) ? total - offset : 0;
    if (limit) selected = std::min<uint64_t>(selected, static_cast<uint64_t>(*limit));
    if (selected == 0) throw ApiError(400, "noRunsFound", "no runs match the filters");
    if (selected > kMaxOutputRuns)
        throw ApiError(400, "tooManyRuns", std::to_string(selected) + " runs match, over the limit of " +
                                               std::to_string(kMaxOutputRuns) + "; narrow the filters or set limit");

    const std::string url = run_outputs_url(call, wf.uuid, where, node_slug, format == "json", offset,
                                            static_cast<int64_t>(selected));
    return "{\"url\":\"" + url + "\"}";
}

std::string run_outputs_url(const Call& call, const std::string& workflow_uuid, const std::string& runs_where,
                            const std::optional<std::string>& node_slug, bool json, int64_t offset, int64_t limit) {
    // The output of a run is its latest execution of the output node, or of any node
    // when none is named. Packing (start, index) into one number keeps argMax to one key.
    const std::string latest = "toUInt64(toUnixTimestamp(execution_started_at)) * 65536 + execution_index";
    std::string span_where = "workflow_uuid = " + sql_quote(workflow_uuid) +
                             " AND run_uuid IN (SELECT uuid FROM runs WHERE " + runs_where + ")";
    if (node_slug) span_where += " AND node_slug = " + sql_quote(*node_slug);
    auto last = [&](const std::string& column, const char* name) {
        return "argMax(" + column + ", " + latest + ") AS " + name;
    };
    const std::string sql =
        "SELECT uuid, record_id, record_title, status, out_node, out_status, out_error, out_credits, out_finished, "
        "out_kind, out_action, out_integration "
        "FROM (SELECT uuid, record_id, record_title, status, created_at FROM runs WHERE " + runs_where +
        " ORDER BY created_at DESC, uuid DESC LIMIT " + std::to_string(offset) + ", " + std::to_string(limit) +
        ") ANY LEFT JOIN (SELECT run_uuid AS uuid, " + last("node_slug", "out_node") + ", " +
        last("execution_status", "out_status") + ", " + last("execution_error_message", "out_error") + ", " +
        last("execution_credits_used_count", "out_credits") + ", " +
        last("toUnixTimestamp(execution_finished_at)", "out_finished") + ", " + last("node_kind", "out_kind") + ", " +
        last("node_action_slug", "out_action") + ", " + last("ifNull(node_integration_slug, '')", "out_integration") +
        " FROM spans WHERE " + span_where +
        " GROUP BY run_uuid) USING uuid ORDER BY created_at DESC, uuid DESC";
    rapidjson::Document result = call.select(sql);
    const auto& rows = result["data"];

    static const char* const kNames[] = {"runUuid",   "recordId",        "recordTitle",
                                         "runStatus", "nodeSlug",        "executionStatus",
                                         "executionErrorMessage", "creditsUsedCount", "finishedAt"};
    // The record as it came in, and the output node's data when its execution succeeded.
    auto write_data = [](JsonWriter& w, const rapidjson::Value& r) {
        w.Key("input");
        write_record_input(w, r[1].GetString(), r[2].GetString());
        w.Key("output");
        if (r[5].IsString() && std::string_view(r[5].GetString()) == "success")
            write_node_output(w, {r[4].GetString(), r[9].GetString(), r[10].GetString(), r[11].GetString()},
                              r[1].GetString(), r[2].GetString());
        else
            w.Null();
    };
    std::string content;
    if (!json) {
        content = "run_uuid,record_id,record_title,run_status,node_slug,execution_status,execution_error_message,"
                  "credits_used_count,finished_at,input,output\n";
        for (const auto& r : rows.GetArray()) {
            for (rapidjson::SizeType i = 0; i < 8; ++i) csv_append(content, csv_text(r[i]), false);
            csv_append(content, csv_time(r[8]), false);
            rapidjson::StringBuffer input, output;
            JsonWriter in(input), out(output);
            write_record_input(in, r[1].GetString(), r[2].GetString());
            csv_append(content, input.GetString(), false);
            if (r[5].IsString() && std::string_view(r[5].GetString()) == "success") {
                write_node_output(out, {r[4].GetString(), r[9].GetString(), r[10].GetString(), r[11].GetString()},
                                  r[1].GetString(), r[2].GetString());
                csv_append(content, output.GetString(), true);
            } else {
                csv_append(content, "", true);
            }
        }
    } else {
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        w.StartArray();
        for (const auto& r : rows.GetArray()) {
            w.StartObject();
            for (rapidjson::SizeType i = 0; i < 8; ++i) {
                w.Key(kNames[i]);
                if (i == 7) write_number(w, r[i]);
                else write_string_or_null(w, r[i]);
            }
            w.Key(kNames[8]), write_time(w, r[8]);
            write_data(w, r);
            w.EndObject();
        }
        w.EndArray();
        content = buf.GetString();
    }
    return call.files.put(std::move(content), json ? "application/json" : "text/csv");
}

std::string handle_spans_count(const Call& call) {
    const Payload& p = call.payload;
    std::string where = "execution_started_at >= " + sql_time(p.required_time("executionStartedAfter"));
    if (auto t = p.time("executionStartedBefore")) where += " AND execution_started_at < " + sql_time(*t);
    static const std::pair<const char*, const char*> kEqual[] = {
        {"workflowUuid", "workflow_uuid"},
        {"batchUuid", "batch_uuid"},
        {"traceUuid", "trace_uuid"},
        {"runUuid", "run_uuid"},
        {"recordId", "record_id"},
        {"recordTitle", "record_title"},
        {"nodeUuid", "node_uuid"},
        {"nodeSlug", "node_slug"},
        {"nodeIntegrationSlug", "node_integration_slug"},
        {"nodeConnectorUuid", "node_connector_uuid"},
        {"nodeActionSlug", "node_action_slug"},
        {"nodeToolUuid", "node_tool_uuid"},
        {"nodeAgentUuid", "node_agent_uuid"},
    };
    for (const auto& [field, column] : kEqual) add_equal(where, p, field, column);
    if (auto v = p.string("recordTitleOrId"))
        where += " AND (record_id = " + sql_quote(*v) + " OR record_title = " + sql_quote(*v) + ")";
    if (auto kind = p.one_of("nodeKind", {"native", "connector", "tool", "agent"}))
        where += " AND node_kind = " + sql_quote(*kind);
    if (auto statuses = p.all_of("executionStatuses", {"pending", "success", "error"}); !statuses.empty())
        where += " AND execution_status IN " + sql_list(statuses);
    return count_body(call.count("SELECT count() FROM spans WHERE " + where));
}

}  // namespace cargomon::sim
