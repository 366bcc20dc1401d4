#include "alerts/rules/rule_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "common/clock.h"
#include "metrics/self_metrics.h"

namespace cargomon::alerts::rules {
namespace {

using std::chrono::duration;
using std::chrono::duration_cast;

metrics::Labels sorted(metrics::Labels labels) {
    std::sort(labels.begin(), labels.end());
    return labels;
}

bool needs_sending(const ActiveAlertState& a, SystemTime now, Millis resend_delay) {
    if (a.alert.state == AlertState::pending) return false;
    if (!a.last_sent_at) return true;
    if (a.alert.ends_at && *a.alert.ends_at > *a.last_sent_at) return true;  // resolved since last sent
    return *a.last_sent_at + resend_delay < now;
}

}  // namespace

// FNV-1a over name/value pairs with separators no label contains: stable across restarts.
std::string fingerprint(const metrics::Labels& labels) {
    std::uint64_t h = 1469598103934665603ULL;
    auto mix = [&](std::string_view text) {
        for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    };
    for (const auto& [name, value] : labels) {
        mix(name);
        mix(value);
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return hex;
}

metrics::Labels alert_labels(const AlertingRule& rule, const promql::VectorSample& sample) {
    metrics::Labels labels = metrics::without_name(sorted(sample.labels));
    for (const auto& [name, tmpl] : rule.labels) metrics::set_label(labels, name, tmpl.expand(sample.labels, sample.value));
    metrics::set_label(labels, "alertname", rule.name);
    return labels;
}

std::string recording_collector(const RuleGroup& group, const RecordingRule& rule, int ordinal) {
    return "rules/" + group.key() + "/" + rule.name + "#" + std::to_string(ordinal);
}

metrics::Snapshot recorded_snapshot(promql::Vector series) {
    metrics::Snapshot snapshot;
    if (series.empty()) return snapshot;
    // Prometheus records no HELP for them; the store wants one, and this says where they come from.
    metrics::Family family{.name = std::string(metrics::label_value(series.front().labels, "__name__")),
                           .help = "Recording rule output"};
    for (promql::VectorSample& s : series) family.samples.push_back({metrics::without_name(std::move(s.labels)), s.value});
    snapshot.families.push_back(std::move(family));
    return snapshot;
}

RuleManager::RuleManager(std::vector<RuleGroup> groups, RuleEvaluator evaluator, AlertSink sink, const Clock& clock,
                         prometheus::Registry& registry, RuleManagerOptions options, RecordSink record)
    : evaluator_(std::move(evaluator)),
      sink_(std::move(sink)),
      record_(std::move(record)),
      clock_(clock),
      options_(std::move(options)),
      evaluations_(metrics::counter_family(registry, "cargomon_rule_evaluations_total",
                                           "Rule evaluations, by rule group (\"file;group\")")),
      failures_(metrics::counter_family(
          registry, "cargomon_rule_evaluation_failures_total",
          "Rule evaluations that failed, by rule group; the alerts of a failed rule keep their state")),
      last_duration_(metrics::gauge_family(registry, "cargomon_rule_group_last_duration_seconds",
                                           "How long the last evaluation of the rule group took")),
      alert_counts_(metrics::gauge_family(registry, "cargomon_alerts", "Alerts by state")),
      pending_count_(alert_counts_.Add({{"state", "pending"}})),
      firing_count_(alert_counts_.Add({{"state", "firing"}})) {
    std::lock_guard lock(mu_);
    install(std::move(groups), clock_.monotonic());
}

void RuleManager::install(std::vector<RuleGroup> groups, SteadyTime due) {
    std::vector<GroupSlot> old = std::move(groups_);
    groups_.clear();
    for (RuleGroup& group : groups) {
        GroupSlot slot;
        std::string key = group.key();
        auto kept = std::find_if(old.begin(), old.end(), [&](const GroupSlot& g) { return g.group.key() == key; });
        slot.next_due = kept == old.end() ? due : kept->next_due;
        std::map<std::string, int> seen;  // rule name -> rules of that name so far
        for (const Rule& rule : group.rules) slot.rules.push_back({.ordinal = seen[rule_name(rule)]++});
        slot.evaluations = &evaluations_.Add({{"rule_group", key}});
        slot.failures = &failures_.Add({{"rule_group", key}});
        slot.last_duration = &last_duration_.Add({{"rule_group", key}});
        slot.group = std::move(group);
        groups_.push_back(std::move(slot));
    }
    for (const GroupSlot& g : old) {
        std::string key = g.group.key();
        if (std::any_of(groups_.begin(), groups_.end(), [&](const GroupSlot& n) { return n.group.key() == key; })) continue;
        evaluations_.Remove(g.evaluations);
        failures_.Remove(g.failures);
        last_duration_.Remove(g.last_duration);
    }
}

SteadyTime RuleManager::evaluate_due() {
    std::vector<Alert> to_send;
    SteadyTime next = SteadyTime::max();
    {
        std::lock_guard lock(mu_);
        const SteadyTime mono = clock_.monotonic();
        bool evaluated = false;
        for (GroupSlot& slot : groups_) {
            if (slot.next_due <= mono) {
                // Evaluation times in milliseconds, as Prometheus' are: activeAt and the
                // ALERTS_FOR_STATE value then survive a restart exactly (state is stored in ms).
                std::vector<Alert> sent =
                    evaluate_group(slot, std::chrono::floor<std::chrono::milliseconds>(clock_.now()));
                std::move(sent.begin(), sent.end(), std::back_inserter(to_send));
                while (slot.next_due <= mono) slot.next_due += slot.group.interval;
                evaluated = true;
            }
            next = std::min(next, slot.next_due);
        }
        if (evaluated) update_alert_counts();
    }
    if (!to_send.empty()) sink_(std::move(to_send));
    return next;
}

SteadyTime RuleManager::next_due() const {
    std::lock_guard lock(mu_);
    SteadyTime next = SteadyTime::max();
    for (const GroupSlot& slot : groups_) next = std::min(next, slot.next_due);
    return next;
}

std::vector<Alert> RuleManager::evaluate_group(GroupSlot& slot, SystemTime now) {
    const SteadyTime started = clock_.monotonic();
    std::vector<Alert> to_send;
    for (std::size_t i = 0; i < slot.rules.size(); ++i) {
        slot.evaluations->Increment();
        const SteadyTime rule_started = clock_.monotonic();
        slot.rules[i].last_error.clear();
        if (!evaluate_rule(slot, i, now)) slot.failures->Increment();
        slot.rules[i].last_evaluation = now;
        slot.rules[i].evaluation_duration = std::chrono::duration_cast<Millis>(clock_.monotonic() - rule_started);
        for (auto& [_, a] : slot.rules[i].active) {
            if (!needs_sending(a, now, options_.resend_delay)) continue;
            a.last_sent_at = now;
            changed(a);
            to_send.push_back(a.alert);
        }
    }
    slot.last_duration->Set(duration<double>(clock_.monotonic() - started).count());
    slot.last_evaluation = now;
    slot.evaluation_duration = std::chrono::duration_cast<Millis>(clock_.monotonic() - started);
    return to_send;
}

bool RuleManager::evaluate_rule(GroupSlot& group, std::size_t index, SystemTime now) {
    const Rule& rule = group.group.rules[index];
    const std::int64_t t_ms = std::chrono::floor<std::chrono::milliseconds>(now - group.group.query_offset)
                                  .time_since_epoch()
                                  .count();
    promql::Evaluation result = evaluator_(rule, t_ms);
    if (std::holds_alternative<RecordingRule>(rule)) return evaluate_recording(group, index, std::move(result), t_ms);
    return evaluate_alerting(group, index, now, std::move(result));
}

promql::Vector result_vector(promql::Evaluation result) {
    if (const double* scalar = std::get_if<double>(&result.value)) return {{{}, *scalar}};
    return std::move(std::get<promql::Vector>(result.value));
}

std::variant<promql::Vector, std::string> recorded_series(const RecordingRule& rule, promql::Evaluation result,
                                                           long long limit, std::int64_t t_ms) {
    if (!result.error.empty()) return std::move(result.error);
    promql::Vector series = result_vector(std::move(result));
    std::set<metrics::Labels> seen;
    for (promql::VectorSample& sample : series) {
        sample.labels = metrics::without_name(sorted(std::move(sample.labels)));
        for (const auto& [name, value] : rule.labels) metrics::set_label(sample.labels, name, value);
        metrics::set_label(sample.labels, "__name__", rule.name);
        sample.t = t_ms;
        if (!seen.insert(sample.labels).second)
            return std::string("vector contains metrics with the same labelset after applying rule labels");
    }
    if (limit > 0 && static_cast<long long>(series.size()) > limit)
        return "exceeded limit of " + std::to_string(limit) + " with " + std::to_string(series.size()) + " series";
    return series;
}

bool RuleManager::evaluate_recording(GroupSlot& group, std::size_t index, promql::Evaluation result, std::int64_t t_ms) {
    const auto& rule = std::get<RecordingRule>(group.group.rules[index]);
    RuleSlot& slot = group.rules[index];
    auto recorded = recorded_series(rule, std::move(result), group.group.limit, t_ms);
    promql::Vector series;
    if (auto* error = std::get_if<std::string>(&recorded)) {
        spdlog::warn("rule group {}: record {}: {}", group.group.key(), rule.name, *error);
        slot.last_error = std::move(*error);
    } else {
        series = std::move(std::get<promql::Vector>(recorded));
    }
    if (record_) record_(recording_collector(group.group, rule, slot.ordinal), std::move(series), t_ms);
    return slot.last_error.empty();
}

// Prometheus' AlertingRule.Eval, step for step.
bool RuleManager::evaluate_alerting(GroupSlot& group, std::size_t index, SystemTime now, promql::Evaluation result) {
    const auto& rule = std::get<AlertingRule>(group.group.rules[index]);
    RuleSlot& slot = group.rules[index];
    if (!result.error.empty()) {
        spdlog::warn("rule group {}: alert {}: {}", group.group.key(), rule.name, result.error);
        slot.last_error = result.error;
        return false;
    }
    promql::Vector samples = result_vector(std::move(result));

    std::map<std::string, Alert> fresh;  // by fingerprint
    for (const promql::VectorSample& sample : samples) {
        Alert alert{.labels = alert_labels(rule, sample), .state = AlertState::pending, .value = sample.value, .active_at = now};
        for (const auto& [name, tmpl] : rule.annotations) alert.annotations.emplace_back(name, tmpl.expand(sample.labels, sample.value));
        alert.fingerprint = fingerprint(alert.labels);
        if (!options_.external_url.empty()) alert.generator_url = options_.external_url + "/api/v1/rules";
        std::string fp = alert.fingerprint;
        if (!fresh.emplace(fp, std::move(alert)).second) {
            slot.last_error = "vector contains metrics with the same labelset after applying alert labels";
            spdlog::warn("rule group {}: alert {}: {}", group.group.key(), rule.name, slot.last_error);
            return false;
        }
    }

    for (auto& [fp, alert] : fresh) {
        auto it = slot.active.find(fp);
        if (it != slot.active.end() && it->second.alert.state != AlertState::inactive) {
            Alert& kept = it->second.alert;
            const bool same_value = kept.value == alert.value || (std::isnan(kept.value) && std::isnan(alert.value));
            if (same_value && kept.annotations == alert.annotations) continue;
            kept.value = alert.value;
            kept.annotations = std::move(alert.annotations);
            changed(it->second);
            continue;
        }
        ActiveAlertState& created = slot.active[fp] = {
            .group_key = group.group.key(), .rule_name = rule.name, .rule_ordinal = slot.ordinal, .alert = std::move(alert)};
        changed(created);
    }

    long long active_count = 0;
    for (auto it = slot.active.begin(); it != slot.active.end();) {
        ActiveAlertState& a = it->second;
        if (!fresh.contains(it->first)) {
            bool keep_firing = false;
            if (a.alert.state == AlertState::firing && rule.keep_firing_for.count() > 0) {
                if (!a.keep_firing_since) {
                    a.keep_firing_since = now;
                    changed(a);
                }
                keep_firing = now - *a.keep_firing_since < rule.keep_firing_for;
            }
            // Pending alerts vanish at once; resolved ones after the retention, so they are re-sent as resolved.
            if (a.alert.state == AlertState::pending ||
                (a.alert.ends_at && now - *a.alert.ends_at > options_.resolved_retention)) {
                changed(a);
                it = slot.active.erase(it);
                continue;
            }
            if (a.alert.state != AlertState::inactive && !keep_firing) {
                a.alert.state = AlertState::inactive;
                a.alert.ends_at = now;
                changed(a);
            }
            if (!keep_firing) {
                ++it;
                continue;
            }
        } else if (a.keep_firing_since) {
            a.keep_firing_since.reset();
            changed(a);
        }
        ++active_count;
        if (a.alert.state == AlertState::pending && now - a.alert.active_at >= rule.for_duration) {
            a.alert.state = AlertState::firing;
            a.alert.starts_at = now;
            changed(a);
        }
        ++it;
    }

    if (group.group.limit > 0 && active_count > group.group.limit) {
        for (const auto& [_, a] : slot.active) changed(a);
        slot.active.clear();
        spdlog::warn("rule group {}: alert {}: exceeded limit of {} with {} alerts", group.group.key(), rule.name,
                     group.group.limit, active_count);
        return false;
    }
    return true;
}

void RuleManager::update_alert_counts() {
    int pending = 0, firing = 0;
    for (const GroupSlot& g : groups_)
        for (const RuleSlot& r : g.rules)
            for (const auto& [_, a] : r.active) {
                pending += a.alert.state == AlertState::pending;
                firing += a.alert.state == AlertState::firing;
            }
    pending_count_.Set(pending);
    firing_count_.Set(firing);
}

void RuleManager::replace_groups(std::vector<RuleGroup> groups) {
    std::lock_guard lock(mu_);
    std::vector<ActiveAlertState> state = export_locked();
    install(std::move(groups), clock_.monotonic());
    restore_locked(state);
    update_alert_counts();
}

std::vector<std::string> RuleManager::recording_collectors() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const GroupSlot& g : groups_)
        for (std::size_t i = 0; i < g.rules.size(); ++i)
            if (const auto* r = std::get_if<RecordingRule>(&g.group.rules[i]))
                out.push_back(recording_collector(g.group, *r, g.rules[i].ordinal));
    return out;
}

