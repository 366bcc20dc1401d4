#pragma once
// Silences: matchers and a time window during which matching alerts are not notified.
// Persisted in SQLite; an expired silence stays listed (state "expired") until it is
// older than the retention and gc() runs (alerts::Engine runs it on start and every minute).
// Anyone who can reach the API can add silences, so the store is bounded: SilenceLimits
// caps how many and how large. The domain only: web/api.h reads and writes the
// silence API's JSON (Alertmanager's v2 shape) and web/routes.cpp serves it.
//
// Thread-safety: every SilenceStore method may be called from any thread. The store's
// lock is held only to copy or swap its list, never while matching labels or touching
// another component, so callers may hold their own locks around silenced().
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "config/alerting.h"
#include "common/clock.h"

namespace cargomon::sqlite {
class Database;
}

namespace cargomon::alerts::notify {

struct Silence {
    std::string id;
    std::vector<metrics::Matcher> matchers;
    SystemTime starts_at;
    SystemTime ends_at;
    std::string created_by;
    std::string comment;
};

enum class SilenceState { pending, active, expired };

struct SilenceRejected {
    std::string reason;
};

// What add() accepts. Expired silences do not count towards max_silences: they go at gc().
struct SilenceLimits {
    std::size_t max_silences = 10'000;  // not yet expired
    std::size_t max_matchers = 64;      // per silence
    std::size_t max_value_length = metrics::kMaxRegexLength;  // bytes, per matcher value
    std::size_t max_comment_length = 4096;
    std::size_t max_created_by_length = 256;
};

class SilenceStore {
public:
    // Throws std::runtime_error when SQLite cannot open `path`.
    SilenceStore(const std::string& path, const Clock& clock, Millis retention = Millis{5LL * 24 * 3600 * 1000},
                 SilenceLimits limits = {});
    ~SilenceStore();

    // Validates (SilenceLimits included) and stores; returns the new id.
    std::variant<std::string, SilenceRejected> add(Silence silence);
    // Ends an active or pending silence now; false when there is no such unexpired silence.
    bool expire(const std::string& id);
    // Every stored silence, expired ones included.
    std::vector<Silence> list() const;
    SilenceState state(const Silence& silence) const;
    // True when an active silence matches the labels.
    bool silenced(const metrics::Labels& labels) const;
    // Forgets silences expired longer than the retention.
    void gc();

private:
    const Clock& clock_;
    Millis retention_;
    SilenceLimits limits_;
    mutable std::mutex mu_;  // guards db_ and the silences_ pointer, not what it points to
    std::unique_ptr<sqlite::Database> db_;
    // The table. Each change installs a new vector, so a reader copies the pointer under
    // mu_ and reads (matches) with no lock held.
    std::shared_ptr<const std::vector<Silence>> silences_;

    std::shared_ptr<const std::vector<Silence>> snapshot() const;
};

}  // namespace cargomon::alerts::notify
