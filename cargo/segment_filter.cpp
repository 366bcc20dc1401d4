#include "cargo/segment_filter.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "common/text.h"
#include "common/timefmt.h"

namespace cargomon::cargo {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A condition is quoted in errors cut to this length, control characters replaced.
constexpr std::size_t kMaxQuoted = 300;

std::optional<double> as_number(std::string_view text) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    const std::string s(text);
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

bool is_date(std::string_view text) {
    return parse_iso8601(text).has_value() ||
           (text.size() == 10 && parse_iso8601(std::string(text) + "T00:00:00Z").has_value());
}

// One condition: COLUMN OP VALUE, or COLUMN is [not] empty|null. Writes its object.
void write_condition(const std::string& expr, Writer& w) {
    const std::string_view e = trim(expr);
    std::size_t col_end = 0;
    while (col_end < e.size() && (std::isalnum(static_cast<unsigned char>(e[col_end])) || e[col_end] == '_' ||
                                  e[col_end] == '.'))
        ++col_end;
    const std::string column(e.substr(0, col_end));
    std::string_view rest = trim(e.substr(col_end));
    auto bad = [&](const std::string& why) {
        return FilterError("\"" + printable(expr, kMaxQuoted) + "\": " + why +
                           " (COLUMN OP VALUE, e.g. country = \"FR\"; see docs/export.md)");
    };
    if (column.empty()) throw bad("it must start with a column name");

    static const std::pair<const char*, const char*> kWords[] = {
        {"is not empty", "isNotEmpty"}, {"is empty", "isEmpty"}, {"is not null", "isNotNull"}, {"is null", "isNull"}};
    const std::string lowered = to_lower(rest);
    for (const auto& [words, op] : kWords) {
        if (lowered != words) continue;
        w.StartObject();
        // Emptiness is a text notion; null applies to any column.
        w.Key("kind"), w.String(std::string_view(op).find("Empty") != std::string_view::npos ? "string" : "any");
        w.Key("columnSlug"), w.String(column);
        w.Key("operator"), w.String(op);
        w.EndObject();
        return;
    }
    // Two-character operators before the one-character ones they start with.
    static const std::pair<const char*, const char*> kOps[] = {{"!=", "isNot"},       {"!~", "doesNotContain"},
                                                              {"^=", "startsWith"},  {"$=", "endsWith"},
                                                              {"=", "is"},           {"~", "contains"},
                                                              {">", "greaterThan"},  {"<", "lowerThan"}};
    std::string op, symbol;
    for (const auto& [sym, name] : kOps)
        if (rest.substr(0, std::strlen(sym)) == sym) {
            op = name, symbol = sym;
            break;
        }
    if (op.empty()) throw bad("no operator after \"" + column + "\"");
    std::string_view value = trim(rest.substr(symbol.size()));
    if (value.empty()) throw bad("no value after " + symbol);
    const bool quoted_value = value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
                              value.back() == value.front();
    if (quoted_value) value = value.substr(1, value.size() - 2);
    const auto number = quoted_value ? std::nullopt : as_number(value);
    const bool date = !quoted_value && !number && is_date(value);
    const bool ordered = op == "greaterThan" || op == "lowerThan";
    const bool equality = op == "is" || op == "isNot";
    if (ordered && !number && !date) throw bad(symbol + " needs a number or a date");

    w.StartObject();
    if (number && (ordered || equality)) {
        w.Key("kind"), w.String("number");
        w.Key("columnSlug"), w.String(column);
        w.Key("operator"), w.String(op);
        w.Key("value"), w.Double(*number);
    } else if (date && (ordered || equality)) {
        w.Key("kind"), w.String("date");
        w.Key("columnSlug"), w.String(column);
        w.Key("operator"), w.String(op);
        w.Key("value"), w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    } else {
        w.Key("kind"), w.String("string");
        w.Key("columnSlug"), w.String(column);
        w.Key("operator"), w.String(op);
        w.Key("values"), w.StartArray(), w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
        w.EndArray();
    }
    w.EndObject();
}

}  // namespace

std::string segment_filter_json(const std::vector<std::string>& conditions, bool match_any) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("conjonction"), w.String("and");
    w.Key("groups"), w.StartArray();
    if (!conditions.empty()) {
        w.StartObject();
        w.Key("conjonction"), w.String(match_any ? "or" : "and");
        w.Key("conditions"), w.StartArray();
        for (const auto& c : conditions) write_condition(c, w);
        w.EndArray();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

std::string segment_sort_json(const std::vector<std::string>& columns) {
    if (columns.empty()) return "";
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartArray();
    for (const auto& c : columns) {
        const auto colon = c.find(':');
        const std::string column = c.substr(0, colon);
        const std::string kind = colon == std::string::npos ? "asc" : to_lower(c.substr(colon + 1));
        if (column.empty() || (kind != "asc" && kind != "desc"))
            throw FilterError("\"" + printable(c, kMaxQuoted) + "\": want COLUMN, COLUMN:asc or COLUMN:desc");
        w.StartObject();
        w.Key("columnSlug"), w.String(column);
        w.Key("kind"), w.String(kind);
        w.EndObject();
    }
    w.EndArray();
    return buf.GetString();
}

}  // namespace cargomon::cargo
