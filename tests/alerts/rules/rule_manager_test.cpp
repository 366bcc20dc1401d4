#include "alerts/rules/rule_manager.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <map>
#include <set>

namespace cargomon::alerts::rules {
namespace {

using promql::Evaluation, promql::Vector, promql::VectorSample;

using namespace std::chrono_literals;

AlertingRule make_rule(std::string name, Millis for_duration, Millis keep_firing_for = 0ms,
                       std::vector<std::pair<std::string, std::string>> labels = {{"severity", "warning"}}) {
    AlertingRule r{.name = std::move(name), .expr_text = "canned", .for_duration = for_duration, .keep_firing_for = keep_firing_for};
    for (auto& [k, v] : labels) r.labels.emplace_back(k, Template::parse(v));
    r.annotations.emplace_back("summary", Template::parse("{{ $labels.workflow_name }} at {{ $value | humanizePercentage }}"));
    return r;
}

RuleGroup make_group(std::vector<AlertingRule> rules, Millis interval = 1min) {
    return {.file = "test.rules.yml", .name = "g", .interval = interval, .rules = {rules.begin(), rules.end()}};
}

VectorSample sample(std::string workflow, double value) {
    return {{{"__name__", "cargo_workflow_error_ratio"}, {"workflow_name", std::move(workflow)}}, value};
}

// Canned expression results by alert name, and everything the sink received.
struct Harness {
    FakeClock clock;
    prometheus::Registry registry;
    std::map<std::string, Evaluation> results;
    std::vector<std::vector<Alert>> sent;

    RuleEvaluator evaluator() {
        return [this](const Rule& r, std::int64_t) {
            auto it = results.find(rule_name(r));
            return it == results.end() ? Evaluation{Vector{}, ""} : it->second;
        };
    }
    AlertSink sink() {
        return [this](std::vector<Alert> alerts) { sent.push_back(std::move(alerts)); };
    }
    std::unique_ptr<RuleManager> manager(std::vector<RuleGroup> groups) {
        return std::make_unique<RuleManager>(std::move(groups), evaluator(), sink(), clock, registry);
    }
    // Moves time on and runs whatever is due.
    void step(RuleManager& m, Millis by) {
        clock.advance(by);
        m.evaluate_due();
    }
    double metric(const std::string& name, const std::string& label_value) {
        for (const auto& family : registry.Collect()) {
            if (family.name != name) continue;
            for (const auto& m : family.metric)
                if (!m.label.empty() && m.label[0].value == label_value) return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
        }
        return -1;
    }
};

double counter_value(prometheus::Registry& registry, const std::string& name) {
    for (const auto& family : registry.Collect())
        if (family.name == name && !family.metric.empty()) return family.metric[0].counter.value;
    return -1;
}

std::optional<ActiveAlertState> only_alert(const RuleManager& m) {
    auto state = m.export_state();
    if (state.size() != 1) {
        ADD_FAILURE() << "expected one alert, got " << state.size();
        return std::nullopt;
    }
    return state[0];
}

TEST(RuleManager, PendingThenFiringAfterFor) {
    Harness h;
    auto m = h.manager({make_group({make_rule("ErrorRate", 5min)})});
    m->evaluate_due();
    EXPECT_TRUE(m->export_state().empty());  // inactive: no series, no alert

    h.results["ErrorRate"] = {Vector{sample("enrich", 0.25)}, ""};
    h.step(*m, 1min);
    const SystemTime active_at = h.clock.now();
    auto a = only_alert(*m);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->alert.state, AlertState::pending);
    EXPECT_EQ(a->alert.active_at, active_at);
    EXPECT_EQ(a->alert.labels, (metrics::Labels{{"alertname", "ErrorRate"}, {"severity", "warning"}, {"workflow_name", "enrich"}}));
    EXPECT_EQ(a->alert.annotations, (metrics::Labels{{"summary", "enrich at 25%"}}));
    EXPECT_TRUE(h.sent.empty());  // pending alerts are not sent

    h.step(*m, 4min);  // 4m pending: not yet
    EXPECT_EQ(only_alert(*m)->alert.state, AlertState::pending);
    h.step(*m, 1min);  // 5m: fires
    a = only_alert(*m);
    EXPECT_EQ(a->alert.state, AlertState::firing);
    EXPECT_EQ(a->alert.active_at, active_at);
    EXPECT_EQ(a->alert.starts_at, h.clock.now());
    ASSERT_EQ(h.sent.size(), 1u);
    EXPECT_EQ(h.sent[0].at(0).state, AlertState::firing);
    EXPECT_FALSE(h.sent[0][0].ends_at);
    EXPECT_EQ(h.sent[0][0].fingerprint.size(), 16u);

