#include "web/api.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "alerts/notify/receivers.h"
#include "alerts/rules/template.h"
#include "common/timefmt.h"

namespace cargomon::web {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// A rule's labels or annotations as written, templates unexpanded.
void write_templates(Writer& w, const std::vector<std::pair<std::string, alerts::Template>>& templates) {
    w.StartObject();
    for (const auto& [k, t] : templates) {
        w.Key(k.c_str());
        w.String(t.text().c_str());
    }
    w.EndObject();
}

void write_alert(Writer& w, const alerts::Alert& a) {
    w.StartObject();
    w.Key("labels");
    alerts::write_labels(w, a.labels);
    w.Key("annotations");
    alerts::write_labels(w, a.annotations);
    w.Key("state");
    w.String(alerts::state_name(a.state));
    w.Key("activeAt");
    w.String(format_iso8601(a.active_at).c_str());
    w.Key("value");
    w.String(alerts::go_float_exponent(a.value).c_str());
    w.EndObject();
}

// Go's zero time when a rule or group has not been evaluated yet, as Prometheus writes it.
std::string evaluation_time(const std::optional<SystemTime>& t) {
    return t ? format_iso8601(*t) : "0001-01-01T00:00:00Z";
}

double seconds(Millis d) { return std::chrono::duration<double>(d).count(); }

template <typename WriteItems>
std::string success_answer(const char* key, WriteItems write_items) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("status");
    w.String("success");
    w.Key("data");
    w.StartObject();
    w.Key(key);
    w.StartArray();
    write_items(w);
    w.EndArray();
    w.EndObject();
    w.EndObject();
    return buffer.GetString();
}

}  // namespace

std::string status_answer(const DaemonStatus& status) {
    if (status.stopping) return R"({"status":"stopping"})";
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("collectors");
    w.StartArray();
    for (const auto& s : status.collectors) {
        w.StartObject();
        w.Key("name");
        w.String(s.name.c_str());
        w.Key("kind");
        w.String(s.kind.c_str());
        w.Key("up");
        w.Bool(s.up);
        w.Key("running");
        w.Bool(s.running);
        w.Key("last_run_start");
        if (s.last_run_start) w.String(format_iso8601(*s.last_run_start).c_str());
        else w.Null();
        w.Key("last_duration_seconds");
        w.Double(s.last_duration_seconds);
        w.Key("last_error");
        if (s.last_error.empty()) w.Null();
        else w.String(s.last_error.c_str());
        w.Key("next_run");
        w.String(format_iso8601(s.next_run).c_str());
        w.Key("series");
        w.Uint64(s.series);
        w.EndObject();
    }
    w.EndArray();
    w.Key("version");
    w.String(status.version.c_str());
    w.Key("ready");
    w.Bool(status.ready);
    w.Key("config_file");
    w.String(status.config_file.c_str());
    w.Key("config_last_reload_successful");
    w.Bool(status.config_last_reload_successful);
    w.Key("series");
    w.Uint64(status.series);
    w.EndObject();
    return buffer.GetString();
}

std::string alerts_answer(const std::vector<alerts::Alert>& alerts) {
    return success_answer("alerts", [&](Writer& w) {
        for (const auto& a : alerts)
            if (a.state != alerts::AlertState::inactive) write_alert(w, a);
    });
}

std::string rules_answer(const std::vector<alerts::GroupStatus>& groups) {
    return success_answer("groups", [&](Writer& w) {
        for (const auto& g : groups) {
            w.StartObject();
            w.Key("name");
            w.String(g.name.c_str());
            w.Key("file");
            w.String(g.file.c_str());
            w.Key("interval");
            w.Double(seconds(g.interval));
            w.Key("evaluationTime");
            w.Double(seconds(g.evaluation_duration));
            w.Key("lastEvaluation");
            w.String(evaluation_time(g.last_evaluation).c_str());
            w.Key("rules");
            w.StartArray();
            for (const auto& r : g.rules) {
                w.StartObject();
                w.Key("state");
                w.String(alerts::state_name(r.state));
                w.Key("name");
                w.String(r.rule.name.c_str());
                w.Key("query");
                w.String(r.rule.expr_text.c_str());
                w.Key("duration");
                w.Double(seconds(r.rule.for_duration));
                w.Key("keepFiringFor");
                w.Double(seconds(r.rule.keep_firing_for));
                w.Key("labels");
                write_templates(w, r.rule.labels);
                w.Key("annotations");
                write_templates(w, r.rule.annotations);
                w.Key("alerts");
                w.StartArray();
                for (const auto& a : r.alerts) write_alert(w, a);
                w.EndArray();
                w.Key("health");
                w.String(!r.last_evaluation ? "unknown" : r.last_error.empty() ? "ok" : "err");
                if (!r.last_error.empty()) {
                    w.Key("lastError");
                    w.String(r.last_error.c_str());
                }
                w.Key("evaluationTime");
                w.Double(seconds(r.evaluation_duration));
                w.Key("lastEvaluation");
                w.String(evaluation_time(r.last_evaluation).c_str());
                w.Key("type");
                w.String("alerting");
                w.EndObject();
            }
            w.EndArray();
            w.EndObject();
        }
    });
}

}  // namespace cargomon::web