std::vector<ActiveAlertState> RuleManager::export_state() const {
    std::lock_guard lock(mu_);
    return export_locked();
}

std::vector<ActiveAlertState> RuleManager::export_locked() const {
    std::vector<ActiveAlertState> out;
    for (const GroupSlot& g : groups_)
        for (const RuleSlot& r : g.rules)
            for (const auto& [_, a] : r.active) out.push_back(a);
    return out;
}

void RuleManager::restore(const std::vector<ActiveAlertState>& states) {
    std::lock_guard lock(mu_);
    restore_locked(states);
    update_alert_counts();
}

void RuleManager::restore_locked(const std::vector<ActiveAlertState>& states) {
    for (const ActiveAlertState& s : states) {
        bool placed = false;
        for (GroupSlot& g : groups_) {
            if (g.group.key() != s.group_key) continue;
            for (std::size_t i = 0; i < g.rules.size(); ++i)
                if (std::holds_alternative<AlertingRule>(g.group.rules[i]) && rule_name(g.group.rules[i]) == s.rule_name &&
                    g.rules[i].ordinal == s.rule_ordinal) {
                    g.rules[i].active[s.alert.fingerprint] = s;
                    placed = true;
                }
        }
        if (!placed) changed(s);  // its rule is gone: a save removes it
    }
}

