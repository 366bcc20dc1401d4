#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <set>

#include "alerts/notify/dispatcher.h"
#include "fixtures.h"

namespace cargomon::alerts::notify {
namespace {

using namespace std::chrono_literals;
using testing::firing_alert;
using testing::resolved;

// The webhook is never called here: the tests read what the dispatcher put in the outbox.
// Most tests put an alert once, so it must not time out unless a test means it to.
config::AlertingConfig make_config(bool send_resolved, const std::string& resolve_timeout) {
    return testing::config_from("resolve_timeout: " + resolve_timeout + R"(
route:
  receiver: hook
  group_by: [alertname, workflow_name]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:1/hook
        send_resolved: )" + std::string(send_resolved ? "true" : "false") + "\n");
}

class DispatcherTest : public ::testing::Test {
protected:
    void build(bool send_resolved = true, const std::string& resolve_timeout = "24h") {
        config = make_config(send_resolved, resolve_timeout);
        receivers = std::make_unique<Receivers>(config);
        outbox = std::make_unique<Outbox>(dir.file("notify.db"), clock, config.delivery);
        silences = std::make_unique<SilenceStore>(dir.file("notify.db"), clock);
        dispatcher = std::make_unique<Dispatcher>(config, *receivers, *outbox, silences.get(), clock, registry);
    }
    void advance_and_tick(std::chrono::milliseconds by) {
        clock.advance(by);
        dispatcher->tick();
    }
    // Bodies queued since the last call (marked delivered so they are not seen again).
    std::vector<rapidjson::Document> sent() {
        std::vector<rapidjson::Document> out;
        for (const OutboxItem& item : outbox->due(1000)) {
            out.emplace_back().Parse(item.body);
            outbox->mark(item.id, OutboxState::delivered);
        }
        return out;
    }
    static std::vector<std::string> alertnames(const rapidjson::Document& body) {
        std::vector<std::string> names;
        for (const auto& a : body["alerts"].GetArray()) {
            names.push_back(std::string(a["labels"]["alertname"].GetString()) + ":" + a["status"].GetString());
        }
        return names;
    }

    testing::TempDir dir;
    FakeClock clock;
    config::AlertingConfig config;
    std::unique_ptr<Receivers> receivers;
    std::unique_ptr<Outbox> outbox;
    std::unique_ptr<SilenceStore> silences;
    prometheus::Registry registry;
    std::unique_ptr<Dispatcher> dispatcher;
};

TEST_F(DispatcherTest, GroupWaitThenGroupIntervalThenRepeatInterval) {
    build();
    const SystemTime t0 = clock.now();
    dispatcher->put({firing_alert("A", {{"workflow_name", "w"}, {"node", "1"}}, t0)});
    advance_and_tick(29s);
    EXPECT_TRUE(sent().empty());
    advance_and_tick(1s);  // group_wait
    auto first = sent();
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(alertnames(first[0]), std::vector<std::string>{"A:firing"});

    // A second alert of the same group waits for the next group_interval tick.
    clock.advance(10s);
    dispatcher->put({firing_alert("A", {{"workflow_name", "w"}, {"node", "2"}}, clock.now())});
    advance_and_tick(4min);
    EXPECT_TRUE(sent().empty());
    advance_and_tick(50s);  // 5m after the first flush
    auto second = sent();
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0]["alerts"].Size(), 2u);

    // Nothing changes: silent until repeat_interval (1h) has passed since the last notification.
    int flushes_until_repeat = 0;
    while (sent().empty()) {
        advance_and_tick(5min);
        ++flushes_until_repeat;
        ASSERT_LT(flushes_until_repeat, 20);
    }
    EXPECT_EQ(flushes_until_repeat, 12);
}

TEST_F(DispatcherTest, GroupByMakesOneNotificationPerGroup) {
    build();
    dispatcher->put({firing_alert("A", {{"workflow_name", "w1"}}, clock.now()),
                     firing_alert("A", {{"workflow_name", "w2"}}, clock.now()),
                     firing_alert("A", {{"workflow_name", "w2"}, {"node", "n"}}, clock.now())});
    EXPECT_EQ(dispatcher->group_count(), 2u);
    advance_and_tick(30s);
    auto bodies = sent();
    ASSERT_EQ(bodies.size(), 2u);
    std::map<std::string, unsigned> by_workflow;
    for (const auto& b : bodies) by_workflow[b["groupLabels"]["workflow_name"].GetString()] = b["alerts"].Size();
    EXPECT_EQ(by_workflow, (std::map<std::string, unsigned>{{"w1", 1}, {"w2", 2}}));
}

