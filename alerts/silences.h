#pragma once
// Silences: matchers and a time window during which matching alerts are not notified.
// Persisted in SQLite; an expired silence stays listed (state "expired") until it is
// older than the retention. The HTTP handlers serve /api/v1/silences in Alertmanager's
// v2 JSON shape.
#include <httplib.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "alerts/notify_config.h"
#include "common/clock.h"

namespace cargomon::alerts {

namespace detail {
class Database;
}

struct Silence {
    std::string id;
    std::vector<Matcher> matchers;
    SystemTime starts_at;
    SystemTime ends_at;
    std::string created_by;
    std::string comment;
};

enum class SilenceState { pending, active, expired };

// Matchers as the silence API's JSON array ({name, value, isRegex, isEqual}), for the
// API and its command-line client.
void write_matchers(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::vector<Matcher>& matchers);

struct SilenceRejected {
    std::string reason;
};

class SilenceStore {
public:
    // Throws std::runtime_error when SQLite cannot open `path`.
    SilenceStore(const std::string& path, const Clock& clock, Millis retention = Millis{5LL * 24 * 3600 * 1000});
    ~SilenceStore();

    // Validates and stores; returns the new id.
    std::variant<std::string, SilenceRejected> add(Silence silence);
    // Ends an active or pending silence now; false when there is no such unexpired silence.
    bool expire(const std::string& id);
    std::vector<Silence> list() const;
    SilenceState state(const Silence& silence) const;
    // True when an active silence matches the labels.
    bool silenced(const metrics::Labels& labels) const;
    // Forgets silences expired longer than the retention.
    void gc();

private:
    const Clock& clock_;
    Millis retention_;
    mutable std::mutex mu_;
    std::unique_ptr<detail::Database> db_;
    std::vector<Silence> silences_;  // cache of the table
};

// GET /api/v1/silences, POST /api/v1/silences, DELETE /api/v1/silences/<id> (the id
// is the pattern's first capture: register DELETE as "/api/v1/silences/([^/]+)").
void handle_list_silences(const SilenceStore& store, const httplib::Request& req, httplib::Response& res);
void handle_create_silence(SilenceStore& store, const httplib::Request& req, httplib::Response& res);
void handle_delete_silence(SilenceStore& store, const httplib::Request& req, httplib::Response& res);

}  // namespace cargomon::alerts