    h.step(*m, 1min);  // resend_delay not passed yet (sent exactly 1m ago)
    EXPECT_EQ(h.sent.size(), 1u);
    h.step(*m, 1min);  // re-sent while firing
    EXPECT_EQ(h.sent.size(), 2u);
}

TEST(RuleManager, FlappingResetsPending) {
    Harness h;
    auto m = h.manager({make_group({make_rule("ErrorRate", 5min)})});
    h.results["ErrorRate"] = {Vector{sample("enrich", 0.25)}, ""};
    m->evaluate_due();
    const SystemTime first = h.clock.now();
    h.step(*m, 3min);
    EXPECT_EQ(only_alert(*m)->alert.active_at, first);
    h.results.erase("ErrorRate");
    h.step(*m, 1min);
    EXPECT_TRUE(m->export_state().empty());  // a pending alert that stops is forgotten at once
    h.results["ErrorRate"] = {Vector{sample("enrich", 0.25)}, ""};
    h.step(*m, 1min);
    EXPECT_EQ(only_alert(*m)->alert.active_at, h.clock.now());  // the `for` timer starts over
    h.step(*m, 4min);
    EXPECT_EQ(only_alert(*m)->alert.state, AlertState::pending);
    h.step(*m, 1min);
    EXPECT_EQ(only_alert(*m)->alert.state, AlertState::firing);
    EXPECT_EQ(h.sent.size(), 1u);
}

TEST(RuleManager, ForZeroFiresAtOnceAndResolves) {
    Harness h;
    auto m = h.manager({make_group({make_rule("ErrorRate", 0ms)})});
    h.results["ErrorRate"] = {Vector{sample("enrich", 0.25)}, ""};
    m->evaluate_due();
    EXPECT_EQ(only_alert(*m)->alert.state, AlertState::firing);
    ASSERT_EQ(h.sent.size(), 1u);

    h.results.erase("ErrorRate");
    h.step(*m, 1min);
    auto a = only_alert(*m);
    EXPECT_EQ(a->alert.state, AlertState::inactive);
    ASSERT_TRUE(a->alert.ends_at);
    EXPECT_EQ(*a->alert.ends_at, h.clock.now());
    ASSERT_EQ(h.sent.size(), 2u);  // the resolution is sent at once
    EXPECT_EQ(h.sent[1].at(0).state, AlertState::inactive);
    EXPECT_EQ(h.sent[1][0].ends_at, a->alert.ends_at);
    EXPECT_TRUE(m->alerts().empty());

    h.step(*m, 1min);
    EXPECT_EQ(h.sent.size(), 2u);
    h.step(*m, 1min);  // resolved alerts are re-sent every resend_delay during the retention
    EXPECT_EQ(h.sent.size(), 3u);
    h.step(*m, 13min);  // 15m after resolution: still kept
    EXPECT_EQ(m->export_state().size(), 1u);
    h.step(*m, 1min);
    EXPECT_TRUE(m->export_state().empty());
}

TEST(RuleManager, KeepFiringFor) {
    Harness h;
    auto m = h.manager({make_group({make_rule("ErrorRate", 0ms, 3min)})});
    h.results["ErrorRate"] = {Vector{sample("enrich", 0.25)}, ""};
    m->evaluate_due();
    const SystemTime fired = h.clock.now();
    h.results.erase("ErrorRate");
    h.step(*m, 1min);  // gone, but kept firing
    EXPECT_EQ(only_alert(*m)->alert.state, AlertState::firing);
    h.step(*m, 1min);
    EXPECT_EQ(only_alert(*m)->alert.state, AlertState::firing);

    h.results["ErrorRate"] = {Vector{sample("enrich", 0.3)}, ""};  // back: the keep timer resets
    h.step(*m, 1min);
    auto a = only_alert(*m);
    EXPECT_FALSE(a->keep_firing_since);
    EXPECT_EQ(a->alert.starts_at, fired);
    EXPECT_EQ(a->alert.value, 0.3);

    h.results.erase("ErrorRate");
    h.step(*m, 1min);
    h.step(*m, 2min);  // 2m since it vanished: still firing
    EXPECT_EQ(only_alert(*m)->alert.state, AlertState::firing);
    h.step(*m, 1min);  // 3m: resolved
    a = only_alert(*m);
    EXPECT_EQ(a->alert.state, AlertState::inactive);
    EXPECT_EQ(*a->alert.ends_at, h.clock.now());
    EXPECT_EQ(h.sent.back().at(0).state, AlertState::inactive);
}

TEST(RuleManager, LabelTemplatesMakeTheIdentity) {
    Harness h;
    auto m = h.manager({make_group({make_rule("ErrorRate", 0ms, 0ms, {{"level", R"({{ printf "%.0f" $value }})"}})})});
    h.results["ErrorRate"] = {Vector{sample("enrich", 1)}, ""};
    m->evaluate_due();
    h.results["ErrorRate"] = {Vector{sample("enrich", 2)}, ""};
    h.step(*m, 1min);
    auto state = m->export_state();
    ASSERT_EQ(state.size(), 2u);  // a new alert; the old one resolved
    int firing = 0, resolved = 0;
    for (const auto& s : state) {
        auto level = std::find_if(s.alert.labels.begin(), s.alert.labels.end(), [](auto& l) { return l.first == "level"; });
        ASSERT_NE(level, s.alert.labels.end());
        if (s.alert.state == AlertState::firing) {
            ++firing;
            EXPECT_EQ(level->second, "2");
        } else {
            ++resolved;
            EXPECT_EQ(level->second, "1");
        }
    }
    EXPECT_EQ(firing, 1);
    EXPECT_EQ(resolved, 1);
}

TEST(RuleManager, AlertsSeriesAndSelfMetrics) {
    Harness h;
    auto m = h.manager({make_group({make_rule("Slow", 5min), make_rule("Fast", 0ms)})});
    h.results["Slow"] = {Vector{sample("a", 0.5)}, ""};
    h.results["Fast"] = {0.75, ""};  // a scalar result is one alert without series labels
    m->evaluate_due();
    metrics::Snapshot snap = m->alerts_snapshot();
    ASSERT_EQ(snap.families.size(), 2u);
    EXPECT_EQ(snap.families[0].name, "ALERTS");
    EXPECT_EQ(snap.families[1].name, "ALERTS_FOR_STATE");
    std::map<metrics::Labels, double> alerts, for_state;
    for (const auto& s : snap.families[0].samples) alerts[s.labels] = s.value;
    for (const auto& s : snap.families[1].samples) for_state[s.labels] = s.value;
    metrics::Labels fast{{"alertname", "Fast"}, {"alertstate", "firing"}, {"severity", "warning"}};
    metrics::Labels slow{{"alertname", "Slow"}, {"alertstate", "pending"}, {"severity", "warning"}, {"workflow_name", "a"}};
    EXPECT_EQ(alerts, (std::map<metrics::Labels, double>{{fast, 1}, {slow, 1}}));
    const double now_s = std::chrono::duration<double>(h.clock.now().time_since_epoch()).count();
    metrics::Labels slow_for{{"alertname", "Slow"}, {"severity", "warning"}, {"workflow_name", "a"}};
    EXPECT_EQ(for_state.at(slow_for), now_s);

    EXPECT_EQ(h.metric("cargomon_rule_evaluations_total", "test.rules.yml;g"), 2);
    EXPECT_EQ(h.metric("cargomon_alerts", "pending"), 1);
    EXPECT_EQ(h.metric("cargomon_alerts", "firing"), 1);
    EXPECT_EQ(h.metric("cargomon_rule_evaluation_failures_total", "test.rules.yml;g"), 0);
}

TEST(RuleManager, FailedEvaluationsKeepStateAndCount) {
    Harness h;
    auto m = h.manager({make_group({make_rule("ErrorRate", 5min)})});
    h.results["ErrorRate"] = {Vector{sample("a", 0.5)}, ""};
    m->evaluate_due();
    const SystemTime active_at = h.clock.now();
    h.results["ErrorRate"] = {Vector{}, "many-to-many matching not allowed"};
    h.step(*m, 1min);
    // Two series that differ only in __name__ collide once it is dropped.
    VectorSample other = sample("a", 0.6);
    other.labels[0].second = "other_metric";
    h.results["ErrorRate"] = {Vector{sample("a", 0.5), other}, ""};
    h.step(*m, 1min);
    EXPECT_EQ(h.metric("cargomon_rule_evaluation_failures_total", "test.rules.yml;g"), 2);
    EXPECT_EQ(only_alert(*m)->alert.active_at, active_at);
}

TEST(RuleManager, GroupsRunAtTheirIntervals) {
    Harness h;
    auto m = h.manager({make_group({make_rule("ErrorRate", 0ms)}, 5min)});
    const SteadyTime start = h.clock.monotonic();
    EXPECT_EQ(m->evaluate_due(), start + 5min);
    h.step(*m, 4min);
    EXPECT_EQ(h.metric("cargomon_rule_evaluations_total", "test.rules.yml;g"), 1);
    h.clock.advance(1min);
    EXPECT_EQ(m->evaluate_due(), start + 10min);
    EXPECT_EQ(h.metric("cargomon_rule_evaluations_total", "test.rules.yml;g"), 2);
}

TEST(RuleManager, ReloadKeepsStateOfRulesThatRemain) {
    Harness h;
    auto m = h.manager({make_group({make_rule("ErrorRate", 5min), make_rule("Gone", 0ms)})});
    h.results["ErrorRate"] = {Vector{sample("a", 0.5)}, ""};
    h.results["Gone"] = {1.0, ""};
    m->evaluate_due();
    const SystemTime active_at = h.clock.now();
    m->replace_groups({make_group({make_rule("ErrorRate", 5min)})});
    auto a = only_alert(*m);
    EXPECT_EQ(a->rule_name, "ErrorRate");
    EXPECT_EQ(a->alert.active_at, active_at);
    h.step(*m, 5min);
    EXPECT_EQ(only_alert(*m)->alert.state, AlertState::firing);
}

}  // namespace
}  // namespace cargomon::alerts::rules

