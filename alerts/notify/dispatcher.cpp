#include "alerts/notify/dispatcher.h"

#include <algorithm>

namespace cargomon::alerts {
namespace {

metrics::Labels group_labels(const Route& route, const metrics::Labels& labels) {
    if (route.group_by_all) return labels;
    metrics::Labels out;
    for (const auto& kv : labels) {
        if (std::binary_search(route.group_by.begin(), route.group_by.end(), kv.first)) out.push_back(kv);
    }
    return out;
}

std::string group_key(const Route& route, const metrics::Labels& labels) {
    std::string key = route.key + ":{";
    for (std::size_t i = 0; i < labels.size(); ++i) {
        key += (i ? "," : "") + labels[i].first + "=\"" + labels[i].second + "\"";
    }
    return key + "}";
}

bool subset(const std::set<std::string>& small, const std::set<std::string>& big) {
    return std::includes(big.begin(), big.end(), small.begin(), small.end());
}

// Alertmanager's DedupStage.needsUpdate, plus re-sending at every flush for peers that
// forget alerts not re-sent.
bool needs_update(const std::optional<NotifyLogEntry>& last, const std::set<std::string>& firing,
                  const std::set<std::string>& resolved, const Integration& integration, Millis repeat,
                  SystemTime now) {
    if (!last) return !firing.empty();
    if (!subset(firing, last->firing)) return true;
    // Everything resolved: log it whether or not resolved notifications are sent, so the
    // next firing counts as new; nothing to say if the receiver never heard of them.
    if (firing.empty()) return !last->firing.empty();
    if (integration.send_resolved() && !subset(resolved, last->resolved)) return true;
    if (integration.resend_while_firing()) return true;
    return last->sent_at <= now - repeat;
}

}  // namespace

Dispatcher::Dispatcher(const AlertingConfig& config, const Receivers& receivers, Outbox& outbox,
                       const SilenceStore* silences, const Clock& clock)
    : config_(config), receivers_(receivers), outbox_(outbox), silences_(silences), clock_(clock),
      router_(config.route) {}

void Dispatcher::put(const std::vector<Alert>& alerts) {
    const SystemTime now = clock_.now();
    std::lock_guard lock(mu_);
    for (const Alert& alert : alerts) put_locked(alert, now, now);
}

std::vector<Dispatcher::Held> Dispatcher::held() const {
    std::lock_guard lock(mu_);
    std::map<std::string, Held> out;  // by fingerprint: an alert routed to several groups is one alert
    for (const auto& [key, group] : groups_)
        for (const auto& [fp, entry] : group.alerts) {
            auto [it, created] = out.try_emplace(fp, Held{entry.alert, entry.updated});
            if (!created && entry.updated > it->second.updated) it->second = Held{entry.alert, entry.updated};
        }
    std::vector<Held> list;
    for (auto& [fp, held] : out) list.push_back(std::move(held));
    return list;
}

void Dispatcher::adopt(const std::vector<Held>& alerts) {
    const SystemTime now = clock_.now();
    std::lock_guard lock(mu_);
    for (const Held& h : alerts) put_locked(h.alert, h.updated, now);
}

void Dispatcher::put_locked(const Alert& alert, SystemTime updated, SystemTime now) {
    if (alert.state == AlertState::pending && !alert.ends_at) return;
    if (alert.state == AlertState::inactive && !alert.ends_at) return;
    for (const Route* route : router_.match(alert.labels)) {
        metrics::Labels labels = group_labels(*route, alert.labels);
        std::string key = group_key(*route, labels);
        auto [it, created] = groups_.try_emplace(key);
        Group& group = it->second;
        if (created) {
            group.route = route;
            group.labels = std::move(labels);
            group.next_flush = now + route->group_wait;
        }
        // An alert that has been firing longer than group_wait need not wait again
        // (after a restart, say): Alertmanager flushes such a group at once.
        if (!group.flushed && alert.starts_at + route->group_wait < now) group.next_flush = now;
        group.alerts[alert.fingerprint] = Group::Entry{alert, updated};
    }
}

void Dispatcher::tick() {
    const SystemTime now = clock_.now();
    // Silences come from the API, as many and as written as anyone likes: they are
    // matched against copies of the due alerts' labels with mu_ released, so put(),
    // group_count() and whoever holds a lock around them never wait on that.
    std::map<std::string, metrics::Labels> due;  // by fingerprint
    {
        std::lock_guard lock(mu_);
        for (const auto& [key, group] : groups_)
            if (group.next_flush <= now)
                for (const auto& [fp, entry] : group.alerts) due.try_emplace(fp, entry.alert.labels);
    }
    Silenced silenced;
    for (const auto& [fp, labels] : due) silenced.emplace(fp, silences_ && silences_->silenced(labels));

    std::lock_guard lock(mu_);
    for (auto it = groups_.begin(); it != groups_.end();) {
        Group& group = it->second;
        if (group.next_flush <= now) {
            flush(it->first, group, now, silenced);
            group.flushed = true;
            group.next_flush = now + group.route->group_interval;
        }
        it = group.alerts.empty() ? groups_.erase(it) : std::next(it);
    }
}

std::size_t Dispatcher::group_count() const {
    std::lock_guard lock(mu_);
    return groups_.size();
}

void Dispatcher::flush(const std::string& key, Group& group, SystemTime now, const Silenced& silenced) {
    Notification all{.receiver = group.route->receiver,
                     .group_key = key,
                     .group_labels = group.labels,
                     .external_url = config_.external_url,
                     .group_interval = group.route->group_interval};
    std::set<std::string> firing, resolved, unchecked;
    for (auto& [fp, entry] : group.alerts) {
        Alert& alert = entry.alert;
        if (!is_resolved(alert) && entry.updated + config_.resolve_timeout <= now) {
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
        if (!needs_update(last, firing, resolved, integration, group.route->repeat_interval, now)) continue;
        Notification sent = all;
        if (!integration.send_resolved()) std::erase_if(sent.alerts, [](const Alert& a) { return is_resolved(a); });
        NotifyLogEntry entry{.receiver = all.receiver,
                             .integration = i,
                             .group_key = key,
                             .firing = firing,
                             .resolved = resolved,
                             .sent_at = now};
        if (sent.alerts.empty()) {
            outbox_.enqueue(std::move(entry), nullptr);
        } else {
            const std::string body = integration.render(sent, now);
            outbox_.enqueue(std::move(entry), &body);
        }
    }
    // Resolved alerts have been told (or deliberately not); they leave the group.
    std::erase_if(group.alerts,
                  [&](const auto& kv) { return is_resolved(kv.second.alert) && !unchecked.contains(kv.first); });
}

}  // namespace cargomon::alerts
