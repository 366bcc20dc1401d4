// Batches (list, get, download, re-run) and the workspace catalog (workflows, plays, tools).
#include <random>
#include <set>

#include "common/json.h"
#include "common/timefmt.h"
#include "sim/api/internal.h"

namespace cargomon::sim {
namespace {

constexpr const char* kBatchColumns =
    "uuid, workspace_uuid, workflow_uuid, user_uuid, release_uuid, data, status, runs_status, runs_count, "
    "executed_runs_count, failed_runs_count, credits_used_count, error_message, toUnixTimestamp(created_at), "
    "toUnixTimestamp(updated_at), toUnixTimestamp(finished_at)";
constexpr rapidjson::SizeType kBatchFinishedAt = 15;

// `data` is stored as JSON text; it is written through only when it is a JSON object.
void write_batch_data(JsonWriter& w, const rapidjson::Value& text) {
    rapidjson::Document data;
    bool parsed = text.IsString() && !parse_json({text.GetString(), text.GetStringLength()}, data);
    if (parsed && data.IsObject()) data.Accept(w);
    else w.Null();
}

void write_batch(JsonWriter& w, const rapidjson::Value& b) {
    w.StartObject();
    w.Key("uuid"), w.String(b[0].GetString());
    w.Key("workspaceUuid"), w.String(b[1].GetString());
    w.Key("workflowUuid"), w.String(b[2].GetString());
    w.Key("userUuid"), write_string_or_null(w, b[3]);
    w.Key("releaseUuid"), write_string_or_null(w, b[4]);
    w.Key("nodes"), w.Null();
    w.Key("temporalWorkflowId"), w.String(std::string("batch-") + b[0].GetString());
    w.Key("traceUuid"), w.Null();
    w.Key("data"), write_batch_data(w, b[5]);
    w.Key("errorMessage"), write_string_or_null(w, b[12]);
    w.Key("status"), w.String(b[6].GetString());
    w.Key("runsStatus"), write_string_or_null(w, b[7]);
    w.Key("runsCount"), write_number(w, b[8]);
    w.Key("executedRunsCount"), write_number(w, b[9]);
    w.Key("failedRunsCount"), write_number(w, b[10]);
    w.Key("creditsUsedCount"), write_number(w, b[11]);
    w.Key("createdAt"), write_time(w, b[13]);
    w.Key("updatedAt"), write_time(w, b[14]);
    w.Key("finishedAt"), write_time(w, b[15]);
    w.EndObject();
}

rapidjson::Document find_batch(const Call& call, const std::string& uuid) {
    rapidjson::Document doc =
        call.select(std::string("SELECT ") + kBatchColumns + " FROM batches WHERE uuid = " + sql_quote(uuid) + " LIMIT 1");
    if (doc["data"].Empty()) throw ApiError(404, "batchNotFound", "no batch " + uuid + " in this workspace");
    return doc;
}

std::string random_uuid() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
    for (char& c : out) {
        if (c == 'x') c = kHex[rng() & 15];
        else if (c == 'y') c = kHex[8 + (rng() & 3)];
    }
    return out;
}

const rapidjson::Value& member(const rapidjson::Value& object, const char* name, const std::string& path) {
    const rapidjson::Value* v = optional_member(object, name);
    if (!v) throw invalid_payload(path + "." + name, "is required");
    return *v;
}

std::string string_member(const rapidjson::Value& object, const char* name, const std::string& path) {
    const rapidjson::Value& v = member(object, name, path);
    if (!v.IsString()) throw invalid_payload(path + "." + name, "must be a string");
    return v.GetString();
}

// data of kind "runs": which runs to re-run and from which node.
void check_runs_data(const rapidjson::Value& data, const Workflow& wf) {
    const rapidjson::Value& filter = member(data, "filter", "data");
    if (!filter.IsObject()) throw invalid_payload("data.filter", "must be an object");
    const std::string kind = string_member(filter, "kind", "data.filter");
    check_one_of("data.filter.kind", kind, {"runs", "records"});
    if (auto it = filter.FindMember("statuses"); it != filter.MemberEnd()) {
        if (!it->value.IsArray()) throw invalid_payload("data.filter.statuses", "must be an array of strings");
        for (const auto& s : it->value.GetArray()) {
            if (!s.IsString()) throw invalid_payload("data.filter.statuses", "must be an array of strings");
            if (kind == "runs") check_one_of("data.filter.statuses", s.GetString(), kRunStatuses);
            else check_one_of("data.filter.statuses", s.GetString(),
                              {"pending", "running", "success", "error", "cancelled", "cancelling"});
        }
    }
    if (auto it = filter.FindMember("uuids"); it != filter.MemberEnd()) {
        if (!it->value.IsArray()) throw invalid_payload("data.filter.uuids", "must be an array of strings");
        for (const auto& u : it->value.GetArray())
            if (!u.IsString()) throw invalid_payload("data.filter.uuids", "must be an array of strings");
    }
    for (const char* name : {"batchUuid", "releaseUuid", "recordId", "recordTitle"}) {
        auto it = filter.FindMember(name);
        if (it != filter.MemberEnd() && !it->value.IsString())
            throw invalid_payload(std::string("data.filter.") + name, "must be a string");
    }
    const rapidjson::Value& reset = member(data, "reset", "data");
    if (!reset.IsObject()) throw invalid_payload("data.reset", "must be an object");
    const std::string from = string_member(reset, "from", "data.reset");
    check_one_of("data.reset.from", from, {"lastNode", "firstNode", "nextNode", "node"});
    if (from == "node") {
        const std::string node = string_member(reset, "nodeUuid", "data.reset");
        bool known = false;
        for (const Node& n : wf.nodes) known = known || n.uuid == node;
        if (!known) throw ApiError(400, "nodesNotFound", "data.reset.nodeUuid: no node " + node + " in workflow " + wf.uuid);
    }
}

// data of kind "recordIds": records of the play's model, by id. Only a play has a model.
void check_record_ids_data(const rapidjson::Value& data, const Workflow& wf) {
    const std::string model = string_member(data, "modelUuid", "data");
    const rapidjson::Value& ids = member(data, "ids", "data");
    if (!ids.IsArray() || ids.Empty()) throw invalid_payload("data.ids", "must be a non-empty array of strings");
    for (const auto& id : ids.GetArray())
        if (!id.IsString()) throw invalid_payload("data.ids", "must be a non-empty array of strings");
    if (wf.kind != WorkflowKind::play)
        throw ApiError(400, "invalidDataKind", "data.kind recordIds needs a play's workflow; " + wf.uuid + " is a tool's");
    if (model != wf.model_uuid)
        throw ApiError(400, "invalidDataKind", "data.modelUuid " + model + " is not the model of workflow " + wf.uuid);
}

void write_node_action(JsonWriter& w, const Node& n) {
    w.Key("kind"), w.String(to_string(n.kind));
    switch (n.kind) {
        case NodeKind::native: w.Key("actionSlug"), w.String(n.action_slug); break;
        case NodeKind::connector:
            w.Key("actionSlug"), w.String(n.action_slug);
            w.Key("integrationSlug"), w.String(n.integration_slug);
            w.Key("connectorUuid"), w.String(n.connector_uuid);
            break;
        case NodeKind::tool: w.Key("toolUuid"), w.String(n.tool_uuid); break;
        case NodeKind::agent: w.Key("agentUuid"), w.String(n.agent_uuid); break;
    }
}

// WorkflowNode: the graph as a tree from the entry node; a node reached twice is shown once.
void write_workflow_node(JsonWriter& w, const Workflow& wf, const Node& n, std::set<std::string>& shown) {
    shown.insert(n.uuid);
    w.StartObject();
    w.Key("uuid"), w.String(n.uuid);
    w.Key("slug"), w.String(n.slug);
    write_node_action(w, n);
    w.Key("isArchived"), w.Bool(false);
    w.Key("nodes");
    w.StartArray();
    for (const std::string& child : n.children_uuids) {
        if (shown.count(child)) continue;
        for (const Node& c : wf.nodes)
            if (c.uuid == child) write_workflow_node(w, wf, c, shown);
    }
    w.EndArray();
    w.EndObject();
}

// Release Node: the flat form a deployed release holds.
void write_release_node(JsonWriter& w, const Node& n, size_t index) {
    w.StartObject();
    w.Key("uuid"), w.String(n.uuid);
    w.Key("slug"), w.String(n.slug);
    write_node_action(w, n);
    w.Key("config"), w.StartObject(), w.EndObject();
    w.Key("childrenUuids");
    w.StartArray();
    for (const std::string& c : n.children_uuids) w.String(c);
    w.EndArray();
    w.Key("fallbackOnFailure"), w.Bool(false);
    w.Key("position"), w.StartObject();
    w.Key("x"), w.Int(0);
    w.Key("y"), w.Uint64(index * 100);
    w.EndObject();
    w.EndObject();
}

const Release* find_earlier_release(const Workflow& wf, const std::string& uuid) {
    for (const Release& r : wf.earlier_releases)
        if (r.uuid == uuid) return &r;
    return nullptr;
}

// Release: a version of the graph; the deployed one, or an earlier one (archived).
void write_release(JsonWriter& w, const Workspace& ws, const Workflow& wf, const Release* earlier) {
    const std::vector<Node>& nodes = earlier ? earlier->nodes : wf.nodes;
    const SystemTime deployed = earlier ? earlier->deployed_at : wf.deployed_at;
    const int version = earlier ? earlier->version : wf.release_version;
    w.StartObject();
    w.Key("uuid"), w.String(earlier ? earlier->uuid : wf.release_uuid);
    w.Key("parentUuid");
    const Release* parent = nullptr;
    for (const Release& r : wf.earlier_releases)
        if (r.version == version - 1) parent = &r;
    parent ? w.String(parent->uuid) : w.Null();
    w.Key("workspaceUuid"), w.String(ws.uuid);
    w.Key("userUuid"), w.String(wf.user_uuid);
    w.Key("workflowUuid"), w.String(wf.uuid);
    w.Key("description"), w.Null();
    w.Key("version"), w.String(std::to_string(version));
    w.Key("status"), w.String(earlier ? "archived" : "deployed");
    w.Key("templateSlug"), w.Null();
    w.Key("nodes");
    w.StartArray();
    for (size_t i = 0; i < nodes.size(); ++i) write_release_node(w, nodes[i], i);
    w.EndArray();
    w.Key("formFields"), w.Null();
    w.Key("testRecords"), w.StartArray(), w.EndArray();
    w.Key("deployedAt"), write_time(w, deployed);
    w.Key("createdAt"), write_time(w, deployed);
    w.Key("updatedAt"), write_time(w, deployed);
    w.Key("deletedAt"), w.Null();
    w.EndObject();
}

void write_last_batch(JsonWriter& w, const rapidjson::Value* b) {
    if (!b) {
        w.Null();
        return;
    }
    const rapidjson::Value& row = *b;
    w.StartObject();
    w.Key("uuid"), w.String(row[1].GetString());
    w.Key("status"), w.String(row[2].GetString());
    w.Key("runsStatus"), write_string_or_null(w, row[3]);
    w.Key("errorMessage"), write_string_or_null(w, row[4]);
    w.Key("createdAt"), write_time(w, row[5]);
    w.Key("finishedAt"), write_time(w, row[6]);
    w.EndObject();
}

}  // namespace

