#include "web/api.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "alerts/rules/template.h"
#include "common/json.h"
#include "common/timefmt.h"

namespace cargomon::web {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// One member of the object being written: "key": value.
void member(Writer& w, const char* key, std::string_view value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
void member(Writer& w, const char* key, const char* value) { member(w, key, std::string_view(value)); }
void member(Writer& w, const char* key, bool value) {
    w.Key(key);
    w.Bool(value);
}
void member(Writer& w, const char* key, double value) {
    w.Key(key);
    w.Double(value);
}
void member(Writer& w, const char* key, std::uint64_t value) {
    w.Key(key);
    w.Uint64(value);
}
void member_or_null(Writer& w, const char* key, const std::optional<std::string>& value) {
    if (value) return member(w, key, std::string_view(*value));
    w.Key(key);
    w.Null();
}

// A rule's labels or annotations as written, templates unexpanded.
void write_templates(Writer& w, const std::vector<std::pair<std::string, alerts::rules::Template>>& templates) {
    w.StartObject();
    for (const auto& [k, t] : templates) member(w, k.c_str(), t.text());
    w.EndObject();
}

void write_alert(Writer& w, const alerts::Alert& a) {
    w.StartObject();
    w.Key("labels");
    metrics::write_labels_json(w, a.labels);
    w.Key("annotations");
    metrics::write_labels_json(w, a.annotations);
    member(w, "state", alerts::state_name(a.state));
    member(w, "activeAt", format_iso8601(a.active_at));
    member(w, "value", alerts::rules::go_float_exponent(a.value));
    w.EndObject();
}

// Go's zero time when a rule or group has not been evaluated yet, as Prometheus writes it.
std::string evaluation_time(const std::optional<SystemTime>& t) {
    return t ? format_iso8601(*t) : "0001-01-01T00:00:00Z";
}

double seconds(Millis d) { return std::chrono::duration<double>(d).count(); }

// One JSON object: `write_members` writes its keys and values.
template <typename WriteMembers>
std::string object_json(WriteMembers write_members) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    write_members(w);
    w.EndObject();
    return buffer.GetString();
}

// Prometheus' {"status":"success","data":{"<key>":[...]}}.
template <typename WriteItems>
std::string success_answer(const char* key, WriteItems write_items) {
    return object_json([&](Writer& w) {
        member(w, "status", "success");
        w.Key("data");
        w.StartObject();
        w.Key(key);
        w.StartArray();
        write_items(w);
        w.EndArray();
        w.EndObject();
    });
}

constexpr std::string_view silence_state_name(alerts::notify::SilenceState s) {
    switch (s) {
        case alerts::notify::SilenceState::pending: return "pending";
        case alerts::notify::SilenceState::active: return "active";
        case alerts::notify::SilenceState::expired: return "expired";
    }
    return "";
}

// A silence's own fields, as the API lists them and its client posts them (startsAt
// only when set: the client leaves it to the daemon).
void write_silence_fields(Writer& w, const alerts::notify::Silence& s) {
    const std::string matchers = metrics::matchers_to_json(s.matchers);
    w.Key("matchers");
    w.RawValue(matchers.data(), matchers.size(), rapidjson::kArrayType);
    if (s.starts_at != SystemTime{}) member(w, "startsAt", format_iso8601(s.starts_at));
    member(w, "endsAt", format_iso8601(s.ends_at));
    member(w, "createdBy", s.created_by);
    member(w, "comment", s.comment);
}

Answer silence_error(int status, const std::string& message) {
    return {status, object_json([&](Writer& w) { member(w, "error", message); })};
}

// The POSTed silence, or why it cannot be one. startsAt, when absent, is left at the
// epoch: the store starts it now.
std::variant<alerts::notify::Silence, std::string> read_silence_request(std::string_view body) {
    rapidjson::Document doc;
    if (auto error = parse_json(body, doc)) return "body is not JSON: " + *error;
    if (!doc.IsObject()) return std::string("body must be a JSON object");
    alerts::notify::Silence silence;
    if (!doc.HasMember("matchers")) return std::string("missing matchers");
    auto matchers = metrics::matchers_from_json(doc["matchers"]);
    if (auto* error = std::get_if<std::string>(&matchers)) return *error;
    silence.matchers = std::get<std::vector<metrics::Matcher>>(std::move(matchers));
    auto time_field = [&](const char* key, bool required) -> std::variant<std::optional<SystemTime>, std::string> {
        if (!doc.HasMember(key)) {
            if (required) return "missing " + std::string(key);
            return std::optional<SystemTime>{};
        }
        if (!doc[key].IsString()) return std::string(key) + ": expected an RFC 3339 timestamp";
        auto t = parse_iso8601(doc[key].GetString());
        if (!t) return std::string(key) + ": expected an RFC 3339 timestamp";
        return t;
    };
    auto starts = time_field("startsAt", false);
    auto ends = time_field("endsAt", true);
    if (auto* error = std::get_if<std::string>(&starts)) return *error;
    if (auto* error = std::get_if<std::string>(&ends)) return *error;
    silence.starts_at = std::get<0>(starts).value_or(SystemTime{});
    silence.ends_at = *std::get<0>(ends);
    for (auto [key, field] : {std::pair{"createdBy", &silence.created_by}, std::pair{"comment", &silence.comment}}) {
        if (!doc.HasMember(key)) continue;
        if (!doc[key].IsString()) return std::string(key) + ": expected a string";
        *field = doc[key].GetString();
    }
    return silence;
}

// A string member of `object`; nullopt when it is missing or not a string.
std::optional<std::string> optional_string_field(const rapidjson::Value& object, const char* key) {
    if (!object.IsObject() || !object.HasMember(key) || !object[key].IsString()) return std::nullopt;
    return object[key].GetString();
}

std::string string_field(const rapidjson::Value& object, const char* key) {
    return optional_string_field(object, key).value_or("");
}

// A matcher as Matcher::to_string() writes it; one this client's library does not take
// (a regex it cannot compile), as the peer sent it.
std::string listed_matcher(const rapidjson::Value& m) {
    auto made = metrics::matcher_from_json(m);
    if (auto* matcher = std::get_if<metrics::Matcher>(&made)) return matcher->to_string();
    const bool is_regex = m.IsObject() && m.HasMember("isRegex") && m["isRegex"].IsBool() && m["isRegex"].GetBool();
    const bool is_equal = !m.IsObject() || !m.HasMember("isEqual") || !m["isEqual"].IsBool() || m["isEqual"].GetBool();
    return string_field(m, "name") + (is_equal ? "=" : "!") + (is_regex ? "~" : "") + string_field(m, "value");
}

}  // namespace

