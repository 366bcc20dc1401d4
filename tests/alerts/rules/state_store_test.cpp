#include "alerts/rules/state_store.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "tests/support/temp_dir.h"

namespace cargomon::alerts::rules {
namespace {

using promql::Evaluation, promql::Vector, promql::VectorSample;

using namespace std::chrono_literals;
using cargomon::testing::TempDir;

RuleGroup group() {
    AlertingRule rule{.name = "ErrorRate", .expr_text = "canned", .for_duration = 5min};
    rule.labels.emplace_back("severity", Template::parse("warning"));
    return {.file = "a.yml", .name = "g", .rules = {std::move(rule)}};
}

TEST(AlertStateStore, RoundTripsEveryField) {
    TempDir dir;
    ActiveAlertState s{.group_key = "a.yml;g", .rule_name = "ErrorRate", .rule_ordinal = 1};
    s.alert = {.labels = {{"alertname", "ErrorRate"}, {"workflow_name", "l\"ead\ns"}},
               .annotations = {{"summary", "ünïcode"}},
               .state = AlertState::inactive,
               .value = 0.1 + 0.2,
               .active_at = SystemTime{1'800'000'000'123ms},  // milliseconds: the one unit on disk
               .starts_at = SystemTime{1'800'000'060s},
               .ends_at = SystemTime{1'800'000'120s},
               .generator_url = "http://x/api/v1/rules",
               .fingerprint = "00112233445566ff"};
    s.last_sent_at = SystemTime{1'800'000'121s};
    ActiveAlertState nan_value{.group_key = "a.yml;g", .rule_name = "Other"};
    nan_value.alert.value = std::nan("");
    nan_value.alert.fingerprint = "ff";
    {
        AlertStateStore store(dir.file("state.db"));
        store.save({s, nan_value});
    }
    auto loaded = AlertStateStore(dir.file("state.db")).load();
    ASSERT_EQ(loaded.size(), 2u);
    const auto& l = loaded[0].rule_name == "ErrorRate" ? loaded[0] : loaded[1];
    EXPECT_EQ(l.group_key, s.group_key);
    EXPECT_EQ(l.rule_ordinal, 1);
    EXPECT_EQ(l.alert.labels, s.alert.labels);
    EXPECT_EQ(l.alert.annotations, s.alert.annotations);
    EXPECT_EQ(l.alert.state, AlertState::inactive);
    EXPECT_EQ(l.alert.value, s.alert.value);
    EXPECT_EQ(l.alert.active_at, s.alert.active_at);
    EXPECT_EQ(l.alert.starts_at, s.alert.starts_at);
    EXPECT_EQ(l.alert.ends_at, s.alert.ends_at);
    EXPECT_EQ(l.alert.generator_url, s.alert.generator_url);
    EXPECT_EQ(l.alert.fingerprint, s.alert.fingerprint);
    EXPECT_FALSE(l.keep_firing_since);
    EXPECT_EQ(l.last_sent_at, s.last_sent_at);
    const auto& n = loaded[0].rule_name == "Other" ? loaded[0] : loaded[1];
    EXPECT_TRUE(std::isnan(n.alert.value));

    AlertStateStore(dir.file("state.db")).save({});
    EXPECT_TRUE(AlertStateStore(dir.file("state.db")).load().empty());
}

TEST(AlertStateStore, ARestartKeepsThePendingTimerAndWhatWasSent) {
    TempDir dir;
    FakeClock clock;
    Vector result{{{{"workflow_name", "enrich"}}, 0.5}};
    auto evaluator = [&](const Rule&, std::int64_t) { return Evaluation{result, ""}; };
    int sent = 0;
    auto sink = [&](std::vector<Alert> alerts) { sent += static_cast<int>(alerts.size()); };
    const SystemTime active_at = clock.now();
    {
        prometheus::Registry registry;
        RuleManager before(std::vector<RuleGroup>{group()}, evaluator, sink, clock, registry);
        before.evaluate_due();
        clock.advance(3min);
        before.evaluate_due();
        AlertStateStore(dir.file("state.db")).save(before.export_state());
    }  // the process dies here

    clock.advance(1min);
    prometheus::Registry registry;
    RuleManager after(std::vector<RuleGroup>{group()}, evaluator, sink, clock, registry);
    after.restore(AlertStateStore(dir.file("state.db")).load());
    after.evaluate_due();  // 4m after it became active: still pending
    auto state = after.export_state();
    ASSERT_EQ(state.size(), 1u);
    EXPECT_EQ(state[0].alert.active_at, active_at);
    EXPECT_EQ(state[0].alert.state, AlertState::pending);
    clock.advance(1min);
    after.evaluate_due();  // 5m: fires, the timer was not reset
    EXPECT_EQ(after.export_state().at(0).alert.state, AlertState::firing);
    EXPECT_EQ(sent, 1);
    AlertStateStore(dir.file("state.db")).save(after.export_state());

    // Another restart 30s later: the firing alert was just sent and is not sent again.
    clock.advance(30s);
    prometheus::Registry registry2;
    RuleManager again(std::vector<RuleGroup>{group()}, evaluator, sink, clock, registry2);
    again.restore(AlertStateStore(dir.file("state.db")).load());
    again.evaluate_due();
    EXPECT_EQ(sent, 1);
    EXPECT_EQ(again.export_state().at(0).alert.active_at, active_at);
}

TEST(AlertStateStore, AnUnopenableFileIsAClearError) {
    TempDir dir;
    try {
        AlertStateStore store(dir.file("missing/dir/state.db"));
        FAIL() << "opened a file in a missing directory";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace cargomon::alerts::rules

namespace cargomon::alerts::rules {
namespace {

// Issue 11: update() writes the changed alerts and deletes the removed ones, leaving every
// other row as it was.
TEST(AlertStateStore, UpdateWritesOnlyTheChanges) {
    TempDir dir;
    auto alert = [](const std::string& fp, double value) {
        ActiveAlertState s{.group_key = "a.yml;g", .rule_name = "ErrorRate"};
        s.alert.fingerprint = fp;
        s.alert.value = value;
        return s;
    };
    AlertStateStore store(dir.file("state.db"));
    store.save({alert("keep", 1), alert("change", 1), alert("remove", 1)});
    AlertStateChanges changes;
    changes.saved = {alert("change", 2), alert("new", 3)};
    changes.removed = {alert("remove", 0)};
    store.update(changes);
    std::map<std::string, double> values;
    for (const auto& s : AlertStateStore(dir.file("state.db")).load()) values[s.alert.fingerprint] = s.alert.value;
    EXPECT_EQ(values, (std::map<std::string, double>{{"keep", 1}, {"change", 2}, {"new", 3}}));
}

}  // namespace
}  // namespace cargomon::alerts::rules
