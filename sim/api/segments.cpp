// POST /segmentation/segments/download: a model's records as a segment, with the
// request's filter and sort applied (docs/cargo-sim.md, "Segment export").
#include <algorithm>
#include <array>
#include <cmath>

#include "common/clock.h"
#include "common/timefmt.h"
#include "sim/api/internal.h"

namespace cargomon::sim {
namespace {

// The sim has no storage models: a model's segment is one row per record id its plays
// processed, with these columns, in this order in the SQL and the CSV.
enum class Type { string, number, date };
struct Column {
    std::string_view slug;
    Type type;
};
constexpr std::array<Column, 6> kColumns = {{{"id", Type::string},
                                             {"title", Type::string},
                                             {"status", Type::string},
                                             {"runs_count", Type::number},
                                             {"created_at", Type::date},
                                             {"updated_at", Type::date}}};
constexpr size_t kId = 0;

// Bounds on a hostile filter: the evaluation costs rows x conditions x values.
constexpr size_t kMaxGroups = 100;
constexpr size_t kMaxConditions = 100;
constexpr size_t kMaxValues = 1000;
constexpr size_t kMaxText = 4096;

std::string column_list(std::string_view separator = ", ") {
    std::string list;
    for (const Column& c : kColumns) list += (list.empty() ? "" : std::string(separator)) + std::string(c.slug);
    return list;
}

std::string_view type_name(Type t) {
    return t == Type::string ? "string" : t == Type::number ? "number" : "date";
}

std::optional<size_t> column_index(std::string_view slug) {
    for (size_t i = 0; i < kColumns.size(); ++i)
        if (kColumns[i].slug == slug) return i;
    return std::nullopt;
}

enum class Op {
    is, is_not, contains, does_not_contain, starts_with, ends_with,  // over `values`
    greater_than, lower_than, between,                              // over numbers and instants
    is_null, is_not_null, is_empty, is_not_empty,
};

// One condition, checked and ready to run on every row. Dates are unix seconds, as
// doubles: a filter's instant may have a fraction, the records' have none.
struct Condition {
    size_t column;
    Op op;
    std::vector<std::string> values;  // string kind
    double first = 0, last = 0;       // number and date kinds: value, or between's bounds
};

struct Group {
    bool any;  // conjonction "or"
    std::vector<Condition> conditions;
};

struct Filter {
    bool any;
    std::vector<Group> groups;
};

ApiError bad_filter(const std::string& what) { return ApiError(400, "invalidFilter", "filter: " + what); }

// A string field of the filter, bounded; `where` names it in the 400.
std::string text(const rapidjson::Value* v, const std::string& where) {
    if (!v) throw bad_filter(where + " is required");
    if (!v->IsString()) throw bad_filter(where + " must be a string");
    if (v->GetStringLength() > kMaxText)
        throw bad_filter(where + " is longer than " + std::to_string(kMaxText) + " bytes");
    return {v->GetString(), v->GetStringLength()};
}

bool conjonction_is_or(const rapidjson::Value& object, const std::string& where) {
    const rapidjson::Value* v = optional_member(object, "conjonction");
    const std::string c = v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : "";
    if (c != "and" && c != "or") throw bad_filter(where + "conjonction must be \"and\" or \"or\"");
    return c == "or";
}

double number(const rapidjson::Value& c, const char* name, const std::string& where) {
    const rapidjson::Value* v = optional_member(c, name);
    if (!v) throw bad_filter(where + name + " is required");
    if (!v->IsNumber() || !std::isfinite(v->GetDouble())) throw bad_filter(where + name + " must be a number");
    return v->GetDouble();
}

double instant(const rapidjson::Value& c, const char* name, const std::string& where) {
    const std::string s = text(optional_member(c, name), where + name);
    const auto t = parse_iso8601(s);
    if (!t) throw bad_filter(where + name + " must be an ISO-8601 date or datetime, got \"" + s + "\"");
    return unix_seconds(*t);
}

std::vector<std::string> values(const rapidjson::Value& c, const std::string& where) {
    const rapidjson::Value* v = optional_member(c, "values");
    if (v && v->IsArray()) {
        if (v->Size() > kMaxValues)
            throw bad_filter(where + "values has " + std::to_string(v->Size()) + " entries, at most " +
                             std::to_string(kMaxValues));
        std::vector<std::string> out;
        for (rapidjson::SizeType i = 0; i < v->Size(); ++i)
            out.push_back(text(&(*v)[i], where + "values[" + std::to_string(i) + "]"));
        return out;
    }
    if (v && !v->IsString()) throw bad_filter(where + "values must be a string or an array of strings");
    return {text(v, where + "values")};
}

Condition parse_condition(const rapidjson::Value& c, const std::string& model, const std::string& where) {
    if (!c.IsObject()) throw bad_filter(where + "must be an object");
    const std::string kind = text(optional_member(c, "kind"), where + "kind");
    static const std::initializer_list<std::string_view> kUnevaluated = {
        "sql", "object", "array", "vector", "objectProperty", "occurrence", "enrollment", "segment"};
    if (std::find(kUnevaluated.begin(), kUnevaluated.end(), kind) != kUnevaluated.end())
        throw bad_filter(where + "kind \"" + kind + "\" is not evaluated by the sim (it evaluates string, number, " +
                         "date, boolean and any)");
    if (kind != "string" && kind != "number" && kind != "date" && kind != "boolean" && kind != "any")
        throw bad_filter(where + "unknown kind \"" + kind + "\"");
    if (const rapidjson::Value* related = optional_member(c, "relatedModelUuid");
        related && text(related, where + "relatedModelUuid") != model)
        throw bad_filter(where + "relatedModelUuid: the sim's models have no related models");
    const std::string slug = text(optional_member(c, "columnSlug"), where + "columnSlug");
    const auto column = column_index(slug);
    if (!column)
        throw bad_filter(where + "unknown column \"" + slug + "\" (the sim's model has " + column_list() + ")");
    const Type type = kColumns[*column].type;
    if (kind != "any" && kind != type_name(type))
        throw bad_filter(where + "column \"" + slug + "\" is a " + std::string(type_name(type)) + ", not a " + kind);

    const std::string op_text = text(optional_member(c, "operator"), where + "operator");
    static const std::pair<std::string_view, Op> kOps[] = {
        {"is", Op::is},
        {"isNot", Op::is_not},
        {"contains", Op::contains},
        {"doesNotContain", Op::does_not_contain},
        {"startsWith", Op::starts_with},
        {"endsWith", Op::ends_with},
        {"greaterThan", Op::greater_than},
        {"lowerThan", Op::lower_than},
        {"between", Op::between},
        {"isNull", Op::is_null},
        {"isNotNull", Op::is_not_null},
        {"isEmpty", Op::is_empty},
        {"isNotEmpty", Op::is_not_empty},
    };
    std::optional<Op> op;
    for (const auto& [name, o] : kOps)
        if (name == op_text) op = o;
    // Which operators each kind has, by the typings.
    const bool nullness = op == Op::is_null || op == Op::is_not_null;
    const bool allowed = op && (nullness || (kind == "string" && *op <= Op::ends_with) ||
                                (kind == "string" && (op == Op::is_empty || op == Op::is_not_empty)) ||
                                ((kind == "number" || kind == "date") &&
                                 (op == Op::is || op == Op::is_not || (*op >= Op::greater_than && *op <= Op::between))));
    if (!allowed) throw bad_filter(where + "unknown operator \"" + op_text + "\" for kind " + kind);

    Condition out{*column, *op, {}};
    if (kind == "string" && *op <= Op::ends_with) out.values = values(c, where);
    if (kind == "number" || kind == "date") {
        auto read = kind == "number" ? number : instant;
        if (op == Op::between) {
            out.first = read(c, "firstValue", where);
            out.last = read(c, "lastValue", where);
        } else if (!nullness) {
            out.first = read(c, "value", where);
        }
    }
    return out;
}

Filter parse_filter(const rapidjson::Value* filter, const std::string& model) {
    if (!filter) throw invalid_payload("filter", "is required");
    if (!filter->IsObject()) throw bad_filter("must be an object");
    Filter out{conjonction_is_or(*filter, ""), {}};
    const rapidjson::Value* groups = optional_member(*filter, "groups");
    if (!groups || !groups->IsArray()) throw bad_filter("groups must be an array");
    if (groups->Size() > kMaxGroups)
        throw bad_filter("groups has " + std::to_string(groups->Size()) + " entries, at most " +
                         std::to_string(kMaxGroups));
    for (rapidjson::SizeType g = 0; g < groups->Size(); ++g) {
        const rapidjson::Value& group = (*groups)[g];
        const std::string where = "groups[" + std::to_string(g) + "].";
        if (!group.IsObject()) throw bad_filter(where.substr(0, where.size() - 1) + " must be an object");
        Group parsed{conjonction_is_or(group, where), {}};
        const rapidjson::Value* conditions = optional_member(group, "conditions");
        if (!conditions || !conditions->IsArray()) throw bad_filter(where + "conditions must be an array");
        if (conditions->Size() > kMaxConditions)
            throw bad_filter(where + "conditions has " + std::to_string(conditions->Size()) + " entries, at most " +
                             std::to_string(kMaxConditions));
        for (rapidjson::SizeType c = 0; c < conditions->Size(); ++c)
            parsed.conditions.push_back(
                parse_condition((*conditions)[c], model, where + "conditions[" + std::to_string(c) + "]: "));
        out.groups.push_back(std::move(parsed));
    }
    return out;
}

// A row is the SQL's answer, a JSON array in kColumns' order. No column of the model is
// ever null.
bool holds(const Condition& c, const rapidjson::Value& row) {
    const rapidjson::Value& cell = row[static_cast<rapidjson::SizeType>(c.column)];
    auto any_value = [&](auto match) {
        const std::string_view s(cell.GetString(), cell.GetStringLength());
        return std::any_of(c.values.begin(), c.values.end(), [&](const std::string& v) { return match(s, v); });
    };
    switch (c.op) {
        case Op::is_null: return false;
        case Op::is_not_null: return true;
        case Op::is_empty: return cell.GetStringLength() == 0;
        case Op::is_not_empty: return cell.GetStringLength() != 0;
        case Op::contains:
        case Op::does_not_contain:
            return any_value([](std::string_view s, std::string_view v) { return s.find(v) != s.npos; }) ==
                   (c.op == Op::contains);
        case Op::starts_with: return any_value([](std::string_view s, std::string_view v) { return s.starts_with(v); });
        case Op::ends_with: return any_value([](std::string_view s, std::string_view v) { return s.ends_with(v); });
        default: break;
    }
    if (kColumns[c.column].type == Type::string)  // is, isNot over `values`
        return any_value([](std::string_view s, std::string_view v) { return s == v; }) == (c.op == Op::is);
    const double x = cell.GetDouble();
    switch (c.op) {
        case Op::is: return x == c.first;
        case Op::is_not: return x != c.first;
        case Op::greater_than: return x > c.first;
        case Op::lower_than: return x < c.first;
        default: return x >= c.first && x <= c.last;  // between, bounds included
    }
}

// `all_of` or `any_of` of `items` under `pred`; an empty list holds either way.
template <typename Items, typename Pred>
bool combine(bool any, const Items& items, Pred pred) {
    if (items.empty()) return true;
    return any ? std::any_of(items.begin(), items.end(), pred) : std::all_of(items.begin(), items.end(), pred);
}

bool matches(const Filter& f, const rapidjson::Value& row) {
    return combine(f.any, f.groups, [&](const Group& g) {
        return combine(g.any, g.conditions, [&](const Condition& c) { return holds(c, row); });
    });
}

struct SortKey {
    size_t column;
    bool desc;
};

// `sort`: absent, null or [] is by id; each entry names a model column. A bad entry is a
// 400 invalidPayload naming sort[i].
std::vector<SortKey> parse_sort(const rapidjson::Value* sort) {
    std::vector<SortKey> out;
    if (!sort) return out;
    if (!sort->IsArray()) throw invalid_payload("sort", "must be an array of {columnSlug, kind}");
    if (sort->Size() > kMaxConditions)
        throw invalid_payload("sort", "has " + std::to_string(sort->Size()) + " entries, at most " +
                                          std::to_string(kMaxConditions));
    for (rapidjson::SizeType i = 0; i < sort->Size(); ++i) {
        const rapidjson::Value& s = (*sort)[i];
        const std::string where = "sort[" + std::to_string(i) + "]";
        if (!s.IsObject()) throw invalid_payload(where, "must be an object {columnSlug, kind}");
        const rapidjson::Value* slug = optional_member(s, "columnSlug");
        const rapidjson::Value* kind = optional_member(s, "kind");
        if (!slug || !slug->IsString() || slug->GetStringLength() > kMaxText)
            throw invalid_payload(where, "columnSlug must be a string of at most " + std::to_string(kMaxText) + " bytes");
        const std::string_view name(slug->GetString(), slug->GetStringLength());
        const auto column = column_index(name);
        if (!column)
            throw invalid_payload(where, "unknown column \"" + std::string(name) + "\" (the sim's model has " +
                                             column_list() + ")");
        const std::string_view k = kind && kind->IsString() ? kind->GetString() : "";
        if (k != "asc" && k != "desc") throw invalid_payload(where, "kind must be \"asc\" or \"desc\"");
        out.push_back({*column, k == "desc"});
    }
    return out;
}

// <0, 0, >0 as a is before, with, after b in ascending order of `column`.
int compare(const rapidjson::Value& a, const rapidjson::Value& b, size_t column) {
    const auto i = static_cast<rapidjson::SizeType>(column);
    if (kColumns[column].type == Type::string)
        return std::string_view(a[i].GetString(), a[i].GetStringLength())
            .compare(std::string_view(b[i].GetString(), b[i].GetStringLength()));
    const double x = a[i].GetDouble(), y = b[i].GetDouble();
    return x < y ? -1 : x > y ? 1 : 0;
}

}  // namespace

std::string handle_segments_download(const Call& call) {
    const std::string model = call.payload.required_string("modelUuid");
    const Filter filter = parse_filter(call.payload.value("filter"), model);
    std::vector<SortKey> sort = parse_sort(call.payload.value("sort"));
    sort.push_back({kId, false});  // ids are unique: the order is total
    const int64_t limit = call.payload.integer("limit", 1, 1'000'000).value_or(1'000'000);
    std::vector<std::string> workflows;
    for (const Workflow& wf : call.workspace.workflows)
        if (wf.model_uuid == model) workflows.push_back(wf.uuid);
    if (workflows.empty()) throw ApiError(404, "modelNotFound", "no model " + model + " in this workspace");

    // The latest title and status are those of the record's last update (then its last run).
    rapidjson::Document doc = call.select(
        "SELECT id, argMax(title, (updated_at, run_uuid)), argMax(status, (updated_at, run_uuid)), "
        "uniqExact(run_uuid), toUnixTimestamp(min(created_at)), toUnixTimestamp(max(updated_at)) "
        "FROM records WHERE workflow_uuid IN " + sql_list(workflows) + " GROUP BY id");
    std::vector<const rapidjson::Value*> rows;
    for (const auto& row : doc["data"].GetArray())
        if (matches(filter, row)) rows.push_back(&row);
    std::sort(rows.begin(), rows.end(), [&](const rapidjson::Value* a, const rapidjson::Value* b) {
        for (const SortKey& k : sort)
            if (int c = compare(*a, *b, k.column)) return k.desc ? c > 0 : c < 0;
        return false;
    });
    if (static_cast<int64_t>(rows.size()) > limit) rows.resize(static_cast<size_t>(limit));

    std::string csv = column_list(",") + "\n";
    for (const rapidjson::Value* row : rows) {
        const rapidjson::Value& r = *row;
        for (rapidjson::SizeType i = 0; i < 4; ++i) csv_append(csv, csv_text(r[i]), false);
        csv_append(csv, csv_time(r[4]), false);
        csv_append(csv, csv_time(r[5]), true);
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("urls");
    w.StartArray();
    w.String(call.files.put(std::move(csv), "text/csv"));
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

}  // namespace cargomon::sim
