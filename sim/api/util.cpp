#include <zlib.h>

#include <charconv>

#include "common/json.h"
#include "common/timefmt.h"
#include "sim/api/internal.h"

namespace cargomon::sim {

ApiError invalid_payload(std::string_view field, std::string_view problem) {
    return ApiError(400, "invalidPayload", std::string(field) + ": " + std::string(problem));
}

void check_one_of(std::string_view field, std::string_view value, std::initializer_list<std::string_view> allowed) {
    for (std::string_view a : allowed)
        if (a == value) return;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    throw invalid_payload(field, "unknown value \"" + std::string(value) + "\", expected one of " + list);
}

Payload Payload::from_body(const std::string& body) {
    Payload p;
    if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
        p.doc_.SetObject();
        return p;
    }
    if (auto error = parse_json(body, p.doc_))
        throw ApiError(400, "invalidPayload", "body is not valid JSON: " + *error);
    if (!p.doc_.IsObject()) throw ApiError(400, "invalidPayload", "body must be a JSON object");
    return p;
}

Payload Payload::from_params(const httplib::Params& params) {
    Payload p;
    p.text_values_ = true;
    auto& alloc = p.doc_.GetAllocator();
    p.doc_.SetObject();
    for (const auto& [key, value] : params) {
        const bool array = key.size() > 2 && key.compare(key.size() - 2, 2, "[]") == 0;
        const std::string name = array ? key.substr(0, key.size() - 2) : key;
        rapidjson::Value v(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), alloc);
        auto it = p.doc_.FindMember(name.c_str());
        if (it == p.doc_.MemberEnd()) {
            rapidjson::Value holder;
            if (array) {
                holder.SetArray();
                holder.PushBack(v, alloc);
            } else {
                holder = v;
            }
            p.doc_.AddMember(rapidjson::Value(name.c_str(), alloc), holder, alloc);
        } else if (it->value.IsArray()) {
            it->value.PushBack(v, alloc);
        } else {
            throw invalid_payload(name, "given more than once");
        }
    }
    return p;
}

const rapidjson::Value* optional_member(const rapidjson::Value& object, const char* name) {
    auto it = object.FindMember(name);
    return it == object.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
}

const rapidjson::Value* Payload::value(const char* name) const { return optional_member(doc_, name); }

std::optional<std::string> Payload::string(const char* name) const {
    const rapidjson::Value* v = value(name);
    if (!v) return std::nullopt;
    if (!v->IsString()) throw invalid_payload(name, "must be a string");
    return std::string(v->GetString(), v->GetStringLength());
}

std::string Payload::required_string(const char* name) const {
    auto s = string(name);
    if (!s) throw invalid_payload(name, "is required");
    if (s->empty()) throw invalid_payload(name, "must not be empty");
    return *s;
}

std::optional<bool> Payload::boolean(const char* name) const {
    const rapidjson::Value* v = value(name);
    if (!v) return std::nullopt;
    if (v->IsBool()) return v->GetBool();
    if (text_values_ && v->IsString()) {
        std::string_view s = v->GetString();
        if (s == "true") return true;
        if (s == "false") return false;
    }
    throw invalid_payload(name, "must be a boolean");
}

std::optional<int64_t> Payload::integer(const char* name, int64_t min, int64_t max) const {
    const rapidjson::Value* v = value(name);
    if (!v) return std::nullopt;
    int64_t n = 0;
    if (v->IsInt64()) {
        n = v->GetInt64();
    } else if (text_values_ && v->IsString()) {
        std::string_view s = v->GetString();
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) throw invalid_payload(name, "must be an integer");
    } else {
        throw invalid_payload(name, "must be an integer");
    }
    if (n < min || n > max)
        throw invalid_payload(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return n;
}

std::optional<SystemTime> Payload::time(const char* name) const {
    auto s = string(name);
    if (!s) return std::nullopt;
    auto t = parse_iso8601(*s);
    if (!t) throw invalid_payload(name, "must be an ISO-8601 timestamp, got \"" + *s + "\"");
    return t;
}