std::string error_answer(std::string_view type, std::string_view message) {
    return object_json([&](Writer& w) {
        member(w, "status", "error");
        member(w, "errorType", type);
        member(w, "error", message);
    });
}

Answer list_silences_answer(const alerts::notify::SilenceStore& store) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartArray();
    for (const alerts::notify::Silence& s : store.list()) {
        w.StartObject();
        member(w, "id", s.id);
        w.Key("status");
        w.StartObject();
        member(w, "state", silence_state_name(store.state(s)));
        w.EndObject();
        write_silence_fields(w, s);
        w.EndObject();
    }
    w.EndArray();
    return {200, buffer.GetString()};
}

Answer create_silence_answer(alerts::notify::SilenceStore& store, std::string_view body) {
    auto silence = read_silence_request(body);
    if (auto* error = std::get_if<std::string>(&silence)) return silence_error(400, *error);
    auto added = store.add(std::get<alerts::notify::Silence>(std::move(silence)));
    if (auto* rejected = std::get_if<alerts::notify::SilenceRejected>(&added)) return silence_error(400, rejected->reason);
    return {200, object_json([&](Writer& w) { member(w, "silenceID", std::get<std::string>(added)); })};
}

Answer expire_silence_answer(alerts::notify::SilenceStore& store, const std::string& id) {
    if (!store.expire(id)) return silence_error(404, "no active or pending silence with that id");
    return {200, ""};
}

std::string silence_request(const alerts::notify::Silence& silence) {
    return object_json([&](Writer& w) { write_silence_fields(w, silence); });
}

std::optional<std::string> read_error(const rapidjson::Value& answer) { return optional_string_field(answer, "error"); }

std::optional<std::string> read_silence_id(const rapidjson::Value& answer) {
    return optional_string_field(answer, "silenceID");
}

ListedSilence read_listed_silence(const rapidjson::Value& item) {
    ListedSilence s{.id = string_field(item, "id"),
                    .state = item.IsObject() && item.HasMember("status") ? string_field(item["status"], "state") : "",
                    .matchers = {},
                    .starts_at = string_field(item, "startsAt"),
                    .ends_at = string_field(item, "endsAt"),
                    .created_by = string_field(item, "createdBy"),
                    .comment = string_field(item, "comment")};
    if (item.IsObject() && item.HasMember("matchers") && item["matchers"].IsArray())
        for (const auto& m : item["matchers"].GetArray())
            if (m.IsObject()) s.matchers.push_back(listed_matcher(m));
    return s;
}