RuleManager::StateKey RuleManager::key_of(const ActiveAlertState& s) {
    return {s.group_key, s.rule_name, s.rule_ordinal, s.alert.fingerprint};
}

const ActiveAlertState* RuleManager::find_locked(const StateKey& key) const {
    const auto& [group_key, rule_name, ordinal, fingerprint] = key;
    for (const GroupSlot& g : groups_) {
        if (g.group.key() != group_key) continue;
        for (std::size_t i = 0; i < g.rules.size(); ++i) {
            if (rules::rule_name(g.group.rules[i]) != rule_name || g.rules[i].ordinal != ordinal) continue;
            auto it = g.rules[i].active.find(fingerprint);
            if (it != g.rules[i].active.end()) return &it->second;
        }
    }
    return nullptr;
}

AlertStateChanges RuleManager::take_changes() {
    std::lock_guard lock(mu_);
    AlertStateChanges out;
    for (const StateKey& key : changed_) {
        if (const ActiveAlertState* s = find_locked(key)) {
            out.saved.push_back(*s);
        } else {
            ActiveAlertState gone{.group_key = std::get<0>(key), .rule_name = std::get<1>(key), .rule_ordinal = std::get<2>(key)};
            gone.alert.fingerprint = std::get<3>(key);
            out.removed.push_back(std::move(gone));
        }
    }
    changed_.clear();
    return out;
}

