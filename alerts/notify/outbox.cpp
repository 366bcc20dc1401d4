#include "alerts/notify/outbox.h"

#include <openssl/sha.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "common/sqlite.h"

namespace cargomon::alerts::notify {
namespace {

using sqlite::Statement;

using sqlite::to_millis;
using sqlite::from_millis;

std::string join(const std::set<std::string>& items) {
    std::string out;
    for (const std::string& s : items) out += s + "\n";
    return out;
}

std::set<std::string> split(const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) out.insert(line);
    }
    return out;
}

constexpr std::string_view state_names[] = {"pending", "delivered", "failed", "dropped"};

OutboxItem read_item(const Statement& s) {
    return OutboxItem{.id = s.int64(0),
                      .receiver = s.text(1),
                      .integration = static_cast<std::size_t>(s.int64(2)),
                      .idempotency_key = s.text(3),
                      .body = s.text(4),
                      .created_at = from_millis(s.int64(5)),
                      .attempts = static_cast<int>(s.int64(6)),
                      .enqueued = {}};
}

constexpr std::string_view kItemColumns = "id, receiver, integration, idempotency_key, body, created_at, attempts";

template <class D>
D clamp_positive(D d, D max) { return std::clamp(d, D::zero(), max); }

std::string hex16(const std::string& text) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xF];
    }
    return out;
}

}  // namespace

Outbox::Outbox(const std::string& path, const Clock& clock, config::DeliveryOptions options)
    : clock_(clock), options_(options), db_(std::make_unique<sqlite::Database>(path)) {
    db_->exec(R"(
        CREATE TABLE IF NOT EXISTS notify_log (
            receiver TEXT NOT NULL, integration INTEGER NOT NULL, group_key TEXT NOT NULL,
            firing TEXT NOT NULL, resolved TEXT NOT NULL, sent_at INTEGER NOT NULL, sequence INTEGER NOT NULL,
            PRIMARY KEY (receiver, integration, group_key));
        CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            receiver TEXT NOT NULL, integration INTEGER NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE, body TEXT NOT NULL,
            state TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL, finished_at INTEGER, last_error TEXT);
        CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
        CREATE TABLE IF NOT EXISTS notify_serial (only INTEGER PRIMARY KEY CHECK (only = 0), last INTEGER NOT NULL);
    )");
    // Files from before these columns: `sending` is 1 from just before a send until its
    // outcome is written, so a 1 found by the next send means a process died in between;
    // `redeliveries` counts those sends (see begin_send).
    db_->add_column_if_missing("outbox", "sending", "INTEGER NOT NULL DEFAULT 0");
    db_->add_column_if_missing("outbox", "redeliveries", "INTEGER NOT NULL DEFAULT 0");
    // Files from before notify_serial numbered each group from 1: start past all of those.
    db_->exec("INSERT OR IGNORE INTO notify_serial SELECT 0, COALESCE(MAX(sequence), 0) FROM notify_log");

    // The pending items' schedule on this process' monotonic clock, from the wall-clock
    // times saved; clamped, so a clock that moved while the daemon was down can neither
    // postpone an attempt past max_backoff nor age an item past max_age.
    const SystemTime wall = clock_.now();
    const SteadyTime mono = clock_.monotonic();
    Statement s(*db_, "SELECT id, receiver, integration, created_at, next_attempt_at FROM outbox WHERE state = 'pending'");
    while (s.step()) {
        const Millis age = clamp_positive(std::chrono::duration_cast<Millis>(wall - from_millis(s.int64(3))), options_.max_age);
        const Millis wait =
            clamp_positive(std::chrono::duration_cast<Millis>(from_millis(s.int64(4)) - wall), options_.max_backoff);
        pending_.emplace(s.int64(0), Scheduled{.target = {s.text(1), static_cast<std::size_t>(s.int64(2))},
                                               .next_attempt = mono + wait,
                                               .enqueued = mono - age});
    }
}

Outbox::~Outbox() = default;

std::string Outbox::idempotency_key(const NotifyLogEntry& e) {
    std::string text = e.receiver + '\0' + std::to_string(e.integration) + '\0' + e.group_key + '\0';
    for (const std::string& fp : e.firing) text += "firing:" + fp + '\0';
    for (const std::string& fp : e.resolved) text += "resolved:" + fp + '\0';
    for (const auto& [fp, at] : e.started) text += "at:" + fp + '@' + std::to_string(to_millis(at)) + '\0';
    text += std::to_string(e.sequence);
    return hex16(text);
}