namespace cargomon::alerts::rules {
namespace {

// The usual warning/critical pair shares one `alert:` name; the rules API assigned
// alerts by alertname, so each rule listed both rules' alerts and the worse state.
TEST(RuleManagerGroups, RulesSharingAnAlertNameEachHaveTheirOwnAlertsAndState) {
    FakeClock clock;
    prometheus::Registry registry;
    auto warning = make_rule("ErrorRate", 5min, 0ms, {{"severity", "warning"}});
    auto critical = make_rule("ErrorRate", 0ms, 0ms, {{"severity", "critical"}});
    RuleEvaluator evaluator = [](const Rule& rule, std::int64_t) {
        const auto& r = std::get<AlertingRule>(rule);
        bool is_critical = r.labels.at(0).second.text() == "critical";
        return is_critical ? Evaluation{Vector{sample("enrich", 0.6)}, ""}
                           : Evaluation{Vector{sample("enrich", 0.6), sample("score", 0.2)}, ""};
    };
    RuleManager m({make_group({warning, critical})}, evaluator, [](std::vector<Alert>) {}, clock, registry);
    m.evaluate_due();
    auto groups = m.groups();
    ASSERT_EQ(groups.size(), 1u);
    ASSERT_EQ(groups[0].rules.size(), 2u);
    const auto& w = groups[0].rules[0];
    const auto& c = groups[0].rules[1];
    ASSERT_EQ(w.alerts.size(), 2u);
    ASSERT_EQ(c.alerts.size(), 1u);
    for (const auto& a : w.alerts) EXPECT_EQ(a.state, AlertState::pending);
    EXPECT_EQ(c.alerts[0].state, AlertState::firing);
    EXPECT_EQ(w.state, AlertState::pending);
    EXPECT_EQ(c.state, AlertState::firing);
    EXPECT_EQ(groups[0].last_evaluation, clock.now());
    EXPECT_EQ(w.last_evaluation, clock.now());
    EXPECT_TRUE(w.last_error.empty());
}

TEST(RuleManagerGroups, ARuleThatFailsReportsItsErrorUntilItSucceeds) {
    FakeClock clock;
    prometheus::Registry registry;
    bool fail = true;
    RuleEvaluator evaluator = [&](const Rule&, std::int64_t) {
        return fail ? Evaluation{Vector{}, "vector cannot contain metrics with the same labelset"} : Evaluation{Vector{}, ""};
    };
    RuleManager m({make_group({make_rule("ErrorRate", 0ms)})}, evaluator, [](std::vector<Alert>) {}, clock, registry);
    EXPECT_FALSE(m.groups()[0].rules[0].last_evaluation);  // not evaluated yet
    m.evaluate_due();
    EXPECT_EQ(m.groups()[0].rules[0].last_error, "vector cannot contain metrics with the same labelset");
    fail = false;
    clock.advance(1min);
    m.evaluate_due();
    EXPECT_EQ(m.groups()[0].rules[0].last_error, "");
}

}  // namespace
}  // namespace cargomon::alerts::rules