// The group key quotes the group's label values as Alertmanager's does: a value holding
// `",name="` cannot pass for another label, so these two alerts are two groups (with the
// values written as they came, both keys read {alertname="A",workflow_name="w"}).
TEST_F(DispatcherTest, GroupKeysQuoteLabelValues) {
    build();
    dispatcher->put({firing_alert("A\",workflow_name=\"w", {}, clock.now()),
                     firing_alert("A", {{"workflow_name", "w"}}, clock.now())});
    EXPECT_EQ(dispatcher->group_count(), 2u);
    advance_and_tick(30s);
    std::set<std::string> keys;
    for (const auto& body : sent()) keys.insert(body["groupKey"].GetString());
    EXPECT_EQ(keys, (std::set<std::string>{R"({}:{alertname="A\",workflow_name=\"w"})",
                                           R"({}:{alertname="A", workflow_name="w"})"}));
}

TEST_F(DispatcherTest, PendingAlertsAreNotNotified) {
    build();
    Alert a = firing_alert("A", {}, clock.now());
    a.state = AlertState::pending;
    dispatcher->put({a});
    advance_and_tick(1h);
    EXPECT_TRUE(sent().empty());
    EXPECT_EQ(dispatcher->group_count(), 0u);
}

TEST_F(DispatcherTest, SendResolvedSendsTheResolution) {
    build(true);
    Alert a = firing_alert("A", {}, clock.now());
    dispatcher->put({a});
    advance_and_tick(30s);
    ASSERT_EQ(sent().size(), 1u);
    dispatcher->put({resolved(a, clock.now())});
    advance_and_tick(5min);
    auto bodies = sent();
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_STREQ(bodies[0]["status"].GetString(), "resolved");
    EXPECT_EQ(alertnames(bodies[0]), std::vector<std::string>{"A:resolved"});
    EXPECT_EQ(dispatcher->group_count(), 0u);  // resolved alerts leave the group
}

// One alert of a group resolves while another still fires: with send_resolved, that is
// news at the next group_interval (the group's notification lists both), not an hour later.
TEST_F(DispatcherTest, AnAlertResolvingInAGroupThatStillFiresIsNotifiedAtTheNextInterval) {
    build(true);
    Alert one = firing_alert("A", {{"run", "1"}}, clock.now());
    Alert two = firing_alert("A", {{"run", "2"}}, clock.now());
    dispatcher->put({one, two});
    advance_and_tick(30s);
    ASSERT_EQ(sent().size(), 1u);
    dispatcher->put({one, resolved(two, clock.now())});
    advance_and_tick(5min);
    auto bodies = sent();
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_STREQ(bodies[0]["status"].GetString(), "firing");
    auto names = alertnames(bodies[0]);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"A:firing", "A:resolved"}));
    // Told once: the next interval has nothing new.
    dispatcher->put({one});
    advance_and_tick(5min);
    EXPECT_TRUE(sent().empty());
}

// The rule engine re-sends a resolved alert every minute for 15 minutes (as Prometheus
// does); the resolution has been notified once and must not be notified again.
TEST_F(DispatcherTest, AResolvedAlertReSentEveryMinuteIsNotifiedOnce) {
    build(true);
    Alert a = firing_alert("A", {}, clock.now());
    dispatcher->put({a});
    advance_and_tick(30s);
    ASSERT_EQ(sent().size(), 1u);
    const Alert gone = resolved(a, clock.now());
    dispatcher->put({gone});
    advance_and_tick(5min);
    auto bodies = sent();
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_EQ(alertnames(bodies[0]), std::vector<std::string>{"A:resolved"});
    // Re-put at +1 m and +2 m after the resolution went out, ticking every 10 s through
    // two group_intervals after the last one.
    for (int minute = 1; minute <= 2; ++minute) {
        for (int s = 0; s < 60; s += 10) advance_and_tick(10s);
        dispatcher->put({gone});
        dispatcher->tick();
        EXPECT_TRUE(sent().empty()) << "the resolution notified again at +" << minute << " m";
    }
    for (int s = 0; s < 10 * 60; s += 10) advance_and_tick(10s);
    EXPECT_TRUE(sent().empty()) << "the resolution notified again after the re-sends";
}

TEST_F(DispatcherTest, WithoutSendResolvedTheResolutionIsSilentButRefiringIsNew) {
    build(false);
    Alert a = firing_alert("A", {}, clock.now());
    dispatcher->put({a});
    advance_and_tick(30s);
    ASSERT_EQ(sent().size(), 1u);
    dispatcher->put({resolved(a, clock.now())});
    advance_and_tick(5min);
    EXPECT_TRUE(sent().empty());
    a.starts_at = clock.now();
    dispatcher->put({a});
    advance_and_tick(30s);
    EXPECT_EQ(sent().size(), 1u);
}

TEST_F(DispatcherTest, AFiringAlertNoLongerSentIsResolvedAfterResolveTimeout) {
    build(true, "5m");
    const Alert a = firing_alert("A", {}, clock.now());
    dispatcher->put({a});
    advance_and_tick(30s);
    ASSERT_EQ(sent().size(), 1u);
    for (int i = 0; i < 3; ++i) {  // the rule engine re-sends it every minute for 3 minutes
        clock.advance(1min);
        dispatcher->put({a});
        dispatcher->tick();
    }
    advance_and_tick(2min);  // flush at 5m30s: last put 2m30s ago, under resolve_timeout
    EXPECT_TRUE(sent().empty());
    advance_and_tick(5min);  // 7m30s without it
    auto bodies = sent();
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_EQ(alertnames(bodies[0]), std::vector<std::string>{"A:resolved"});
    EXPECT_EQ(dispatcher->group_count(), 0u);
}