std::optional<NotifyLogEntry> Outbox::last_notified(const std::string& receiver, std::size_t integration,
                                                    const std::string& group_key) const {
    std::lock_guard lock(mu_);
    Statement s(*db_,
                "SELECT firing, resolved, sent_at, sequence FROM notify_log "
                "WHERE receiver = ? AND integration = ? AND group_key = ?");
    s.bind(1, receiver).bind(2, static_cast<std::int64_t>(integration)).bind(3, group_key);
    if (!s.step()) return std::nullopt;
    NotifyLogEntry e{.receiver = receiver,
                     .integration = integration,
                     .group_key = group_key,
                     .firing = split(s.text(0)),
                     .resolved = split(s.text(1)),
                     .sent_at = from_millis(s.int64(2)),
                     .sequence = s.int64(3)};
    s.reset();
    return e;
}

std::string Outbox::enqueue(NotifyLogEntry entry, const std::string* body) {
    std::lock_guard lock(mu_);
    sqlite::Transaction tx(*db_);
    {
        // Not per group: a group's log row is pruned on its own clock, and a count that
        // restarted would give a recurring alert a key its old outbox row still holds.
        db_->exec("UPDATE notify_serial SET last = last + 1");
        Statement seq(*db_, "SELECT last FROM notify_serial");
        seq.step();
        entry.sequence = seq.int64(0);
        seq.reset();
    }
    Statement log(*db_,
                  "INSERT OR REPLACE INTO notify_log (receiver, integration, group_key, firing, resolved, sent_at, "
                  "sequence) VALUES (?, ?, ?, ?, ?, ?, ?)");
    log.bind(1, entry.receiver)
        .bind(2, static_cast<std::int64_t>(entry.integration))
        .bind(3, entry.group_key)
        .bind(4, join(entry.firing))
        .bind(5, join(entry.resolved))
        .bind(6, to_millis(entry.sent_at))
        .bind(7, entry.sequence);
    log.run();
    std::string key;
    if (body) {
        key = idempotency_key(entry);
        const std::int64_t now = to_millis(clock_.now());
        Statement add(*db_,
                      "INSERT INTO outbox (receiver, integration, idempotency_key, body, state, created_at, "
                      "next_attempt_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)");
        add.bind(1, entry.receiver)
            .bind(2, static_cast<std::int64_t>(entry.integration))
            .bind(3, key)
            .bind(4, *body)
            .bind(5, now)
            .bind(6, now);
        add.run();
        Statement rowid(*db_, "SELECT last_insert_rowid()");
        rowid.step();
        const std::int64_t id = rowid.int64(0);
        rowid.reset();
        tx.commit();
        const SteadyTime mono = clock_.monotonic();
        pending_.emplace(id, Scheduled{.target = {entry.receiver, entry.integration}, .next_attempt = mono, .enqueued = mono});
        return key;
    }
    tx.commit();
    return key;
}

std::vector<OutboxItem> Outbox::read_items(const std::vector<std::int64_t>& ids) const {
    std::vector<OutboxItem> items;
    Statement s(*db_, "SELECT " + std::string(kItemColumns) + " FROM outbox WHERE id = ?");
    for (std::int64_t id : ids) {
        s.bind(1, id);
        if (s.step()) {
            items.push_back(read_item(s));
            items.back().enqueued = pending_.at(id).enqueued;
            s.reset();
        }
    }
    return items;
}

std::vector<OutboxItem> Outbox::due(std::size_t limit, const OutboxTarget* only) const {
    const SteadyTime mono = clock_.monotonic();
    std::lock_guard lock(mu_);
    std::vector<std::int64_t> ids;
    // An integration's items leave in the order they were decided: behind one waiting for
    // its retry, later ones wait too. Each has its own backoff, so after an outage a
    // group's resolved notification could otherwise reach the receiver before its firing one.
    std::set<OutboxTarget> waiting;
    for (const auto& [id, item] : pending_) {  // by id: oldest first
        if (ids.size() >= limit) break;
        if (only && item.target != *only) continue;
        if (item.next_attempt > mono) waiting.insert(item.target);
        else if (!waiting.count(item.target)) ids.push_back(id);
    }
    return read_items(ids);
}