void RuleManager::keep_changes(const AlertStateChanges& changes) {
    std::lock_guard lock(mu_);
    for (const ActiveAlertState& s : changes.saved) changed(s);
    for (const ActiveAlertState& s : changes.removed) changed(s);
}

metrics::Snapshot RuleManager::alerts_snapshot() const {
    metrics::Family alerts{.name = "ALERTS", .help = "Pending and firing alerts"};
    metrics::Family for_state{.name = "ALERTS_FOR_STATE", .help = "When each pending or firing alert became active (Unix seconds)"};
    std::set<std::string> seen;  // two rules may yield the same alert; the series exists once
    for (const Alert& a : this->alerts()) {
        if (!seen.insert(a.fingerprint).second) continue;
        metrics::Labels labels = a.labels;
        metrics::set_label(labels, "alertstate", state_name(a.state));
        alerts.samples.push_back({std::move(labels), 1});
        for_state.samples.push_back({a.labels, unix_seconds(a.active_at)});
    }
    return {{std::move(alerts), std::move(for_state)}};
}

std::vector<Alert> RuleManager::alerts() const {
    std::lock_guard lock(mu_);
    std::vector<Alert> out;
    for (const GroupSlot& g : groups_)
        for (const RuleSlot& r : g.rules)
            for (const auto& [_, a] : r.active)
                if (a.alert.state != AlertState::inactive) out.push_back(a.alert);
    return out;
}