TEST_F(DispatcherTest, SilencesSuppressUntilTheyExpire) {
    build();
    auto m = std::get<metrics::Matcher>(metrics::parse_matcher("workflow_name=quiet"));
    auto id = silences->add(Silence{.matchers = {m}, .ends_at = clock.now() + 10min, .comment = "maintenance"});
    ASSERT_TRUE(std::holds_alternative<std::string>(id));
    dispatcher->put({firing_alert("A", {{"workflow_name", "quiet"}}, clock.now()),
                     firing_alert("A", {{"workflow_name", "loud"}}, clock.now())});
    advance_and_tick(30s);
    auto bodies = sent();
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_STREQ(bodies[0]["groupLabels"]["workflow_name"].GetString(), "loud");
    advance_and_tick(5min);
    EXPECT_TRUE(sent().empty());
    advance_and_tick(5min);  // the silence ended at 10m
    bodies = sent();
    ASSERT_EQ(bodies.size(), 1u);
    EXPECT_STREQ(bodies[0]["groupLabels"]["workflow_name"].GetString(), "quiet");
}

// After a restart the rule engine re-sends alerts that have been firing for a while; a
// group whose alerts already fired longer than group_wait is flushed at once, not
// group_wait later (Alertmanager does the same).
TEST_F(DispatcherTest, AGroupOfAnAlertFiringLongerThanGroupWaitIsFlushedAtOnce) {
    build();
    dispatcher->put({firing_alert("Old", {{"workflow_name", "w"}}, clock.now() - 10min)});
    advance_and_tick(1s);
    auto bodies = sent();
    ASSERT_EQ(bodies.size(), 1u) << "waited for group_wait (30s) although it fired 10m ago";
    EXPECT_EQ(alertnames(bodies[0]), std::vector<std::string>{"Old:firing"});
    // A fresh alert of another group still waits its group_wait.
    dispatcher->put({firing_alert("New", {{"workflow_name", "w"}}, clock.now())});
    advance_and_tick(1s);
    EXPECT_TRUE(sent().empty());
    advance_and_tick(29s);
    EXPECT_EQ(sent().size(), 1u);
}

TEST_F(DispatcherTest, ARestartDoesNotRepeatWhatWasNotified) {
    build();
    Alert a = firing_alert("A", {}, clock.now());
    dispatcher->put({a});
    advance_and_tick(30s);
    ASSERT_EQ(sent().size(), 1u);

    dispatcher.reset();
    outbox.reset();
    build();  // same SQLite file
    advance_and_tick(1min);
    dispatcher->put({a});  // the rule engine re-sends its current alerts
    advance_and_tick(30s);
    advance_and_tick(5min);
    EXPECT_TRUE(sent().empty());

    Alert b = firing_alert("B", {}, clock.now());
    dispatcher->put({a, b});
    advance_and_tick(30s);
    EXPECT_EQ(sent().size(), 1u);  // B is new
}

}  // namespace
}  // namespace cargomon::alerts::notify

namespace cargomon::alerts::notify {
namespace {

// A reload whose rule files no longer have a firing alert's rule: the rules stop putting
// it, and the new dispatcher must still resolve it after resolve_timeout. It was built
// empty, so the alert was forgotten and never resolved (issue 13).
TEST_F(DispatcherTest, AnAlertCarriedAcrossAReloadResolvesAfterResolveTimeout) {
    build(true, "1m");
    const SystemTime t0 = clock.now();
    dispatcher->put({firing_alert("Gone", {{"workflow_name", "w"}}, t0)});
    advance_and_tick(31s);
    ASSERT_EQ(sent().size(), 1u);  // the firing notification

    // The reload: a new dispatcher over the same outbox, adopting what the old one held.
    auto held = dispatcher->held();
    ASSERT_EQ(held.size(), 1u);
    dispatcher = std::make_unique<Dispatcher>(config, *receivers, *outbox, silences.get(), clock, registry);
    dispatcher->adopt(held);

    advance_and_tick(10s);
    EXPECT_TRUE(sent().empty()) << "nothing new until it times out";
    std::vector<std::string> resolved_names;
    for (int i = 0; i < 12 && resolved_names.empty(); ++i) {
        advance_and_tick(30s);
        for (const auto& body : sent())
            for (const auto& name : alertnames(body)) resolved_names.push_back(name);
    }
    EXPECT_EQ(resolved_names, std::vector<std::string>{"Gone:resolved"});
}

}  // namespace
}  // namespace cargomon::alerts::notify