std::string status_answer(const DaemonStatus& status) {
    if (status.stopping) return R"({"status":"stopping"})";
    return object_json([&](Writer& w) {
        w.Key("collectors");
        w.StartArray();
        for (const auto& s : status.collectors) {
            w.StartObject();
            member(w, "name", s.name);
            member(w, "kind", s.kind);
            member(w, "up", s.up);
            member(w, "running", s.running);
            member_or_null(w, "last_run_start",
                           s.last_run_start ? std::optional(format_iso8601(*s.last_run_start)) : std::nullopt);
            member(w, "last_duration_seconds", s.last_duration_seconds);
            member_or_null(w, "last_error", s.last_error.empty() ? std::nullopt : std::optional(s.last_error));
            member(w, "next_run", format_iso8601(s.next_run));
            member(w, "series", std::uint64_t{s.series});
            w.EndObject();
        }
        w.EndArray();
        member(w, "version", status.version);
        member(w, "ready", status.ready);
        member(w, "config_file", status.config_file);
        member(w, "config_last_reload_successful", status.config_last_reload_successful);
        member(w, "series", std::uint64_t{status.series});
    });
}

std::string alerts_answer(const std::vector<alerts::Alert>& alerts) {
    return success_answer("alerts", [&](Writer& w) {
        for (const auto& a : alerts)
            if (a.state != alerts::AlertState::inactive) write_alert(w, a);
    });
}

std::string rules_answer(const std::vector<alerts::rules::GroupStatus>& groups) {
    return success_answer("groups", [&](Writer& w) {
        for (const auto& g : groups) {
            w.StartObject();
            member(w, "name", g.name);
            member(w, "file", g.file);
            member(w, "interval", seconds(g.interval));
            member(w, "limit", static_cast<std::uint64_t>(g.limit));
            member(w, "queryOffset", seconds(g.query_offset));
            member(w, "evaluationTime", seconds(g.evaluation_duration));
            member(w, "lastEvaluation", evaluation_time(g.last_evaluation));
            w.Key("rules");
            w.StartArray();
            for (const auto& r : g.rules) {
                w.StartObject();
                if (const auto* alerting = std::get_if<alerts::rules::AlertingRule>(&r.rule)) {
                    member(w, "state", alerts::state_name(r.state));
                    member(w, "name", alerting->name);
                    member(w, "query", alerting->expr_text);
                    member(w, "duration", seconds(alerting->for_duration));
                    member(w, "keepFiringFor", seconds(alerting->keep_firing_for));
                    w.Key("labels");
                    write_templates(w, alerting->labels);
                    w.Key("annotations");
                    write_templates(w, alerting->annotations);
                    w.Key("alerts");
                    w.StartArray();
                    for (const auto& a : r.alerts) write_alert(w, a);
                    w.EndArray();
                } else {
                    const auto& recording = std::get<alerts::rules::RecordingRule>(r.rule);
                    member(w, "name", recording.name);
                    member(w, "query", recording.expr_text);
                    w.Key("labels");
                    w.StartObject();
                    for (const auto& [name, value] : recording.labels) member(w, name.c_str(), value);
                    w.EndObject();
                }
                member(w, "health", !r.last_evaluation ? "unknown" : r.last_error.empty() ? "ok" : "err");
                if (!r.last_error.empty()) member(w, "lastError", r.last_error);
                member(w, "evaluationTime", seconds(r.evaluation_duration));
                member(w, "lastEvaluation", evaluation_time(r.last_evaluation));
                member(w, "type", std::holds_alternative<alerts::rules::AlertingRule>(r.rule) ? "alerting" : "recording");
                w.EndObject();
            }
            w.EndArray();
            w.EndObject();
        }
    });
}

std::string actions_answer(const std::vector<actions::Action>& actions) {
    return success_answer("actions", [&](Writer& w) {
        auto or_null = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional(s); };
        for (const auto& a : actions) {
            w.StartObject();
            member(w, "id", static_cast<std::uint64_t>(a.id));
            member(w, "action", a.action);
            member(w, "rule", a.rule);
            member(w, "mode", a.mode);
            member(w, "state", a.state);
            member(w, "result", a.result);
            member(w, "batchUuid", a.batch_uuid);
            member(w, "workflowUuid", a.workflow_uuid);
            member(w, "workflowName", a.workflow_name);
            member(w, "records", static_cast<std::uint64_t>(a.records));
            member(w, "estimatedCredits", a.estimated_credits);
            member_or_null(w, "createdBatchUuid", or_null(a.created_batch_uuid));
            member_or_null(w, "reason", or_null(a.reason));
            member(w, "decidedAt", format_iso8601(a.decided_at));
            member(w, "updatedAt", format_iso8601(a.updated_at));
            member_or_null(w, "outcome", or_null(a.outcome));
            if (!a.outcome.empty()) {
                member(w, "recoveredRuns", static_cast<std::uint64_t>(a.recovered));
                member(w, "stillFailingRuns", static_cast<std::uint64_t>(a.still_failing));
            }
            w.EndObject();
        }
    });
}

}  // namespace cargomon::web
