#pragma once
// The durable notification outbox and notification log, in one SQLite file (WAL).
// A notification is written here, in the same transaction as the log entry that says
// it was decided, before anything is sent; it then stays pending until delivered,
// failed (a 4xx other than 429) or dropped (older than the maximum age). After a
// restart, pending ones resume and delivered ones are never sent again.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alerts/notify/notify_config.h"
#include "common/clock.h"

namespace cargomon::sqlite {
class Database;
}

namespace cargomon::alerts {



// What was last notified for one group to one integration of a receiver (Alertmanager's nflog).
struct NotifyLogEntry {
    std::string receiver;
    std::size_t integration = 0;
    std::string group_key;
    std::set<std::string> firing;    // fingerprints
    std::set<std::string> resolved;  // fingerprints
    SystemTime sent_at;
    std::int64_t sequence = 0;  // notifications so far for this group and integration
};

struct OutboxItem {
    std::int64_t id = 0;
    std::string receiver;
    std::size_t integration = 0;
    std::string idempotency_key;
    std::string body;
    SystemTime created_at;
    int attempts = 0;
};

enum class OutboxState { pending, delivered, failed, dropped };

// Thread-safe: the dispatcher's thread enqueues, the delivery thread reads and marks, API
// handlers read, all at once; mu_ guards db_ (one statement or transaction at a time).
class Outbox {
public:
    // `path` is created if missing; throws std::runtime_error when SQLite cannot open it.
    Outbox(const std::string& path, const Clock& clock, DeliveryOptions options);
    ~Outbox();
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

    std::optional<NotifyLogEntry> last_notified(const std::string& receiver, std::size_t integration,
                                                const std::string& group_key) const;
    // Records `entry` (its sequence becomes the previous one + 1) and, when there is a
    // body, queues it; returns the idempotency key (empty without a body).
    std::string enqueue(NotifyLogEntry entry, const std::string* body);

    // Pending items whose next attempt is due, oldest first.
    std::vector<OutboxItem> due(std::size_t limit) const;
    // Pending items older than the maximum age.
    std::vector<OutboxItem> expired() const;
    void mark(std::int64_t id, OutboxState state, const std::string& error = {});
    // Counts the attempt and schedules the next one with exponential backoff and jitter.
    void retry_later(const OutboxItem& item, const std::string& error);

    OutboxState state(const std::string& idempotency_key) const;  // throws when unknown
    std::size_t pending_count() const;
    std::optional<SystemTime> oldest_pending() const;
    std::optional<SystemTime> next_attempt() const;  // of any pending item
    // Forgets finished items, and log entries of groups that ended, older than the maximum age.
    void prune();

    // hash(receiver, integration, group key, fingerprints with states, sequence), hex.
    static std::string idempotency_key(const NotifyLogEntry& entry);

private:
    const Clock& clock_;
    DeliveryOptions options_;
    mutable std::mutex mu_;
    std::unique_ptr<sqlite::Database> db_;
};

}  // namespace cargomon::alerts