SystemTime Payload::required_time(const char* name) const {
    auto t = time(name);
    if (!t) throw invalid_payload(name, "is required");
    return *t;
}

std::vector<std::string> Payload::strings(const char* name) const {
    const rapidjson::Value* v = value(name);
    if (!v) return {};
    if (!v->IsArray()) throw invalid_payload(name, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& item : v->GetArray()) {
        if (!item.IsString()) throw invalid_payload(name, "must be an array of strings");
        out.emplace_back(item.GetString(), item.GetStringLength());
    }
    return out;
}

std::optional<std::string> Payload::one_of(const char* name, std::initializer_list<std::string_view> allowed) const {
    auto s = string(name);
    if (s) check_one_of(name, *s, allowed);
    return s;
}

std::vector<std::string> Payload::all_of(const char* name, std::initializer_list<std::string_view> allowed) const {
    auto list = strings(name);
    for (const auto& s : list) check_one_of(name, s, allowed);
    return list;
}

std::string sql_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::string sql_list(const std::vector<std::string>& values) {
    std::string out = "(";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + sql_quote(values[i]);
    return out + ")";
}

std::string sql_time(SystemTime t) {
    // Unix seconds keep the comparison independent of the server's time zone.
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    return "toDateTime(" + std::to_string(secs) + ")";
}

rapidjson::Document Call::select(const std::string& sql) const {
    std::string body = ctx.clickhouse->query(
        sql + "\nFORMAT JSONCompact",
        {{"database", workspace.database}, {"output_format_json_quote_64bit_integers", "0"}});
    rapidjson::Document doc;
    if (parse_json(body, doc) || !doc.IsObject() || !doc.HasMember("data") || !doc["data"].IsArray())
        throw ClickHouseError(0, "ClickHouse answered something that is not JSONCompact");
    return doc;
}

uint64_t Call::count(const std::string& sql) const {
    std::string body = ctx.clickhouse->query(sql + "\nFORMAT TabSeparated", {{"database", workspace.database}});
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), n);
    if (ec != std::errc{}) throw ClickHouseError(0, "ClickHouse answered a count that is not a number");
    (void)end;
    return n;
}

void write_string_or_null(JsonWriter& w, const rapidjson::Value& v) {
    if (v.IsString()) w.String(v.GetString(), v.GetStringLength());
    else w.Null();
}

void write_time(JsonWriter& w, SystemTime t) { w.String(format_iso8601(t)); }

void write_time(JsonWriter& w, const rapidjson::Value& unix_seconds) {
    if (unix_seconds.IsNull()) {
        w.Null();
        return;
    }
    int64_t secs = 0;
    if (unix_seconds.IsInt64()) {
        secs = unix_seconds.GetInt64();
    } else if (unix_seconds.IsString()) {
        std::string_view s = unix_seconds.GetString();
        std::from_chars(s.data(), s.data() + s.size(), secs);
    }
    write_time(w, SystemTime{std::chrono::seconds{secs}});
}

void write_number(JsonWriter& w, const rapidjson::Value& v) {
    if (v.IsNumber()) v.Accept(w);
    else w.Null();
}

void csv_append(std::string& out, std::string_view field, bool last) {
    out += '"';
    for (char c : field) {
        if (c == '"') out += '"';
        out += c;
    }
    out += last ? "\"\n" : "\",";
}

std::string csv_text(const rapidjson::Value& v) {
    if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
    if (v.IsNull()) return "";
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    v.Accept(w);
    return buf.GetString();
}

std::string csv_time(const rapidjson::Value& unix_seconds) {
    if (!unix_seconds.IsInt64()) return "";
    return format_iso8601(SystemTime{std::chrono::seconds{unix_seconds.GetInt64()}});
}

std::string gzip(std::string_view data) {
    z_stream zs{};
    // 15 + 16: a gzip header and trailer, what a .csv.gz download holds.
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    std::string out(deflateBound(&zs, data.size()), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate failed");
    out.resize(zs.total_out);
    return out;
}

}  // namespace cargomon::sim