std::string handle_batches_list(const Call& call) {
    const Payload& p = call.payload;
    std::string where = "1";
    if (auto workflows = p.strings("workflowUuids"); !workflows.empty())
        where += " AND workflow_uuid IN " + sql_list(workflows);
    if (auto v = p.string("releaseUuid")) where += " AND release_uuid = " + sql_quote(*v);
    if (auto statuses = p.all_of("statuses", kBatchStatuses); !statuses.empty())
        where += " AND status IN " + sql_list(statuses);
    if (auto finished = p.boolean("isFinished"))
        where += *finished ? " AND finished_at IS NOT NULL" : " AND finished_at IS NULL";
    if (auto skipped = p.boolean("isSkipped")) where += *skipped ? " AND status = 'skipped'" : " AND status != 'skipped'";
    if (auto has_runs = p.boolean("hasRuns")) where += *has_runs ? " AND runs_count > 0" : " AND runs_count = 0";
    const int64_t limit = p.integer("limit", 1, 1000).value_or(20);
    const int64_t offset = p.integer("offset", 0, 1'000'000'000).value_or(0);
    rapidjson::Document doc = call.select(std::string("SELECT ") + kBatchColumns + " FROM batches WHERE " + where +
                                          " ORDER BY created_at DESC, uuid DESC LIMIT " + std::to_string(offset) +
                                          ", " + std::to_string(limit));
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("batches");
    w.StartArray();
    for (const auto& b : doc["data"].GetArray()) write_batch(w, b);
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

std::string handle_batch_get(const Call& call) {
    rapidjson::Document doc = find_batch(call, call.request.matches[1]);
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("batch");
    write_batch(w, doc["data"][0]);
    w.EndObject();
    return buf.GetString();
}

std::string handle_batch_download(const Call& call) {
    const std::string uuid = call.request.matches[1];
    const auto node_slug = call.payload.string("outputNodeSlug");
    rapidjson::Document doc = find_batch(call, uuid);
    const rapidjson::Value& batch = doc["data"][0];
    if (batch[kBatchFinishedAt].IsNull())
        throw ApiError(400, "batchNotFinished", "batch " + uuid + " is " + batch[6].GetString() + ", not finished");
    const std::string workflow = batch[2].GetString();
    // The batch ran on its own release: the node must be one of that release's.
    const std::string release_uuid = batch[4].IsString() ? batch[4].GetString() : "";
    if (const Workflow* wf = call.workspace.find_workflow(workflow); wf && node_slug) {
        const Release* earlier = find_earlier_release(*wf, release_uuid);
        const std::vector<Node>& nodes = earlier ? earlier->nodes : wf->nodes;
        bool known = false;
        for (const Node& n : nodes) known = known || n.slug == *node_slug;
        if (!known)
            throw invalid_payload("outputNodeSlug", "no node \"" + *node_slug + "\" in release " + release_uuid +
                                                        " of workflow " + workflow);
    }
    const std::string where = "workflow_uuid = " + sql_quote(workflow) + " AND batch_uuid = " + sql_quote(uuid);
    const int64_t runs = std::max<int64_t>(1, batch[8].GetInt64());
    return "{\"url\":\"" + run_outputs_url(call, workflow, where, node_slug, false, 0, runs) + "\"}";
}

std::string handle_batch_create(const Call& call) {
    const Payload& p = call.payload;
    const std::string workflow_uuid = p.required_string("workflowUuid");
    const auto release = p.string("releaseUuid");
    const rapidjson::Value* data = p.value("data");
    if (!data) throw invalid_payload("data", "is required");
    if (!data->IsObject()) throw invalid_payload("data", "must be an object");
    const std::string kind = string_member(*data, "kind", "data");
    check_one_of("data.kind", kind,
                 {"segment", "change", "file", "filter", "runs", "recordIds", "records", "schedule", "form"});
    const Workflow* wf = call.workspace.find_workflow(workflow_uuid);
    if (!wf) throw ApiError(404, "workflowNotFound", "no workflow " + workflow_uuid + " in this workspace");
    if (kind == "runs") check_runs_data(*data, *wf);
    if (kind == "recordIds") check_record_ids_data(*data, *wf);
    check_credits_left(call);

    rapidjson::StringBuffer data_text;
    JsonWriter data_writer(data_text);
    data->Accept(data_writer);
    const std::string uuid = random_uuid();
    const SystemTime now = call.now();
    const std::string release_uuid = release.value_or(wf->release_uuid);

    // A new version row; the FINAL view shows it at once, and the workload may advance it.
    rapidjson::StringBuffer row_buf;
    JsonWriter row(row_buf);
    row.StartObject();
    row.Key("uuid"), row.String(uuid);
    row.Key("workspace_uuid"), row.String(call.workspace.uuid);
    row.Key("workflow_uuid"), row.String(wf->uuid);
    row.Key("release_uuid"), row.String(release_uuid);
    row.Key("data"), row.String(data_text.GetString(), static_cast<rapidjson::SizeType>(data_text.GetSize()));
    row.Key("status"), row.String("pending");
    // Unix seconds: DateTime text would be read in the server's zone (--clickhouse-timezone).
    const auto now_s = std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count();
    row.Key("created_at"), row.Int64(now_s);
    row.Key("updated_at"), row.Int64(now_s);
    row.Key("version"), row.Uint64(static_cast<uint64_t>(
                            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()));
    row.EndObject();
    call.ctx.clickhouse->insert(call.workspace.database + ".batches_versions", "JSONEachRow", row_buf.GetString());

    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("batch");
    w.StartObject();
    w.Key("uuid"), w.String(uuid);
    w.Key("workspaceUuid"), w.String(call.workspace.uuid);
    w.Key("workflowUuid"), w.String(wf->uuid);
    w.Key("userUuid"), w.Null();
    w.Key("releaseUuid"), w.String(release_uuid);
    w.Key("nodes"), w.Null();
    w.Key("temporalWorkflowId"), w.String("batch-" + uuid);
    w.Key("traceUuid"), w.Null();
    w.Key("data"), data->Accept(w);
    w.Key("errorMessage"), w.Null();
    w.Key("status"), w.String("pending");
    w.Key("runsStatus"), w.Null();
    for (const char* zero : {"runsCount", "executedRunsCount", "failedRunsCount", "creditsUsedCount"})
        w.Key(zero), w.Uint(0);
    w.Key("createdAt"), write_time(w, now);
    w.Key("updatedAt"), write_time(w, now);
    w.Key("finishedAt"), w.Null();
    w.EndObject();
    w.EndObject();
    return buf.GetString();
}

std::string handle_workflows_list(const Call& call) {
    rapidjson::Document last = call.select(
        "SELECT workflow_uuid, uuid, status, runs_status, error_message, toUnixTimestamp(created_at), "
        "toUnixTimestamp(finished_at) FROM batches ORDER BY workflow_uuid, created_at DESC, uuid DESC "
        "LIMIT 1 BY workflow_uuid");
    std::map<std::string, const rapidjson::Value*> last_batch;
    for (const auto& row : last["data"].GetArray()) last_batch[row[0].GetString()] = &row;

    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("workflows");
    w.StartArray();
    for (const Workflow& wf : call.workspace.workflows) {
        w.StartObject();
        w.Key("uuid"), w.String(wf.uuid);
        w.Key("workspaceUuid"), w.String(call.workspace.uuid);
        w.Key("nodes");
        w.StartArray();
        std::set<std::string> shown;
        for (const Node& n : wf.nodes)
            if (!shown.count(n.uuid)) write_workflow_node(w, wf, n, shown);
        w.EndArray();
        w.Key("createdAt"), write_time(w, wf.created_at);
        w.Key("updatedAt"), write_time(w, wf.created_at);
        w.Key("deletedAt"), w.Null();
        w.Key("playUuid");
        wf.kind == WorkflowKind::play ? w.String(wf.owner_uuid) : w.Null();
        w.Key("toolUuid");
        wf.kind == WorkflowKind::tool ? w.String(wf.owner_uuid) : w.Null();
        w.Key("folderUuid"), w.Null();
        w.Key("template"), w.Null();
        auto it = last_batch.find(wf.uuid);
        w.Key("lastBatch"), write_last_batch(w, it == last_batch.end() ? nullptr : it->second);
        w.Key("deployedRelease");
        if (wf.release_uuid.empty()) {
            w.Null();
        } else {
            w.StartObject();
            w.Key("uuid"), w.String(wf.release_uuid);
            w.Key("userUuid"), w.String(wf.user_uuid);
            w.Key("description"), w.Null();
            w.Key("version"), w.String(std::to_string(wf.release_version));
            w.Key("nodes");
            w.StartArray();
            for (size_t i = 0; i < wf.nodes.size(); ++i) write_release_node(w, wf.nodes[i], i);
            w.EndArray();
            w.Key("formFields"), w.Null();
            w.Key("templateSlug"), w.Null();
            w.Key("deployedAt"), write_time(w, wf.deployed_at);
            w.Key("createdAt"), write_time(w, wf.deployed_at);
            w.EndObject();
        }
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

std::string handle_release_get(const Call& call) {
    const std::string uuid = call.request.matches[1];
    for (const Workflow& wf : call.workspace.workflows) {
        const Release* earlier = find_earlier_release(wf, uuid);
        if (!earlier && wf.release_uuid != uuid) continue;
        rapidjson::StringBuffer buf;
        JsonWriter w(buf);
        w.StartObject();
        w.Key("release");
        write_release(w, call.workspace, wf, earlier);
        w.EndObject();
        return buf.GetString();
    }
    throw ApiError(404, "releaseNotFound", "no release " + uuid + " in this workspace");
}

std::string handle_plays_list(const Call& call) {
    const auto enabled = call.payload.boolean("isEnabled");
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("plays");
    w.StartArray();
    for (const Workflow& wf : call.workspace.workflows) {
        if (wf.kind != WorkflowKind::play || (enabled && *enabled != wf.enabled)) continue;
        w.StartObject();
        w.Key("uuid"), w.String(wf.owner_uuid);
        w.Key("workspaceUuid"), w.String(call.workspace.uuid);
        w.Key("workflowUuid"), w.String(wf.uuid);
        w.Key("userUuid"), w.String(wf.user_uuid);
        w.Key("modelUuid"), w.String(wf.model_uuid);
        w.Key("segmentUuid"), w.String(wf.segment_uuid);
        w.Key("changeKinds"), w.StartArray(), w.EndArray();
        w.Key("runCreationRule"), w.String("always");
        w.Key("name"), w.String(wf.name);
        w.Key("description"), w.Null();
        w.Key("schedule"), w.Null();
        w.Key("isEnabled"), w.Bool(wf.enabled);
        w.Key("healthThreshold"), w.Int(wf.health_threshold);
        w.Key("healthAlertActions"), w.StartArray(), w.EndArray();
        w.Key("folderUuid"), w.Null();
        w.Key("createdAt"), write_time(w, wf.created_at);
        w.Key("updatedAt"), write_time(w, wf.created_at);
        w.Key("deletedAt"), w.Null();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

std::string handle_tools_list(const Call& call) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("tools");
    w.StartArray();
    for (const Workflow& wf : call.workspace.workflows) {
        if (wf.kind != WorkflowKind::tool) continue;
        w.StartObject();
        w.Key("uuid"), w.String(wf.owner_uuid);
        w.Key("icon"), w.StartObject();
        w.Key("kind"), w.String("emoji");
        w.Key("emojiSlug"), w.String("hammer_and_wrench");
        w.EndObject();
        w.Key("workspaceUuid"), w.String(call.workspace.uuid);
        w.Key("workflowUuid"), w.String(wf.uuid);
        w.Key("userUuid"), w.String(wf.user_uuid);
        w.Key("name"), w.String(wf.name);
        w.Key("folderUuid"), w.Null();
        w.Key("creditsCost"), w.StartObject();
        w.Key("kind"), w.String("sum");
        w.EndObject();
        w.Key("description"), w.Null();
        w.Key("isReadOnly"), w.Bool(false);
        w.Key("triggers"), w.StartArray(), w.EndArray();
        w.Key("publicForm"), w.Null();
        w.Key("createdAt"), write_time(w, wf.created_at);
        w.Key("updatedAt"), write_time(w, wf.created_at);
        w.Key("deletedAt"), w.Null();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

}  // namespace cargomon::sim
