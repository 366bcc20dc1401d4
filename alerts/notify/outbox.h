#pragma once
// The durable notification outbox and notification log, in one SQLite file (WAL).
// A notification is written here, in the same transaction as the log entry that says
// it was decided, before anything is sent; it then stays pending until delivered,
// failed (a 4xx other than 429) or dropped (older than the maximum age). After a
// restart, pending ones resume and delivered ones are never sent again.
//
// Times on disk are wall-clock (Unix ms) for people and for the next start; the waits
// (next attempt, maximum age) run on monotonic time from a schedule kept in memory,
// re-based at open from the wall-clock times saved: a clock stepped back neither stalls
// a retry nor a step forward drops a notification.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "config/alerting.h"
#include "common/clock.h"

namespace cargomon::sqlite {
class Database;
}

namespace cargomon::alerts::notify {

// What was last notified for one group to one integration of a receiver (Alertmanager's nflog).
struct NotifyLogEntry {
    std::string receiver;
    std::size_t integration = 0;
    std::string group_key;
    std::set<std::string> firing;    // fingerprints
    std::set<std::string> resolved;  // fingerprints
    SystemTime sent_at;
    // The outbox's serial of this decision, set by enqueue(): increasing across every group
    // and never handed out twice, pruning and restarts included.
    std::int64_t sequence = 0;
    // By fingerprint: when each alert in the body started (resolved ones: ended). Part of
    // the idempotency key, not stored.
    std::map<std::string, SystemTime> started;
};

struct OutboxItem {
    std::int64_t id = 0;
    std::string receiver;
    std::size_t integration = 0;
    std::string idempotency_key;
    std::string body;
    SystemTime created_at;
    int attempts = 0;
    SteadyTime enqueued;  // created_at on the monotonic clock (re-based after a restart)
};

// One integration of one receiver: what a delivery worker sends for.
using OutboxTarget = std::pair<std::string, std::size_t>;  // receiver, integration index

enum class OutboxState { pending, delivered, failed, dropped };

// Thread-safe: the dispatcher's thread enqueues, delivery workers (one per integration)
// read and mark, API handlers read, all at once; mu_ guards db_ (one statement or
// transaction at a time) and pending_.
class Outbox {
public:
    // `path` is created if missing; throws std::runtime_error when SQLite cannot open it.
    Outbox(const std::string& path, const Clock& clock, config::DeliveryOptions options);
    ~Outbox();
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

    std::optional<NotifyLogEntry> last_notified(const std::string& receiver, std::size_t integration,
                                                const std::string& group_key) const;
    // Records `entry` (its sequence becomes the next serial) and, when there is a body,
    // queues it; returns the idempotency key (empty without a body).
    std::string enqueue(NotifyLogEntry entry, const std::string* body);

    // Pending items whose next attempt is due, oldest first; only `only`'s when given. An
    // integration's items come in order: none behind an item of its that is not yet due.
    std::vector<OutboxItem> due(std::size_t limit, const OutboxTarget* only = nullptr) const;
    // Written before each send, cleared by mark() and retry_later(). Returns true when the
    // item's last send was begun and its outcome never written: the process died between
    // sending and acknowledging, so this send may repeat one the receiver accepted (a
    // redelivery, counted in the item's row as well).
    bool begin_send(std::int64_t id);
    // Pending items older than the maximum age.
    std::vector<OutboxItem> expired() const;
    // The integrations pending items are for.
    std::set<OutboxTarget> pending_targets() const;
    void mark(std::int64_t id, OutboxState state, const std::string& error = {});
    // Counts the attempt and schedules the next one with exponential backoff and jitter.
    void retry_later(const OutboxItem& item, const std::string& error);

    OutboxState state(const std::string& idempotency_key) const;  // throws when unknown
    std::size_t pending_count() const;
    std::optional<Millis> oldest_pending_age() const;
    std::optional<SteadyTime> next_attempt() const;  // of any pending item
    // Forgets finished items, and log entries of groups that ended, older than the maximum age.
    void prune();

    // hash(receiver, integration, group key, fingerprints with states and start times,
    // sequence), hex: unique because the sequence is.
    static std::string idempotency_key(const NotifyLogEntry& entry);

private:
    struct Scheduled {
        OutboxTarget target;
        SteadyTime next_attempt;
        SteadyTime enqueued;
    };
    std::vector<OutboxItem> read_items(const std::vector<std::int64_t>& ids) const;  // caller holds mu_

    const Clock& clock_;
    config::DeliveryOptions options_;
    mutable std::mutex mu_;
    std::unique_ptr<sqlite::Database> db_;
    std::map<std::int64_t, Scheduled> pending_;  // by id: every pending item
};

}  // namespace cargomon::alerts::notify
