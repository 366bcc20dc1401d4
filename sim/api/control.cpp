#include "sim/api/control.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/timefmt.h"
#include "sim/faults/scenario.h"

namespace cargomon::sim {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void send_json(httplib::Response& res, int status, const rapidjson::StringBuffer& buffer) {
    res.status = status;
    res.set_content(buffer.GetString(), buffer.GetSize(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message, const char* reason) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("errorMessage");
    w.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
    w.Key("reason");
    w.String(reason);
    w.EndObject();
    send_json(res, status, buffer);
}

void send_ok(httplib::Response& res) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("ok");
    w.Bool(true);
    w.EndObject();
    send_json(res, 200, buffer);
}

void write_string(Writer& w, const char* key, const std::string& value) {
    w.Key(key);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

void write_until(Writer& w, const std::optional<SystemTime>& until) {
    w.Key("until");
    if (until) {
        w.String(format_iso8601(*until).c_str());
    } else {
        w.Null();
    }
}

// The same field names the --fault flag and the scenario file use.
void write_fault(Writer& w, const std::string& endpoint, const FaultInjector::Entry& entry) {
    const FaultSpec& s = entry.spec;
    w.StartObject();
    write_string(w, "endpoint", endpoint);
    write_string(w, "latency", format_duration(s.latency));
    write_string(w, "jitter", format_duration(s.jitter));
    w.Key("error_ratio");
    w.Double(s.error_ratio);
    w.Key("statuses");
    w.StartArray();
    for (int status : s.statuses) w.Int(status);
    w.EndArray();
    w.Key("throttle_ratio");
    w.Double(s.throttle_ratio);
    write_string(w, "retry_after", format_duration(s.retry_after));
    w.Key("truncate_ratio");
    w.Double(s.truncate_ratio);
    w.Key("malformed_ratio");
    w.Double(s.malformed_ratio);
    w.Key("reset_ratio");
    w.Double(s.reset_ratio);
    w.Key("slow_ratio");
    w.Double(s.slow_ratio);
    w.Key("slow_chunk");
    w.Int(s.slow_chunk_bytes);
    write_string(w, "slow_interval", format_duration(s.slow_interval));
    write_until(w, entry.until);
    w.EndObject();
}

// Tokens are compared without stopping at the first difference, so answer times do
// not reveal how much of a guess was right.
bool same_secret(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace

Control::Control(FaultInjector& faults, RequestStats& stats, Conditions& conditions,
                 const std::vector<Workspace>& workspaces, const Clock& clock, std::string token)
    : faults_(faults),
      stats_(stats),
      conditions_(conditions),
      workspaces_(workspaces),
      clock_(clock),
      token_(std::move(token)) {}

void Control::register_routes(httplib::Server& server) {
    // Every route checks the token first; `guarded` keeps that in one place.
    auto guarded = [this](auto handler) {
        return [this, handler](const httplib::Request& req, httplib::Response& res) {
            if (authorized(req, res)) handler(req, res);
        };
    };
    server.Get("/_sim/faults", guarded([this](const httplib::Request&, httplib::Response& res) {
                   get_faults(res);
               }));
    server.Put("/_sim/faults", guarded([this](const httplib::Request& req, httplib::Response& res) {
                   put_fault(req, res);
               }));
    server.Delete("/_sim/faults", guarded([this](const httplib::Request& req, httplib::Response& res) {
                      delete_faults(req, res);
                  }));
    server.Post("/_sim/events", guarded([this](const httplib::Request& req, httplib::Response& res) {
                    post_event(req, res);
                }));
    server.Delete("/_sim/events", guarded([this](const httplib::Request&, httplib::Response& res) {
                      conditions_.clear();
                      send_ok(res);
                  }));
    server.Get("/_sim/stats", guarded([this](const httplib::Request&, httplib::Response& res) {
                   get_stats(res);
               }));
    server.Post("/_sim/stats/reset", guarded([this](const httplib::Request&, httplib::Response& res) {
                    stats_.reset();
                    send_ok(res);
                }));
}

bool Control::authorized(const httplib::Request& req, httplib::Response& res) const {
    const std::string prefix = "Bearer ";
    std::string header = req.get_header_value("Authorization");
    if (header.starts_with(prefix) && same_secret(header.substr(prefix.size()), token_)) return true;
    send_error(res, 401, "Missing or wrong bearer token", "unauthorized");
    return false;
}

void Control::get_faults(httplib::Response& res) const {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("faults");
    w.StartArray();
    for (const auto& [endpoint, entry] : faults_.snapshot()) write_fault(w, endpoint, entry);
    w.EndArray();
    w.EndObject();
    send_json(res, 200, buffer);
}

void Control::put_fault(const httplib::Request& req, httplib::Response& res) {
    ScenarioEvent event;
    try {
        event = parse_event(req.body, "request body", workspaces_, to_string(EventKind::api_fault));
    } catch (const ScenarioError& e) {
        send_error(res, 400, e.what(), "invalidRequest");
        return;
    }
    if (event.kind != EventKind::api_fault) {
        send_error(res, 400, "kind must be api_fault here (POST /_sim/events takes the others)",
                   "invalidRequest");
        return;
    }
    apply_event(event, clock_.now(), conditions_, faults_);
    get_faults(res);
}

void Control::delete_faults(const httplib::Request& req, httplib::Response& res) {
    if (req.has_param("endpoint")) {
        faults_.clear(req.get_param_value("endpoint"));
    } else {
        faults_.clear_all();
    }
    get_faults(res);
}

void Control::post_event(const httplib::Request& req, httplib::Response& res) {
    ScenarioEvent event;
    try {
        event = parse_event(req.body, "request body", workspaces_);
    } catch (const ScenarioError& e) {
        send_error(res, 400, e.what(), "invalidRequest");
        return;
    }
    SystemTime now = clock_.now();
    apply_event(event, now, conditions_, faults_);

    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    write_string(w, "applied", to_string(event.kind));
    if (event.kind == EventKind::api_fault) {
        write_string(w, "endpoint", event.endpoint);
    } else {
        write_string(w, "workflow", event.workflow);
    }
    std::optional<SystemTime> until;
    if (event.duration) until = now + *event.duration;
    write_until(w, until);
    w.EndObject();
    send_json(res, 200, buffer);
}

void Control::get_stats(httplib::Response& res) const {
    RequestStats::Snapshot s = stats_.snapshot();
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("total");
    w.Uint64(s.total);
    w.Key("endpoints");
    w.StartObject();
    for (const auto& [endpoint, counts] : s.endpoints) {
        w.Key(endpoint.c_str(), static_cast<rapidjson::SizeType>(endpoint.size()));
        w.StartObject();
        w.Key("total");
        w.Uint64(counts.total);
        w.Key("statuses");
        w.StartObject();
        for (const auto& [status, n] : counts.by_status) {
            w.Key(status.c_str(), static_cast<rapidjson::SizeType>(status.size()));
            w.Uint64(n);
        }
        w.EndObject();
        w.EndObject();
    }
    w.EndObject();
    w.EndObject();
    send_json(res, 200, buffer);
}

}  // namespace cargomon::sim
