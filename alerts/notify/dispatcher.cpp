#include "alerts/notify/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "metrics/self_metrics.h"

namespace cargomon::alerts::notify {
namespace {

// A group whose flush failed is tried again this soon (or at its group_interval, if sooner):
// often enough that a passing failure (SQLite busy) costs little, seldom enough to keep
// the log readable while a lasting one (disk full) goes on.
constexpr Millis kFlushRetry{10'000};

bool subset(const std::set<std::string>& small, const std::set<std::string>& big) {
    return std::includes(big.begin(), big.end(), small.begin(), small.end());
}

// Alertmanager's DedupStage.needsUpdate, plus re-sending at every flush for peers that
// forget alerts not re-sent. `repeat_due` says whether repeat_interval has passed.
bool needs_update(const std::optional<NotifyLogEntry>& last, const std::set<std::string>& firing,
                  const std::set<std::string>& resolved, const Integration& integration, bool repeat_due) {
    if (!last) return !firing.empty();
    if (!subset(firing, last->firing)) return true;
    // Everything resolved: log it whether or not resolved notifications are sent, so the
    // next firing counts as new; nothing to say if the receiver never heard of them.
    if (firing.empty()) return !last->firing.empty();
    if (integration.send_resolved() && !subset(resolved, last->resolved)) return true;
    if (integration.resend_while_firing()) return true;
    return repeat_due;
}

}  // namespace

Dispatcher::Dispatcher(const config::AlertingConfig& config, const Receivers& receivers, Outbox& outbox,
                       const SilenceStore* silences, const Clock& clock, prometheus::Registry& registry)
    : config_(config),
      receivers_(receivers),
      outbox_(outbox),
      silences_(silences),
      clock_(clock),
      router_(config.route),
      failures_(metrics::counter_family(registry, "cargomon_notification_group_failures_total",
                                        "Flushes of a notification group that failed, by receiver (logged; the group "
                                        "is retried, the others go on)")) {}

void Dispatcher::put(const std::vector<Alert>& alerts) {
    const SystemTime now = clock_.now();
    const SteadyTime mono = clock_.monotonic();
    std::lock_guard lock(mu_);
    for (const Alert& alert : alerts) put_locked(alert, now, mono);
}

std::vector<Dispatcher::Held> Dispatcher::held() const {
    std::lock_guard lock(mu_);
    std::map<std::string, Held> out;  // by fingerprint: an alert routed to several groups is one alert
    for (const auto& [key, group] : groups_)
        for (const auto& [fp, entry] : group.alerts) {
            const Held h{entry.alert, entry.updated, entry.updated_mono};
            auto [it, created] = out.try_emplace(fp, h);
            if (!created && entry.updated_mono > it->second.updated_mono) it->second = h;
        }
    std::vector<Held> list;
    for (auto& [fp, held] : out) list.push_back(std::move(held));
    return list;
}

void Dispatcher::adopt(const std::vector<Held>& alerts) {
    std::lock_guard lock(mu_);
    for (const Held& h : alerts) put_locked(h.alert, h.updated, h.updated_mono);
}

void Dispatcher::put_locked(const Alert& alert, SystemTime updated, SteadyTime updated_mono) {
    const SystemTime now = clock_.now();
    const SteadyTime mono = clock_.monotonic();
    if (alert.state == AlertState::pending && !alert.ends_at) return;
    if (alert.state == AlertState::inactive && !alert.ends_at) return;
    for (const config::Route* route : router_.match(alert.labels)) {
        metrics::Labels labels = group_labels(*route, alert.labels);
        std::string key = group_key(*route, labels);
        auto [it, created] = groups_.try_emplace(key);
        Group& group = it->second;
        if (created) {
            group.route = route;
            group.labels = std::move(labels);
            group.next_flush = mono + route->group_wait;
        }
        // An alert that has been firing longer than group_wait need not wait again
        // (after a restart, say): Alertmanager flushes such a group at once. starts_at
        // may come from before a restart, so this one comparison is on the wall clock;
        // a step of it can only make this first flush earlier or leave it as it was.
        if (!group.flushed && alert.starts_at + route->group_wait < now) group.next_flush = mono;
        group.alerts[alert.fingerprint] = Group::Entry{alert, updated, updated_mono};
    }
}

std::size_t Dispatcher::tick() {
    const SteadyTime mono = clock_.monotonic();
    // Silences come from the API, as many and as written as anyone likes: they are
    // matched against copies of the due alerts' labels with mu_ released, so put(),
    // group_count() and whoever holds a lock around them never wait on that.
    std::map<std::string, metrics::Labels> due;  // by fingerprint
    {
        std::lock_guard lock(mu_);
        for (const auto& [key, group] : groups_)
            if (group.next_flush <= mono)
                for (const auto& [fp, entry] : group.alerts) due.try_emplace(fp, entry.alert.labels);
    }
    Silenced silenced;
    for (const auto& [fp, labels] : due) silenced.emplace(fp, silences_ && silences_->silenced(labels));

    std::size_t queued = 0;
    std::lock_guard lock(mu_);
    for (auto it = groups_.begin(); it != groups_.end();) {
        Group& group = it->second;
        if (group.next_flush <= mono) {
            try {
                queued += flush(it->first, group, silenced);
                group.flushed = true;
                group.next_flush = mono + group.route->group_interval;
            } catch (const std::exception& e) {
                // What this flush did queue is in the notification log, so the retry
                // sends only the rest.
                const Millis retry = std::min(kFlushRetry, group.route->group_interval);
                failures_.Add({{"receiver", group.route->receiver}}).Increment();
                spdlog::error("notification group {} for receiver {} failed, retried in {} ms: {}", it->first,
                              group.route->receiver, retry.count(), e.what());
                group.next_flush = mono + retry;
            }
        }
        it = group.alerts.empty() ? groups_.erase(it) : std::next(it);
    }
    return queued;
}

std::size_t Dispatcher::group_count() const {
    std::lock_guard lock(mu_);
    return groups_.size();
}

std::size_t Dispatcher::flush(const std::string& key, Group& group, const Silenced& silenced) {
    const SystemTime now = clock_.now();
    const SteadyTime mono = clock_.monotonic();
    std::size_t queued = 0;
    Notification all{.receiver = group.route->receiver,
                     .group_key = key,
                     .group_labels = group.labels,
                     .external_url = config_.external_url,
                     .group_interval = group.route->group_interval};
    std::set<std::string> firing, resolved, unchecked;
    for (auto& [fp, entry] : group.alerts) {
        Alert& alert = entry.alert;
        if (!is_resolved(alert) && entry.updated_mono + config_.resolve_timeout <= mono) {
            alert.state = AlertState::inactive;
            alert.ends_at = entry.updated + config_.resolve_timeout;
        }
        // Put between tick()'s silence check and now: it waits for the next flush.
        auto checked = silenced.find(fp);
        if (checked == silenced.end()) {
            unchecked.insert(fp);
            continue;
        }
        if (checked->second) continue;
        (is_resolved(alert) ? resolved : firing).insert(fp);
        all.alerts.push_back(alert);
    }
    const auto& integrations = receivers_.integrations(all.receiver);
    for (std::size_t i = 0; i < integrations.size(); ++i) {
        const Integration& integration = *integrations[i];
        std::optional<NotifyLogEntry> last = outbox_.last_notified(all.receiver, i, key);
        const Millis repeat = group.route->repeat_interval;
        auto sent_here = group.last_sent.find(i);
        const bool repeat_due = sent_here != group.last_sent.end() ? sent_here->second + repeat <= mono
                                                                    : last && last->sent_at <= now - repeat;
        if (!needs_update(last, firing, resolved, integration, repeat_due)) continue;
        Notification sent = all;
        if (!integration.send_resolved()) std::erase_if(sent.alerts, [](const Alert& a) { return is_resolved(a); });
        NotifyLogEntry entry{.receiver = all.receiver,
                             .integration = i,
                             .group_key = key,
                             .firing = firing,
                             .resolved = resolved,
                             .sent_at = now};
        for (const Alert& a : sent.alerts)
            entry.started.emplace(a.fingerprint, is_resolved(a) ? *a.ends_at : a.starts_at);
        if (sent.alerts.empty()) {
            outbox_.enqueue(std::move(entry), nullptr);
        } else {
            const std::string body = integration.render(sent, now);
            outbox_.enqueue(std::move(entry), &body);
            ++queued;
        }
        group.last_sent[i] = mono;
    }
    // Resolved alerts have been told (or deliberately not); they leave the group.
    std::erase_if(group.alerts,
                  [&](const auto& kv) { return is_resolved(kv.second.alert) && !unchecked.contains(kv.first); });
    return queued;
}

}  // namespace cargomon::alerts::notify
