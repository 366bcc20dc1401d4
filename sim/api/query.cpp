// /orchestration/query (the caller's SQL) and /billing/usage/metrics.
#include <cmath>
#include <map>
#include <set>

#include "common/json.h"
#include "sim/api/internal.h"
#include "sim/api/query_guard.h"

namespace cargomon::sim {
namespace {

// The caps of docs/cargo-api.md, in this order: readonly=1 comes last because ClickHouse
// refuses any setting given after it, which is what locks the caps.
const Settings& query_settings() {
    static const Settings settings = {
        {"max_execution_time", "30"},
        {"max_result_rows", "10000"},
        {"result_overflow_mode", "throw"},
        {"max_rows_to_read", "10000000"},
        {"max_columns_to_read", "50"},
        {"max_subquery_depth", "5"},
        {"output_format_json_quote_64bit_integers", "0"},
        {"readonly", "1"},
    };
    return settings;
}

// Re-emits a ClickHouse JSON value; non-finite floats have no JSON form and become null.
void write_value(JsonWriter& w, const rapidjson::Value& v) {
    if (v.IsDouble() && !std::isfinite(v.GetDouble())) {
        w.Null();
    } else if (v.IsArray()) {
        w.StartArray();
        for (const auto& item : v.GetArray()) write_value(w, item);
        w.EndArray();
    } else if (v.IsObject()) {
        w.StartObject();
        for (const auto& m : v.GetObject()) {
            w.Key(m.name.GetString(), m.name.GetStringLength());
            write_value(w, m.value);
        }
        w.EndObject();
    } else {
        v.Accept(w);
    }
}

// The guard refused `sql`. A text ClickHouse cannot parse gets the parser's own message
// (what the service answers to a typo such as "SELEC 1"); only a text that parses is
// refused. Query errors carry no reason: the typings name none for this endpoint, and
// the contract says only that errorMessage carries ClickHouse's message. max_ast_elements=1 stops every parsed statement of more than one AST node
// before it runs; the few one-node statements left (EXISTS t, DESC t) only read
// metadata under readonly=1, and their answer is thrown away.
[[noreturn]] void refuse_unless_syntax_error(const Call& call, const std::string& sql, const std::string& why) {
    constexpr int kSyntaxError = 62;
    try {
        call.ctx.clickhouse->query(sql, {{"database", call.workspace.database},
                                         {"max_execution_time", "5"},
                                         {"max_ast_elements", "1"},
                                         {"readonly", "1"}});
    } catch (const ClickHouseError& e) {
        if (e.code() == 0) throw;  // ClickHouse down is the sim's fault, not the query's
        if (e.code() == kSyntaxError) throw ApiError(400, "", e.what());
    }
    throw ApiError(400, "", why);
}

}  // namespace

std::string handle_query(const Call& call) {
    const std::string sql = call.payload.required_string("query");
    std::string guarded;
    try {
        guarded = guard_query(sql);
    } catch (const QueryRefused& e) {
        refuse_unless_syntax_error(call, sql, e.what());
    }
    Settings settings = {{"database", call.workspace.database}, {"default_format", "JSON"}};
    settings.insert(settings.end(), query_settings().begin(), query_settings().end());
    std::string body;
    try {
        body = call.ctx.clickhouse->query(guarded, settings);
    } catch (const ClickHouseError& e) {
        if (e.code() == 0) throw;  // ClickHouse down is the sim's fault, not the query's
        throw ApiError(400, "", e.what());
    }
    rapidjson::Document doc;
    // In situ: the body is ours to overwrite, which spares a copy of every string.
    if (parse_json_in_place(body, doc, {.nan_and_inf = true}) || !doc.IsObject() || !doc.HasMember("data") || !doc["data"].IsArray())
        throw ClickHouseError(0, "ClickHouse answered something that is not JSON");
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("rows");
    write_value(w, doc["data"]);
    w.EndObject();
    return buf.GetString();
}

std::string handle_usage_metrics(const Call& call) {
    const Payload& p = call.payload;
    const SystemTime from = p.required_time("from");
    const SystemTime to = p.required_time("to");
    if (to <= from) throw invalid_payload("to", "must be after from");
    const std::string unit =
        p.one_of("unit", {"billing.credits", "orchestration.executions", "storage.records"}).value_or("billing.credits");
    const auto group_by =
        p.one_of("groupBy", {"workflow_uuid", "connector_uuid", "integration_slug", "model_uuid", "agent_uuid"});

    const bool records = unit == "storage.records";
    std::string where = records ? "created_at >= " + sql_time(from) + " AND created_at < " + sql_time(to)
                                : "execution_started_at >= " + sql_time(from) + " AND execution_started_at < " +
                                      sql_time(to);
    if (auto v = p.string("workflowUuid")) where += " AND workflow_uuid = " + sql_quote(*v);
    if (auto v = p.string("modelUuid")) {
        std::vector<std::string> workflows;
        for (const Workflow& wf : call.workspace.workflows)
            if (wf.model_uuid == *v) workflows.push_back(wf.uuid);
        where += workflows.empty() ? " AND 0" : " AND workflow_uuid IN " + sql_list(workflows);
    }
    if (!records) {
        if (auto v = p.string("connectorUuid")) where += " AND node_connector_uuid = " + sql_quote(*v);
        if (auto v = p.string("integrationSlug")) where += " AND node_integration_slug = " + sql_quote(*v);
        if (auto v = p.string("agentUuid")) where += " AND node_agent_uuid = " + sql_quote(*v);
        if (auto v = p.string("slug")) where += " AND node_action_slug = " + sql_quote(*v);
    }

    // Records belong to a workflow only, so a node-level grouping of them has no group.
    std::string group_column = "NULL";
    if (group_by == "workflow_uuid" || group_by == "model_uuid") group_column = "workflow_uuid";
    else if (group_by && !records) group_column = "node_" + *group_by;

    // Days are UTC days, whatever the zone of the sim's ClickHouse (--clickhouse-timezone).
    // The usage slug is what consumed: the node's action, or its kind for tool and agent nodes.
    std::string sql;
    if (records) {
        sql = "SELECT toUnixTimestamp(toStartOfDay(created_at, 'UTC')) AS day, 'records' AS slug, " + group_column +
              " AS g, count() AS n FROM records WHERE " + where + " GROUP BY day, slug, g";
    } else {
        const std::string measure = unit == "billing.credits" ? "sum(execution_credits_used_count)" : "count()";
        sql = "SELECT toUnixTimestamp(toStartOfDay(execution_started_at, 'UTC')) AS day, "
              "if(node_action_slug != '', node_action_slug, node_kind) AS slug, " +
              group_column + " AS g, " + measure + " AS n FROM spans WHERE " + where +
              " GROUP BY day, slug, g HAVING n > 0";
    }
    rapidjson::Document rows = call.select(sql);

    std::map<std::string, std::string> model_of;
    for (const Workflow& wf : call.workspace.workflows) model_of[wf.uuid] = wf.model_uuid;
    // day -> (slug, group or null) -> count; ordered so the answer is stable.
    std::map<int64_t, std::map<std::pair<std::string, std::optional<std::string>>, double>> days;
    for (const auto& row : rows["data"].GetArray()) {
        std::optional<std::string> group;
        if (row[2].IsString()) group = row[2].GetString();
        if (group_by == "model_uuid" && group) {
            auto it = model_of.find(*group);
            group = it == model_of.end() || it->second.empty() ? std::nullopt : std::optional(it->second);
        }
        days[row[0].GetInt64()][{row[1].GetString(), group}] += row[3].GetDouble();
    }

    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("metrics");
    w.StartArray();
    for (const auto& [day, items] : days) {
        w.StartObject();
        w.Key("date");
        write_time(w, SystemTime{std::chrono::seconds{day}});
        w.Key("items");
        w.StartArray();
        for (const auto& [key, count] : items) {
            w.StartObject();
            w.Key("slug");
            w.String(key.first);
            w.Key("count");
            // Executions and records are whole numbers; only credits have fractions.
            if (count == std::floor(count) && std::abs(count) < 9e15) w.Int64(static_cast<int64_t>(count));
            else w.Double(count);
            w.Key("groupBy");
            if (key.second) w.String(*key.second);
            else w.Null();
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

}  // namespace cargomon::sim