std::vector<GroupStatus> RuleManager::groups() const {
    std::lock_guard lock(mu_);
    std::vector<GroupStatus> out;
    for (const GroupSlot& g : groups_) {
        GroupStatus group{.name = g.group.name,
                          .file = g.group.file,
                          .interval = g.group.interval,
                          .limit = g.group.limit,
                          .query_offset = g.group.query_offset,
                          .rules = {},
                          .last_evaluation = g.last_evaluation,
                          .evaluation_duration = g.evaluation_duration};
        for (std::size_t i = 0; i < g.rules.size(); ++i) {
            const RuleSlot& slot = g.rules[i];
            RuleStatus rule{.rule = g.group.rules[i],
                            .state = AlertState::inactive,
                            .alerts = {},
                            .last_error = slot.last_error,
                            .last_evaluation = slot.last_evaluation,
                            .evaluation_duration = slot.evaluation_duration};
            for (const auto& [_, a] : slot.active) {
                if (a.alert.state == AlertState::inactive) continue;
                rule.alerts.push_back(a.alert);
                if (a.alert.state == AlertState::firing) rule.state = AlertState::firing;
                else if (rule.state != AlertState::firing) rule.state = AlertState::pending;
            }
            group.rules.push_back(std::move(rule));
        }
        out.push_back(std::move(group));
    }
    return out;
}

}  // namespace cargomon::alerts::rules
