#include "cargo/decode.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string_view>

#include "common/json.h"
#include "common/timefmt.h"

namespace cargomon::cargo {

std::optional<double> Cell::as_double() const {
    if (auto* n = number()) return *n;
    auto* t = text();
    if (!t || t->empty()) return std::nullopt;
    double value = 0;
    auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), value);
    if (ec != std::errc{} || end != t->data() + t->size()) return std::nullopt;
    return value;
}

std::optional<std::size_t> QueryResult::column(std::string_view name) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (columns[i] == name) return i;
    return std::nullopt;
}

namespace decode {
namespace {

using rapidjson::Value;

const char* kind_of(const Value& v) {
    switch (v.GetType()) {
        case rapidjson::kNullType: return "null";
        case rapidjson::kFalseType:
        case rapidjson::kTrueType: return "a boolean";
        case rapidjson::kObjectType: return "an object";
        case rapidjson::kArrayType: return "an array";
        case rapidjson::kStringType: return "a string";
        case rapidjson::kNumberType: return "a number";
    }
    return "?";
}

[[noreturn]] void fail(std::string_view field, std::string_view expected, const Value& got) {
    throw DecodeError(std::string(field) + ": expected " + std::string(expected) + ", got " + kind_of(got));
}

std::string_view view(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

rapidjson::Document parse(std::string& body) {
    if (body.empty()) throw DecodeError("empty body");
    rapidjson::Document doc;
    if (auto error = parse_json_in_place(body, doc)) throw DecodeError("malformed JSON at " + *error);
    if (!doc.IsObject()) fail("answer", "an object", doc);
    return doc;
}

// nullptr when absent or null: the API leaves optional fields out or sends null alike.
const Value* member(const Value& obj, const char* name) {
    auto it = obj.FindMember(name);
    if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
}

const Value& required(const Value& obj, const char* name) {
    const Value* v = member(obj, name);
    if (!v) throw DecodeError(std::string(name) + ": missing");
    return *v;
}

const Value::ConstArray array(const Value& obj, const char* name) {
    const Value& v = required(obj, name);
    if (!v.IsArray()) fail(name, "an array", v);
    return v.GetArray();
}

std::string text(const Value& obj, const char* name) {
    const Value& v = required(obj, name);
    if (!v.IsString()) fail(name, "a string", v);
    return std::string(view(v));
}

std::optional<std::string> optional_text(const Value& obj, const char* name) {
    const Value* v = member(obj, name);
    if (!v) return std::nullopt;
    if (!v->IsString()) fail(name, "a string", *v);
    return std::string(view(*v));
}

double number(const Value& obj, const char* name) {
    const Value* v = member(obj, name);
    if (!v) return 0;  // an aggregate over nothing
    if (v->IsNumber()) return v->GetDouble();
    if (v->IsString()) {
        double value = 0;
        auto s = view(*v);
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
        if (ec == std::errc{} && end == s.data() + s.size() && !s.empty()) return value;
        throw DecodeError(std::string(name) + ": a string that is not a number");
    }
    fail(name, "a number", *v);
}

std::int64_t integer(const Value& obj, const char* name) {
    const Value* v = member(obj, name);
    if (v && v->IsInt64()) return v->GetInt64();
    if (v && v->IsString()) {
        std::int64_t value = 0;
        auto s = view(*v);
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
        if (ec == std::errc{} && end == s.data() + s.size() && !s.empty()) return value;
    }
    // A count is a whole number: "nan", "inf" and what no int64 holds have no count to
    // round to (llround's result for them is unspecified).
    const double value = number(obj, name);
    if (!std::isfinite(value) || std::fabs(value) >= 9.2e18)
        throw DecodeError(std::string(name) + ": expected a count, got a number out of range");
    return std::llround(value);
}

bool flag(const Value& obj, const char* name) {
    const Value* v = member(obj, name);
    if (!v) return false;
    if (v->IsBool()) return v->GetBool();
    if (v->IsNumber()) return v->GetDouble() != 0;
    fail(name, "a boolean", *v);
}

std::optional<SystemTime> timestamp(const Value& obj, const char* name) {
    auto s = optional_text(obj, name);
    if (!s) return std::nullopt;
    auto t = parse_iso8601(*s);
    // Values are not quoted back: a truncated echo of a secret could not be redacted.
    if (!t) throw DecodeError(std::string(name) + ": a string that is not an ISO-8601 timestamp");
    return t;
}

// A batch's counter: budgets are computed from them, so what no count can be (negative,
// "nan", "inf", a fraction of a run) is refused rather than read as some number.
std::int64_t batch_count(const Value& obj, const char* name) {
    const std::int64_t value = integer(obj, name);
    if (value < 0) throw DecodeError(std::string(name) + ": expected a count, got a negative number");
    return value;
}

double credits(const Value& obj, const char* name) {
    const double value = number(obj, name);
    if (!std::isfinite(value)) throw DecodeError(std::string(name) + ": expected a credit count, got a non-finite number");
    if (value < 0) throw DecodeError(std::string(name) + ": expected a credit count, got a negative number");
    return value;
}

// `data` is the create body's, free-form: only what a re-run names is read, and a shape
// other than the contract's is taken as naming nothing.
void read_rerun_data(const Value& data, Batch& b) {
    if (const Value* filter = member(data, "filter"); filter && filter->IsObject())
        if (const Value* of = member(*filter, "batchUuid"); of && of->IsString()) b.rerun_of = std::string(view(*of));
    if (b.data_kind != "recordIds") return;
    if (const Value* ids = member(data, "ids"); ids && ids->IsArray())
        for (const auto& id : ids->GetArray())
            if (id.IsString()) b.record_ids.emplace_back(view(id));
}

const Value& object(const Value& v, std::string_view where) {
    if (!v.IsObject()) fail(where, "an object", v);
    return v;
}

// Decodes each element, naming the failing one ("batches[3].runsCount: ...").
template <class T, class F>
std::vector<T> each(const Value& root, const char* name, F&& one) {
    std::vector<T> out;
    auto items = array(root, name);
    out.reserve(items.Size());
    for (rapidjson::SizeType i = 0; i < items.Size(); ++i) {
        try {
            out.push_back(one(object(items[i], "item")));
        } catch (const DecodeError& e) {
            throw DecodeError(std::string(name) + "[" + std::to_string(i) + "]." + e.what());
        }
    }
    return out;
}

Batch to_batch(const Value& v) {
    Batch b;
    b.uuid = text(v, "uuid");
    b.workspace_uuid = optional_text(v, "workspaceUuid").value_or("");
    b.workflow_uuid = optional_text(v, "workflowUuid").value_or("");
    b.release_uuid = optional_text(v, "releaseUuid");
    if (const Value* data = member(v, "data"); data && data->IsObject()) {
        b.data_kind = optional_text(*data, "kind").value_or("");
        read_rerun_data(*data, b);
    }
    b.status = text(v, "status");
    b.runs_status = optional_text(v, "runsStatus");
    b.runs_count = batch_count(v, "runsCount");
    b.executed_runs_count = batch_count(v, "executedRunsCount");
    b.failed_runs_count = batch_count(v, "failedRunsCount");
    b.credits_used_count = credits(v, "creditsUsedCount");
    b.error_message = optional_text(v, "errorMessage");
    b.created_at = timestamp(v, "createdAt");
    b.updated_at = timestamp(v, "updatedAt");
    b.finished_at = timestamp(v, "finishedAt");
    return b;
}

Cell to_cell(const Value& v) {
    switch (v.GetType()) {
        case rapidjson::kNullType: return Cell{};
        case rapidjson::kFalseType: return Cell{0.0};
        case rapidjson::kTrueType: return Cell{1.0};
        case rapidjson::kNumberType: return Cell{v.GetDouble()};
        case rapidjson::kStringType: return Cell{std::string(view(v))};
        case rapidjson::kObjectType:
        case rapidjson::kArrayType: break;
    }
    rapidjson::StringBuffer json;
    rapidjson::Writer<rapidjson::StringBuffer> writer(json);
    v.Accept(writer);
    return Cell{std::string(json.GetString(), json.GetSize())};
}

}  // namespace

QueryResult query_result(std::string& body) {
    auto doc = parse(body);
    auto rows = array(doc, "rows");
    QueryResult result;
    if (rows.Empty()) return result;
    for (const auto& m : object(rows[0], "rows[0]").GetObject()) result.columns.emplace_back(view(m.name));
    const std::size_t width = result.columns.size();
    result.cells.reserve(rows.Size() * width);
    for (rapidjson::SizeType r = 0; r < rows.Size(); ++r) {
        const Value& row = object(rows[r], "rows[" + std::to_string(r) + "]");
        // Rows normally repeat the first row's key order; fall back to lookups when not.
        bool same_order = row.MemberCount() == width;
        for (auto [m, c] = std::pair{row.MemberBegin(), std::size_t{0}}; same_order && c < width; ++m, ++c)
            same_order = view(m->name) == result.columns[c];
        if (same_order) {
            for (const auto& m : row.GetObject()) result.cells.push_back(to_cell(m.value));
            continue;
        }
        for (const auto& name : result.columns) {
            auto it = row.FindMember(rapidjson::StringRef(name.data(), name.size()));
            result.cells.push_back(it == row.MemberEnd() ? Cell{} : to_cell(it->value));
        }
    }
    return result;
}

std::int64_t count(std::string& body) {
    auto doc = parse(body);
    required(doc, "count");
    return integer(doc, "count");
}

std::vector<RunMetric> run_metrics(std::string& body) {
    auto doc = parse(body);
    return each<RunMetric>(doc, "runMetrics", [](const Value& v) {
        return RunMetric{
            .node_uuid = text(v, "nodeUuid"),
            .total = integer(v, "totalExecutionsCount"),
            .idle = integer(v, "idleExecutionsCount"),
            .pending = integer(v, "pendingExecutionsCount"),
            .running = integer(v, "runningExecutionsCount"),
            .success = integer(v, "successExecutionsCount"),
            .error = integer(v, "errorExecutionsCount"),
            .cancelling = integer(v, "cancellingExecutionsCount"),
            .cancelled = integer(v, "cancelledExecutionsCount"),
            .skipped = integer(v, "skippedExecutionsCount"),
            .credits_used = number(v, "creditsUsedCount"),
        };
    });
}

std::vector<Batch> batches(std::string& body) {
    auto doc = parse(body);
    return each<Batch>(doc, "batches", to_batch);
}

Batch batch(std::string& body) {
    auto doc = parse(body);
    try {
        return to_batch(object(required(doc, "batch"), "batch"));
    } catch (const DecodeError& e) {
        throw DecodeError(std::string("batch.") + e.what());
    }
}

RunPage runs(std::string& body) {
    auto doc = parse(body);
    RunPage page;
    page.runs = each<Run>(doc, "runs", [](const Value& v) {
        Run r{.uuid = text(v, "uuid"),
              .workflow_uuid = optional_text(v, "workflowUuid").value_or(""),
              .batch_uuid = optional_text(v, "batchUuid"),
              .release_uuid = optional_text(v, "releaseUuid"),
              .record_id = optional_text(v, "recordId").value_or(""),
              .record_title = optional_text(v, "recordTitle").value_or(""),
              .status = text(v, "status"),
              .error_message = optional_text(v, "errorMessage"),
              .executions = {},
              .created_at = timestamp(v, "createdAt"),
              .finished_at = timestamp(v, "finishedAt")};
        if (member(v, "executions"))
            r.executions = each<Execution>(v, "executions", [](const Value& e) {
                return Execution{.node_uuid = optional_text(e, "nodeUuid").value_or(""),
                                 .node_slug = optional_text(e, "nodeSlug").value_or(""),
                                 .status = text(e, "status"),
                                 .error_message = optional_text(e, "errorMessage")};
            });
        return r;
    });
    // The total is what tells a caller it has every page; without it, this page is all.
    page.count = member(doc, "count") ? integer(doc, "count") : static_cast<std::int64_t>(page.runs.size());
    return page;
}

std::string url(std::string& body) {
    auto doc = parse(body);
    return text(doc, "url");
}

std::vector<std::string> urls(std::string& body) {
    auto doc = parse(body);
    std::vector<std::string> out;
    for (const Value& u : array(doc, "urls")) {
        if (!u.IsString()) fail("urls[]", "a string", u);
        out.emplace_back(view(u));
    }
    return out;
}

// Workflow nodes nest ("nodes" inside a node); metrics only need each one's uuid and slug.
void flatten_nodes(const Value& parent, std::vector<WorkflowNode>& out) {
    const Value* nodes = member(parent, "nodes");
    if (!nodes) return;
    if (!nodes->IsArray()) fail("nodes", "an array", *nodes);
    for (const Value& n : nodes->GetArray()) {
        if (!n.IsObject()) fail("nodes[]", "an object", n);
        out.push_back({.uuid = text(n, "uuid"),
                       .slug = optional_text(n, "slug").value_or(""),
                       .kind = optional_text(n, "kind").value_or("")});
        flatten_nodes(n, out);
    }
}

namespace {

// A release's node. childrenUuids may hold nulls (an unconnected branch); a fallback
// child is a child too. Without childrenUuids (as Cargo's docs show), children_uuids
// stays unknown.
WorkflowNode release_node(const Value& n) {
    WorkflowNode node{.uuid = text(n, "uuid"),
                      .slug = optional_text(n, "slug").value_or(""),
                      .kind = optional_text(n, "kind").value_or("")};
    if (const Value* children = member(n, "childrenUuids")) {
        if (!children->IsArray()) fail("childrenUuids", "an array", *children);
        node.children_uuids.emplace();
        for (const Value& c : children->GetArray()) {
            if (c.IsNull()) continue;
            if (!c.IsString()) fail("childrenUuids[]", "a string or null", c);
            node.children_uuids->emplace_back(view(c));
        }
    }
    if (auto fallback = optional_text(n, "fallbackChildUuid")) {
        if (!node.children_uuids) node.children_uuids.emplace();
        node.children_uuids->push_back(std::move(*fallback));
    }
    return node;
}

}  // namespace

Release release(std::string& body) {
    auto doc = parse(body);
    const Value& r = object(required(doc, "release"), "release");
    Release out{.uuid = text(r, "uuid"),
                .workflow_uuid = optional_text(r, "workflowUuid").value_or(""),
                .version = optional_text(r, "version"),
                .status = optional_text(r, "status").value_or("")};
    if (member(r, "nodes")) {
        try {
            out.nodes = each<WorkflowNode>(r, "nodes", release_node);
        } catch (const DecodeError& e) {
            throw DecodeError(std::string("release.") + e.what());
        }
    }
    return out;
}

std::vector<Workflow> workflows(std::string& body) {
    auto doc = parse(body);
    return each<Workflow>(doc, "workflows", [](const Value& v) {
        Workflow w{.uuid = text(v, "uuid"),
                   .play_uuid = optional_text(v, "playUuid"),
                   .tool_uuid = optional_text(v, "toolUuid")};
        flatten_nodes(v, w.nodes);
        if (const Value* release = member(v, "deployedRelease")) {
            const Value& r = object(*release, "deployedRelease");
            w.deployed_release_uuid = optional_text(r, "uuid");
            // A release holds its nodes flat (childrenUuids link them), not as a tree.
            if (member(r, "nodes")) w.deployed_release_nodes = each<WorkflowNode>(r, "nodes", release_node);
        }
        if (const Value* last = member(v, "lastBatch")) {
            const Value& b = object(*last, "lastBatch");
            w.last_batch = LastBatch{.uuid = text(b, "uuid"),
                                     .status = text(b, "status"),
                                     .runs_status = optional_text(b, "runsStatus"),
                                     .error_message = optional_text(b, "errorMessage"),
                                     .created_at = timestamp(b, "createdAt"),
                                     .finished_at = timestamp(b, "finishedAt")};
        }
        return w;
    });
}

std::vector<Play> plays(std::string& body) {
    auto doc = parse(body);
    return each<Play>(doc, "plays", [](const Value& v) {
        return Play{.uuid = text(v, "uuid"),
                    .workflow_uuid = text(v, "workflowUuid"),
                    .name = optional_text(v, "name").value_or(""),
                    .model_uuid = optional_text(v, "modelUuid"),
                    .is_enabled = flag(v, "isEnabled"),
                    .health_threshold = number(v, "healthThreshold")};
    });
}

std::vector<Tool> tools(std::string& body) {
    auto doc = parse(body);
    return each<Tool>(doc, "tools", [](const Value& v) {
        return Tool{.uuid = text(v, "uuid"),
                    .workflow_uuid = text(v, "workflowUuid"),
                    .name = optional_text(v, "name").value_or("")};
    });
}

std::vector<UsageMetric> usage_metrics(std::string& body) {
    auto doc = parse(body);
    return each<UsageMetric>(doc, "metrics", [](const Value& v) {
        return UsageMetric{.date = timestamp(v, "date"),
                           .items = each<UsageItem>(v, "items", [](const Value& item) {
                               return UsageItem{.slug = text(item, "slug"),
                                                .count = number(item, "count"),
                                                .group_by = optional_text(item, "groupBy")};
                           })};
    });
}

Subscription subscription(std::string& body) {
    auto doc = parse(body);
    try {
        const Value& v = object(required(doc, "subscription"), "subscription");
        // Present and numeric: a balance the service left out is unknown, not zero.
        auto credits = [&](const char* name) {
            const double n = number(v, name);
            if (!member(v, name)) throw DecodeError(std::string(name) + ": missing");
            if (!std::isfinite(n)) throw DecodeError(std::string(name) + ": not a finite number");
            return n;
        };
        Subscription s{.available_credits = credits("subscriptionAvailableCreditsCount"),
                       .used_credits = credits("subscriptionCreditsUsedCount"),
                       .additional_credits = credits("additionalAvailableCreditsCount"),
                       .overage = {},
                       .start_at = timestamp(v, "startAt"),
                       .reset_at = {},
                       .end_at = timestamp(v, "endAt"),
                       .has_credits = flag(v, "hasCredits")};
        const auto reset = timestamp(v, "resetAt");
        if (!reset) throw DecodeError("resetAt: missing");
        s.reset_at = *reset;
        if (member(v, "creditsOverageBehaviors")) {
            if (array(v, "creditsOverageBehaviors").Size() > kMaxOverageBehaviors)
                throw DecodeError("creditsOverageBehaviors: more than " + std::to_string(kMaxOverageBehaviors) +
                                  " behaviours");
            s.overage = each<OverageBehavior>(v, "creditsOverageBehaviors", [](const Value& b) {
                const std::string action = text(b, "action");
                if (action != "deny" && action != "allow")
                    throw DecodeError("action: expected \"deny\" or \"allow\"");
                std::string unit = text(b, "unit");
                const bool word = std::all_of(unit.begin(), unit.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
                });
                if (unit.empty() || unit.size() > 64 || !word)
                    throw DecodeError("unit: expected 1 to 64 letters, digits, '.', '_' or '-'");
                return OverageBehavior{.unit = std::move(unit), .denied = action == "deny"};
            });
            for (std::size_t i = 0; i < s.overage.size(); ++i)
                for (std::size_t j = 0; j < i; ++j)
                    if (s.overage[i].unit == s.overage[j].unit)
                        throw DecodeError("creditsOverageBehaviors[" + std::to_string(i) + "].unit: given twice");
        }
        return s;
    } catch (const DecodeError& e) {
        throw DecodeError(std::string("subscription.") + e.what());
    }
}

ErrorBody error_body(const std::string& body) {
    rapidjson::Document doc;
    ErrorBody out;
    if (parse_json(body, doc) || !doc.IsObject()) return out;
    if (auto it = doc.FindMember("errorMessage"); it != doc.MemberEnd() && it->value.IsString())
        out.error_message = std::string(view(it->value));
    if (auto it = doc.FindMember("reason"); it != doc.MemberEnd() && it->value.IsString())
        out.reason = std::string(view(it->value));
    if (auto it = doc.FindMember("dataError"); it != doc.MemberEnd() && it->value.IsObject())
        if (auto r = it->value.FindMember("reason"); r != it->value.MemberEnd() && r->value.IsString())
            out.data_error_reason = std::string(view(r->value));
    return out;
}

}  // namespace decode
}  // namespace cargomon::cargo