namespace cargomon::alerts::rules {
namespace {

std::set<std::string> workflows(const std::vector<ActiveAlertState>& states) {
    std::set<std::string> out;
    for (const auto& s : states)
        for (const auto& [k, v] : s.alert.labels)
            if (k == "workflow_name") out.insert(v);
    return out;
}

// Issue 11: the state is saved for the alerts that changed only. An evaluation that finds
// the same alerts with the same values changes nothing; a new value, a transition, a
// resend, a resolution and a removal each change one alert.
TEST(RuleManager, ChangesNameOnlyTheAlertsThatChanged) {
    Harness h;
    auto m = h.manager({make_group({make_rule("ErrorRate", 0ms)})});
    h.results["ErrorRate"] = {Vector{sample("a", 0.5), sample("b", 0.5), sample("c", 0.5)}, ""};
    m->evaluate_due();
    EXPECT_EQ(workflows(m->take_changes().saved), (std::set<std::string>{"a", "b", "c"}));
    EXPECT_TRUE(m->take_changes().empty()) << "taken twice";

    h.step(*m, 1min);  // the same values; resend_delay (1m) not passed
    EXPECT_TRUE(m->take_changes().empty());

    h.results["ErrorRate"] = {Vector{sample("a", 0.5), sample("b", 0.75)}, ""};  // b changes, c resolves
    h.step(*m, 30s);
    h.step(*m, 30s);
    AlertStateChanges changes = m->take_changes();
    EXPECT_EQ(workflows(changes.saved), (std::set<std::string>{"a", "b", "c"}));  // a and b resent (1m), c resolved
    h.step(*m, 30s);
    EXPECT_TRUE(m->take_changes().empty());

    h.step(*m, 20min);  // past resolved_retention: c is removed; a and b are resent
    changes = m->take_changes();
    EXPECT_EQ(workflows(changes.saved), (std::set<std::string>{"a", "b"}));
    ASSERT_EQ(changes.removed.size(), 1u);
    EXPECT_EQ(changes.removed[0].rule_name, "ErrorRate");
    EXPECT_EQ(changes.removed[0].group_key, "test.rules.yml;g");

    // A save that failed gives its changes back for the next one.
    m->keep_changes(changes);
    EXPECT_EQ(m->take_changes().removed.size(), 1u);

    // Restored alerts are not changes; those of rules a reload removed are.
    auto state = m->export_state();
    auto restarted = h.manager({make_group({make_rule("ErrorRate", 0ms)})});
    restarted->restore(state);
    EXPECT_TRUE(restarted->take_changes().empty());
    restarted->replace_groups({make_group({make_rule("Other", 0ms)})});
    EXPECT_EQ(restarted->take_changes().removed.size(), 2u);
}

// Recording rules, as Prometheus' group evaluates them: in file order, each output handed
// on (renamed, relabelled, at the group's time less its query_offset) before the next rule
// of the group is evaluated, so a rule reading it sees this round's values.
TEST(RuleManagerRecording, OutputsInOrderRenamedRelabelledAtTheQueryOffset) {
    FakeClock clock;
    prometheus::Registry registry;
    std::vector<std::string> calls;  // evaluations and records, in the order they happen
    std::vector<std::tuple<std::string, Vector, std::int64_t>> recorded;
    std::vector<std::int64_t> times;
    RuleEvaluator evaluator = [&](const Rule& r, std::int64_t t_ms) {
        calls.push_back("eval " + rule_name(r));
        times.push_back(t_ms);
        if (rule_name(r) == "job:errors:rate5m")
            return Evaluation{Vector{sample("enrich", 0.5), {{{"workflow_name", "score"}}, 2}}, ""};
        return Evaluation{Vector{}, ""};
    };
    RecordSink record = [&](const std::string& collector, Vector series, std::int64_t t_ms) {
        calls.push_back("record " + collector);
        recorded.emplace_back(collector, std::move(series), t_ms);
    };
    RecordingRule rec{.name = "job:errors:rate5m", .expr_text = "canned", .expr = nullptr, .labels = {{"env", "prod"}}};
    RuleGroup group{.file = "r.yml", .name = "g", .interval = 1min, .query_offset = 30s,
                    .rules = {rec, make_rule("After", 0ms)}};
    RuleManager m({group}, evaluator, [](std::vector<Alert>) {}, clock, registry, {}, record);
    m.evaluate_due();
    const std::string collector = "rules/r.yml;g/job:errors:rate5m#0";
    EXPECT_EQ(calls, (std::vector<std::string>{"eval job:errors:rate5m", "record " + collector, "eval After"}));
    const std::int64_t expected_t =
        std::chrono::floor<std::chrono::milliseconds>(clock.now() - 30s).time_since_epoch().count();
    EXPECT_EQ(times, (std::vector<std::int64_t>{expected_t, expected_t}));
    ASSERT_EQ(recorded.size(), 1u);
    const auto& [name, series, t] = recorded[0];
    EXPECT_EQ(t, expected_t);
    ASSERT_EQ(series.size(), 2u);
    EXPECT_EQ(series[0].labels, (metrics::Labels{{"__name__", "job:errors:rate5m"}, {"env", "prod"}, {"workflow_name", "enrich"}}));
    EXPECT_EQ(series[1].labels, (metrics::Labels{{"__name__", "job:errors:rate5m"}, {"env", "prod"}, {"workflow_name", "score"}}));
    EXPECT_EQ(series[1].value, 2);
    EXPECT_EQ(m.recording_collectors(), std::vector<std::string>{collector});
    EXPECT_TRUE(m.export_state().empty());  // a recording rule makes no alerts
}

// A rule that fails records nothing (its last output is withdrawn, not left standing): an
// evaluation error, two series that the rule's labels make the same, or more series than
// the group's limit. Each is the rule's health in the rules API.
TEST(RuleManagerRecording, FailuresRecordNothingAndSayWhy) {
    struct Case {
        Evaluation result;
        metrics::Labels labels;
        std::string error;
    };
    const std::vector<Case> cases{
        {{Vector{}, "query timed out in expression evaluation"}, {}, "query timed out in expression evaluation"},
        {{Vector{sample("a", 1), {{{"workflow_name", "a"}}, 2}}, ""}, {},
         "vector contains metrics with the same labelset after applying rule labels"},
        {{Vector{sample("a", 1), sample("b", 1), sample("c", 1)}, ""}, {}, "exceeded limit of 2 with 3 series"},
    };
    for (const Case& c : cases) {
        FakeClock clock;
        prometheus::Registry registry;
        std::vector<Vector> recorded;
        RuleManager m({RuleGroup{.file = "r.yml", .name = "g", .limit = 2,
                                 .rules = {RecordingRule{.name = "x", .expr_text = "canned", .labels = c.labels}}}},
                      [&](const Rule&, std::int64_t) { return c.result; }, [](std::vector<Alert>) {}, clock, registry, {},
                      [&](const std::string&, Vector series, std::int64_t) { recorded.push_back(std::move(series)); });
        m.evaluate_due();
        ASSERT_EQ(recorded.size(), 1u) << c.error;
        EXPECT_TRUE(recorded[0].empty()) << c.error;
        EXPECT_EQ(m.groups()[0].rules[0].last_error, c.error);
        EXPECT_EQ(counter_value(registry, "cargomon_rule_evaluation_failures_total"), 1) << c.error;
    }
    // Within the limit: recorded.
    FakeClock clock;
    prometheus::Registry registry;
    std::vector<Vector> recorded;
    RuleManager m({RuleGroup{.file = "r.yml", .name = "g", .limit = 2, .rules = {RecordingRule{.name = "x", .expr_text = "canned"}}}},
                  [&](const Rule&, std::int64_t) { return Evaluation{Vector{sample("a", 1), sample("b", 1)}, ""}; },
                  [](std::vector<Alert>) {}, clock, registry, {},
                  [&](const std::string&, Vector series, std::int64_t) { recorded.push_back(std::move(series)); });
    m.evaluate_due();
    ASSERT_EQ(recorded.size(), 1u);
    EXPECT_EQ(recorded[0].size(), 2u);
    EXPECT_EQ(m.groups()[0].rules[0].last_error, "");
}

}  // namespace
}  // namespace cargomon::alerts::rules