bool Outbox::begin_send(std::int64_t id) {
    std::lock_guard lock(mu_);
    sqlite::Transaction tx(*db_);
    Statement read(*db_, "SELECT sending FROM outbox WHERE id = ?");
    read.bind(1, id);
    const bool again = read.step() && read.int64(0) != 0;
    read.reset();
    Statement s(*db_, "UPDATE outbox SET redeliveries = redeliveries + sending, sending = 1 WHERE id = ?");
    s.bind(1, id);
    s.run();
    tx.commit();
    return again;
}

std::vector<OutboxItem> Outbox::expired() const {
    const SteadyTime mono = clock_.monotonic();
    std::lock_guard lock(mu_);
    std::vector<std::int64_t> ids;
    for (const auto& [id, item] : pending_)
        if (item.enqueued + options_.max_age <= mono) ids.push_back(id);
    return read_items(ids);
}

std::set<OutboxTarget> Outbox::pending_targets() const {
    std::lock_guard lock(mu_);
    std::set<OutboxTarget> out;
    for (const auto& [id, item] : pending_) out.insert(item.target);
    return out;
}

void Outbox::mark(std::int64_t id, OutboxState state, const std::string& error) {
    std::lock_guard lock(mu_);
    if (state != OutboxState::pending) pending_.erase(id);
    Statement s(*db_,
                "UPDATE outbox SET state = ?, finished_at = ?, attempts = attempts + ?, last_error = ?, sending = 0 "
                "WHERE id = ?");
    s.bind(1, state_names[static_cast<int>(state)])
        .bind(2, to_millis(clock_.now()))
        .bind(3, std::int64_t{state == OutboxState::dropped ? 0 : 1})
        .bind(4, error)
        .bind(5, id);
    s.run();
}

void Outbox::retry_later(const OutboxItem& item, const std::string& error) {
    // Exponential backoff with "equal jitter": somewhere in the upper half of the step,
    // so receivers coming back are not hit by every sender at once.
    thread_local std::mt19937 rng{std::random_device{}()};
    const int exponent = std::min(item.attempts, 30);
    double step = static_cast<double>(options_.min_backoff.count()) * static_cast<double>(1LL << exponent);
    step = std::min(step, static_cast<double>(options_.max_backoff.count()));
    const auto delay = std::chrono::milliseconds{
        static_cast<std::int64_t>(std::uniform_real_distribution<double>(step / 2, step)(rng))};

    std::lock_guard lock(mu_);
    Statement s(*db_,
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, sending = 0 WHERE id = ?");
    s.bind(1, to_millis(clock_.now() + delay)).bind(2, error).bind(3, item.id);
    s.run();
    if (auto it = pending_.find(item.id); it != pending_.end()) it->second.next_attempt = clock_.monotonic() + delay;
}

OutboxState Outbox::state(const std::string& idempotency_key) const {
    std::lock_guard lock(mu_);
    Statement s(*db_, "SELECT state FROM outbox WHERE idempotency_key = ?");
    s.bind(1, idempotency_key);
    if (!s.step()) throw std::runtime_error("no outbox item with that idempotency key");
    const std::string name = s.text(0);
    s.reset();
    auto it = std::find(std::begin(state_names), std::end(state_names), name);
    return static_cast<OutboxState>(it - std::begin(state_names));
}

std::size_t Outbox::pending_count() const {
    std::lock_guard lock(mu_);
    return pending_.size();
}

std::optional<Millis> Outbox::oldest_pending_age() const {
    const SteadyTime mono = clock_.monotonic();
    std::lock_guard lock(mu_);
    std::optional<SteadyTime> oldest;
    for (const auto& [id, item] : pending_) oldest = std::min(oldest.value_or(item.enqueued), item.enqueued);
    if (!oldest) return std::nullopt;
    return std::chrono::duration_cast<Millis>(mono - *oldest);
}

std::optional<SteadyTime> Outbox::next_attempt() const {
    std::lock_guard lock(mu_);
    std::optional<SteadyTime> next;
    for (const auto& [id, item] : pending_) next = std::min(next.value_or(item.next_attempt), item.next_attempt);
    return next;
}

void Outbox::prune() {
    const std::int64_t cutoff = to_millis(clock_.now() - options_.max_age);
    std::lock_guard lock(mu_);
    Statement items(*db_, "DELETE FROM outbox WHERE state != 'pending' AND finished_at <= ?");
    items.bind(1, cutoff);
    items.run();
    // A group whose alerts all resolved long ago starts afresh when it fires again anyway.
    Statement log(*db_, "DELETE FROM notify_log WHERE firing = '' AND sent_at <= ?");
    log.bind(1, cutoff);
    log.run();
}

}  // namespace cargomon::alerts::notify
