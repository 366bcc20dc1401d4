#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rapidjson/document.h>

#include <sys/wait.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <set>

#include "alerts/notify/delivery.h"
#include "alerts/notify/dispatcher.h"
#include "alerts/notify/receivers/slack.h"
#include "common/sqlite.h"
#include "fixtures.h"

namespace cargomon::alerts::notify {
namespace {

using namespace std::chrono_literals;
using testing::firing_alert;

// Dispatcher, outbox and delivery over one SQLite file, to a real loopback receiver.
class DeliveryTest : public ::testing::Test {
protected:
    void build(const std::string& integration_yaml, const std::string& delivery_yaml = "") {
        config = testing::config_from(R"(
external_url: http://cargomon.test:9464
delivery: {min_backoff: 1s, max_backoff: 30s)" + delivery_yaml + R"(}
route: {receiver: r, group_by: [alertname], group_wait: 0s, group_interval: 1m}
receivers:
  - name: r
)" + integration_yaml);
        open();
    }
    // (Re)creates every object over the same file, as a restarted daemon would.
    void open() {
        delivery.reset();
        dispatcher.reset();
        outbox.reset();
        receivers = std::make_unique<Receivers>(config);
        outbox = std::make_unique<Outbox>(dir.file("notify.db"), clock, config.delivery);
        registry = std::make_shared<prometheus::Registry>();
        dispatcher = std::make_unique<Dispatcher>(config, *receivers, *outbox, nullptr, clock, *registry);
        delivery = std::make_unique<Delivery>(*outbox, *receivers, clock, *registry);
    }
    std::string webhook() const { return "    webhook_configs: [{url: '" + receiver.url() + "'}]\n"; }
    // `n` groups with one new firing alert each, decided and queued.
    void notify(int n, const std::string& prefix = "A") {
        std::vector<Alert> alerts;
        for (int i = 0; i < n; ++i) alerts.push_back(firing_alert(prefix + std::to_string(i), {}, clock.now()));
        dispatcher->put(alerts);
        dispatcher->tick();
    }
    double outcome(const std::string& kind, const std::string& outcome) {
        return testing::sample(*registry, "cargomon_notifications_total",
                               {{"receiver", "r"}, {"integration", kind}, {"outcome", outcome}});
    }
    // Idempotency keys the receiver accepted (answered 2xx), with how often each came.
    std::map<std::string, int> accepted() const {
        std::map<std::string, int> keys;
        for (const auto& r : receiver.received()) {
            if (r.status / 100 == 2) ++keys[r.header("Idempotency-Key")];
        }
        return keys;
    }

    // The outbox's id of a notification: the order it was decided in.
    std::int64_t outbox_id(const std::string& key) const {
        sqlite::Database db(dir.file("notify.db"));
        sqlite::Statement s(db, "SELECT id FROM outbox WHERE idempotency_key = ?");
        s.bind(1, key);
        if (!s.step()) throw std::runtime_error("no outbox row for " + key);
        const std::int64_t id = s.int64(0);
        s.reset();
        return id;
    }

    testing::TempDir dir;
    testing::HttpReceiver receiver;
    FakeClock clock;
    config::AlertingConfig config;
    std::unique_ptr<Receivers> receivers;
    std::unique_ptr<Outbox> outbox;
    std::unique_ptr<Dispatcher> dispatcher;
    std::shared_ptr<prometheus::Registry> registry;
    std::unique_ptr<Delivery> delivery;
};

TEST_F(DeliveryTest, ReceiverDownThenUpGetsEveryNotificationExactlyOnce) {
    build(webhook());
    notify(20);
    // Connection refused: the first waits for its retry and the others behind it, so
    // they leave in the order decided once the receiver is back.
    EXPECT_EQ(delivery->run_due(), 1u);
    EXPECT_EQ(outcome("webhook", "retried"), 1);
    EXPECT_EQ(testing::sample(*registry, "cargomon_notification_outbox_length"), 20);
    for (int i = 0; i < 5; ++i) {  // several minutes down
        clock.advance(1min);
        delivery->run_due();
    }
    receiver.answer(503);
    receiver.start();
    clock.advance(1min);
    delivery->run_due();
    EXPECT_TRUE(accepted().empty());
    EXPECT_GE(receiver.received().size(), 1u);

    receiver.answer(200);
    clock.advance(1min);
    EXPECT_EQ(delivery->run_due(), 20u);
    std::vector<std::string> order;
    for (const auto& r : receiver.received())
        if (r.status == 200) order.push_back(r.header("Idempotency-Key"));
    for (std::size_t i = 1; i < order.size(); ++i)
        EXPECT_LT(outbox_id(order[i - 1]), outbox_id(order[i])) << "delivered out of the order decided";
    auto keys = accepted();
    EXPECT_EQ(keys.size(), 20u);
    for (const auto& [key, times] : keys) EXPECT_EQ(times, 1) << key;
    EXPECT_EQ(outcome("webhook", "delivered"), 20);
    EXPECT_EQ(testing::sample(*registry, "cargomon_notification_outbox_length"), 0);
    clock.advance(1h);
    EXPECT_EQ(delivery->run_due(), 0u);
}

// Each item has its own backoff: one decided during a long outage is due long before the
// first, which has failed more often. It still waits behind it, so a receiver back up
// never gets a group's resolved notification before its firing one.
TEST_F(DeliveryTest, AfterAnOutageNotificationsLeaveInTheOrderDecided) {
    build(webhook());
    notify(1, "A");
    for (int i = 0; i < 4; ++i) {  // refused four times: the next wait is 8 to 16 s
        delivery->run_due();
        clock.advance(30s);
    }
    EXPECT_EQ(delivery->run_due(), 1u);
    notify(1, "B");
    receiver.start();
    EXPECT_EQ(delivery->run_due(), 0u) << "B went before A, which was decided first";
    clock.advance(30s);
    EXPECT_EQ(delivery->run_due(), 2u);
    std::vector<std::string> order;
    for (const auto& r : receiver.received())
        if (r.status == 200) order.push_back(r.header("Idempotency-Key"));
    ASSERT_EQ(order.size(), 2u);
    EXPECT_LT(outbox_id(order[0]), outbox_id(order[1]));
}

TEST_F(DeliveryTest, ARestartNeitherLosesNorRepeats) {
    build(webhook());
    receiver.start();
    notify(3, "early");
    delivery->run_due();
    ASSERT_EQ(accepted().size(), 3u);

    receiver.stop();
    notify(5, "late");
    delivery->run_due();
    open();  // "kill": every object gone, only the file remains
    receiver.start();
    clock.advance(1min);
    dispatcher->put({firing_alert("early0", {}, clock.now() - 2min)});  // re-sent by the rule engine
    dispatcher->tick();
    delivery->run_due();
    auto keys = accepted();
    EXPECT_EQ(keys.size(), 8u);
    for (const auto& [key, times] : keys) EXPECT_EQ(times, 1) << key;
}

// A process that began a send and died before it recorded the answer (the "sending" mark
// is on disk before the request leaves): its successor sends it again, same key, and
// counts that the receiver may have it twice; a send that was answered is not counted.
TEST_F(DeliveryTest, ASendCutByAKillIsSentAgainAndCountedAsARedelivery) {
    build(webhook());
    notify(2, "cut");
    const auto due = outbox->due(2);
    ASSERT_EQ(due.size(), 2u);
    EXPECT_FALSE(outbox->begin_send(due[0].id));  // the first send of it: no redelivery
    open();  // "kill" mid-send: only the file remains
    receiver.start();
    delivery->run_due();
    auto keys = accepted();
    EXPECT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[due[0].idempotency_key], 1);
    EXPECT_EQ(testing::sample(*registry, "cargomon_notifications_redelivered_total",
                              {{"receiver", "r"}, {"integration", "webhook"}}),
              1);
    EXPECT_EQ(outcome("webhook", "delivered"), 2);
    // Answered sends leave no mark: a further restart counts nothing more.
    open();
    clock.advance(1min);
    delivery->run_due();
    EXPECT_EQ(testing::sample(*registry, "cargomon_notifications_redelivered_total",
                              {{"receiver", "r"}, {"integration", "webhook"}}),
              0);
    EXPECT_EQ(accepted().size(), 2u);
}

TEST_F(DeliveryTest, ClientErrorsAreNotRetriedButTooManyRequestsIs) {
    build(webhook());
    receiver.start();
    receiver.answer(400);
    notify(1, "bad");
    delivery->run_due();
    EXPECT_EQ(outcome("webhook", "failed"), 1);
    receiver.answer(429);
    notify(1, "busy");
    delivery->run_due();
    EXPECT_EQ(outcome("webhook", "retried"), 1);
    receiver.answer(200);
    clock.advance(2min);
    delivery->run_due();
    EXPECT_EQ(receiver.received().size(), 3u);  // 400 once, 429 once, then 200 for "busy" only
    EXPECT_EQ(outcome("webhook", "delivered"), 1);
}

TEST_F(DeliveryTest, KillNineMidDeliveryLosesNothing) {
    build(webhook());
    receiver.delay_answers(20ms);
    receiver.start();
    notify(40);
    delivery.reset();  // the child opens its own connection: none may cross the fork
    dispatcher.reset();
    outbox.reset();

    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        open();
        delivery->run_due();
        ::_exit(0);
    }
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (receiver.received().size() < 10 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(5ms);
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child finished before it could be killed";
    const std::size_t before_restart = accepted().size();
    EXPECT_LT(before_restart, 40u);

    open();
    clock.advance(1min);
    delivery->run_due();
    auto keys = accepted();
    EXPECT_EQ(keys.size(), 40u);  // none lost
    int duplicates = 0;
    for (const auto& [key, times] : keys) duplicates += times - 1;
    EXPECT_LE(duplicates, 1);  // at most the one in flight when killed, same key
}

TEST_F(DeliveryTest, NotificationsOlderThanMaxAgeAreDropped) {
    build(webhook(), ", max_age: 10m");
    notify(2);
    const std::string key = outbox->due(1).at(0).idempotency_key;
    for (int i = 0; i < 12; ++i) {
        delivery->run_due();
        clock.advance(1min);
    }
    delivery->run_due();
    EXPECT_EQ(outcome("webhook", "dropped"), 2);
    EXPECT_EQ(outbox->pending_count(), 0u);
    EXPECT_EQ(outbox->state(key), OutboxState::dropped);
    receiver.start();
    clock.advance(1h);
    delivery->run_due();
    EXPECT_TRUE(receiver.received().empty());
    EXPECT_THROW(outbox->state(key), std::runtime_error);  // pruned after max_age
}

// docs/alerting.md, Delivery guarantees: retries back off from min_backoff doubling up to
// max_backoff, each delay drawn from the upper half of its step (jitter). The receiver is
// down throughout; the fake clock is moved to each next attempt.
TEST_F(DeliveryTest, RetriesBackOffFromMinBackoffDoublingToMaxBackoffWithJitter) {
    build(webhook(), ", max_age: 1h");  // min_backoff 1s, max_backoff 30s
    const Millis steps[] = {1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s};
    std::vector<double> fractions;  // delay / step
    for (int round = 0; round < 12; ++round) {
        // A dispatcher of its own per round: the earlier rounds' alerts, never re-put, would
        // otherwise be resolved (and notified) after resolve_timeout.
        dispatcher = std::make_unique<Dispatcher>(config, *receivers, *outbox, nullptr, clock, *registry);
        notify(1, "round" + std::to_string(round) + "-");
        const std::string key = outbox->due(1).at(0).idempotency_key;
        for (std::size_t attempt = 0; attempt < std::size(steps); ++attempt) {
            ASSERT_EQ(delivery->run_due(), 1u) << "round " << round << " attempt " << attempt;
            const auto next = outbox->next_attempt();
            ASSERT_TRUE(next);
            const auto delay = std::chrono::duration_cast<Millis>(*next - clock.monotonic());
            const Millis step = steps[attempt];
            EXPECT_GE(delay, step / 2) << "attempt " << attempt;
            EXPECT_LE(delay, step) << "attempt " << attempt;
            fractions.push_back(static_cast<double>(delay.count()) / static_cast<double>(step.count()));
            // Not tried before its time.
            clock.advance(delay - 1ms);
            EXPECT_EQ(delivery->run_due(), 0u) << "retried early, attempt " << attempt;
            clock.advance(1ms);
        }
        outbox->mark(outbox->due(1).at(0).id, OutboxState::failed, "next round");
        EXPECT_EQ(outbox->state(key), OutboxState::failed);
    }
    // Jitter: the delays spread over the upper half of their steps instead of one point.
    const auto [lo, hi] = std::minmax_element(fractions.begin(), fractions.end());
    EXPECT_LT(*lo, 0.65);
    EXPECT_GT(*hi, 0.85);
    EXPECT_GT(std::set<double>(fractions.begin(), fractions.end()).size(), fractions.size() / 2);
    EXPECT_TRUE(receiver.received().empty());
}

// docs/alerting.md: notifications for a receiver removed by a config reload fail (logged)
// instead of going to the wrong place. The reload is what alerts::Engine::replace does: new
// config, receivers, dispatcher and delivery over the same outbox.
TEST_F(DeliveryTest, NotificationsForAReceiverRemovedByAReloadFailInsteadOfGoingElsewhere) {
    build(webhook());
    notify(1, "queued");  // the receiver is down: it stays pending for r
    EXPECT_EQ(delivery->run_due(), 1u);
    ASSERT_EQ(outbox->pending_count(), 1u);

    delivery.reset();
    dispatcher.reset();
    config = testing::config_from(R"(
external_url: http://cargomon.test:9464
delivery: {min_backoff: 1s, max_backoff: 30s}
route: {receiver: other, group_by: [alertname], group_wait: 0s, group_interval: 1m}
receivers:
  - name: other
    webhook_configs: [{url: ')" + receiver.url("/other") + "'}]\n");
    receivers = std::make_unique<Receivers>(config);
    dispatcher = std::make_unique<Dispatcher>(config, *receivers, *outbox, nullptr, clock, *registry);
    delivery = std::make_unique<Delivery>(*outbox, *receivers, clock, *registry);

    receiver.start();
    clock.advance(1min);
    delivery->run_due();
    EXPECT_TRUE(receiver.received().empty()) << "a notification for r went to " << receiver.received()[0].path;
    EXPECT_EQ(outbox->pending_count(), 0u);
    EXPECT_EQ(testing::sample(*registry, "cargomon_notifications_total",
                              {{"receiver", "r"}, {"integration", "unknown"}, {"outcome", "failed"}}),
              1);
    // The new route and receiver take effect for what is decided after the reload.
    notify(1, "after");
    delivery->run_due();
    ASSERT_EQ(receiver.received().size(), 1u);
    EXPECT_EQ(receiver.received()[0].path, "/other");
}

// Polls `done` in real time (delivery workers run on their own threads) for up to `limit`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    for (auto until = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < until;) {
        if (done()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

// docs/alerting.md, Delivery: each integration sends on its own worker. The receiver's
// first webhook accepts connections and never answers (10 s timeout); its second one gets
// every notification meanwhile, and stopping does not wait for the first.
TEST_F(DeliveryTest, AHangingWebhookDelaysNoOtherIntegrationAndStopKeepsItsItems) {
    testing::HangingListener hang;
    build("    webhook_configs:\n      - {url: '" + hang.url() + "'}\n      - {url: '" + receiver.url() + "'}\n");
    receiver.start();
    delivery->start();
    notify(3);
    delivery->wake();
    EXPECT_TRUE(eventually([&] { return accepted().size() == 3; }, 5s)) << accepted().size() << " of 3 delivered";

    const auto before = std::chrono::steady_clock::now();
    delivery->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 3s) << "stop waited on the hanging request";
    // The hanging webhook's three stay pending, untouched by the cancelled request.
    EXPECT_EQ(outbox->pending_count(), 3u);
    EXPECT_EQ(outcome("webhook", "retried"), 0);

    // Next start, with that webhook answering again (here: pointed at a live receiver),
    // they go out at once.
    testing::HttpReceiver back;
    back.start();
    config = testing::config_from(R"(
route: {receiver: r, group_by: [alertname], group_wait: 0s, group_interval: 1m}
receivers:
  - name: r
    webhook_configs:
      - {url: ')" + back.url() + "'}\n      - {url: '" + receiver.url() + "'}\n");
    open();
    EXPECT_EQ(delivery->run_due(), 3u);
    EXPECT_EQ(back.accepted().size(), 3u);
    EXPECT_EQ(accepted().size(), 3u);  // the healthy one got nothing twice
}

// Issue 10: the notification log and the outbox are pruned on different clocks. When the
// log forgot a resolved group whose outbox rows were still kept, the group's count
// restarted, the alert firing again got the key of its first notification, the insert
// hit UNIQUE and every tick() threw from then on.
TEST_F(DeliveryTest, AnAlertFiringAgainAfterTheLogIsPrunedIsNotified) {
    build(webhook(), ", max_age: 10m");
    const Alert a = firing_alert("Again", {}, clock.now());
    dispatcher->put({a});
    dispatcher->tick();  // firing, decided at t0; the receiver is down
    clock.advance(1min);
    dispatcher->put({testing::resolved(a, clock.now())});
    dispatcher->tick();  // resolved, decided at t0+1m: the log says nothing fires
    clock.advance(8min);
    receiver.start();
    EXPECT_EQ(delivery->run_due(), 2u);  // both delivered at t0+9m
    ASSERT_EQ(accepted().size(), 2u);
    clock.advance(3min);
    outbox->prune();  // the log entry (t0+1m) is past max_age, the delivered rows (t0+9m) not

    dispatcher->put({firing_alert("Again", {}, clock.now())});
    EXPECT_NO_THROW(dispatcher->tick());
    EXPECT_EQ(delivery->run_due(), 1u);
    EXPECT_EQ(accepted().size(), 3u);
    EXPECT_EQ(testing::sample(*registry, "cargomon_notification_group_failures_total", {{"receiver", "r"}}), 0);
}

// Issue 10: a group whose flush fails is logged, counted and retried; the groups after it
// are flushed all the same. The failure is SQLite's own, raised by a trigger for one group.
TEST_F(DeliveryTest, AFailingGroupIsCountedAndRetriedWhileTheOthersGoOn) {
    build(webhook());
    {
        sqlite::Database db(dir.file("notify.db"));
        db.exec("CREATE TRIGGER fail_one BEFORE INSERT ON notify_log WHEN NEW.group_key LIKE '%A-bad%' "
                "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    }
    receiver.start();
    dispatcher->put({firing_alert("A-bad", {}, clock.now()), firing_alert("B-good", {}, clock.now())});
    EXPECT_EQ(dispatcher->tick(), 1u);  // "A-bad" fails first; "B-good" is queued anyway
    EXPECT_EQ(testing::sample(*registry, "cargomon_notification_group_failures_total", {{"receiver", "r"}}), 1);
    delivery->run_due();
    ASSERT_EQ(receiver.accepted().size(), 1u);
    EXPECT_NE(receiver.accepted()[0].body.find("B-good"), std::string::npos);

    sqlite::Database(dir.file("notify.db")).exec("DROP TRIGGER fail_one");
    clock.advance(10s);
    EXPECT_EQ(dispatcher->tick(), 1u);  // the failed group, retried
    delivery->run_due();
    ASSERT_EQ(receiver.accepted().size(), 2u);
    EXPECT_NE(receiver.accepted()[1].body.find("A-bad"), std::string::npos);
}

// Issue 10: flushes and retries wait on monotonic time. The wall clock steps back a day
// (a retry and a group flush would stall for that day) and then forward two (past
// max_age: pending notifications would be dropped); neither happens.
TEST_F(DeliveryTest, WallClockStepsNeitherStallNorDropFlushesOrRetries) {
    build(webhook(), ", max_age: 10m");
    notify(1, "A");  // the receiver is down: retried in about a second
    EXPECT_EQ(delivery->run_due(), 1u);

    clock.set(clock.now() - 24h);
    clock.advance(2s);
    EXPECT_EQ(delivery->run_due(), 1u) << "the retry stalled behind the wall clock";
    dispatcher->put({firing_alert("A0", {{"node", "2"}}, clock.now())});  // joins group A0
    clock.advance(1min);
    EXPECT_EQ(dispatcher->tick(), 1u) << "the group's flush stalled behind the wall clock";

    clock.set(clock.now() + 48h);
    receiver.start();
    clock.advance(1min);
    delivery->run_due();
    EXPECT_EQ(outcome("webhook", "dropped"), 0);
    EXPECT_EQ(accepted().size(), 2u);
    EXPECT_EQ(outbox->pending_count(), 0u);
}

std::string hmac_hex(const std::string& key, const std::string& text) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
         text.size(), mac, &len);
    std::string hex;
    char buf[3];
    for (unsigned i = 0; i < len; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", mac[i]);
        hex += buf;
    }
    return hex;
}

std::set<std::string> keys_of(const rapidjson::Value& object) {
    std::set<std::string> keys;
    for (const auto& m : object.GetObject()) keys.insert(m.name.GetString());
    return keys;
}

TEST_F(DeliveryTest, WebhookBodyIsAlertmanagerV4AndSigned) {
    build("    webhook_configs: [{url: '" + receiver.url() +
          "', hmac_secret: k3y, bearer_token: tok, headers: {X-Team: ops}, max_alerts: 2}]\n");
    receiver.start();
    std::vector<Alert> alerts;
    for (const char* node : {"a", "b", "c"}) alerts.push_back(firing_alert("Slow", {{"node", node}, {"severity", "page"}}, clock.now()));
    dispatcher->put(alerts);
    dispatcher->tick();
    delivery->run_due();
    ASSERT_EQ(receiver.received().size(), 1u);
    const testing::Received got = receiver.received()[0];
    EXPECT_EQ(got.header("Authorization"), "Bearer tok");
    EXPECT_EQ(got.header("X-Team"), "ops");
    EXPECT_EQ(got.header("Content-Type"), "application/json");

    const std::string sig = got.header("X-Cargomon-Signature");
    const std::size_t comma = sig.find(",v1=");
    ASSERT_TRUE(sig.starts_with("t=") && comma != std::string::npos) << sig;
    const std::string t = sig.substr(2, comma - 2);
    EXPECT_EQ(t, std::to_string(std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count()));
    EXPECT_EQ(sig.substr(comma + 4), hmac_hex("k3y", t + "." + got.body));
    EXPECT_NE(sig.substr(comma + 4), hmac_hex("other", t + "." + got.body));

    rapidjson::Document body;
    body.Parse(got.body);
    ASSERT_FALSE(body.HasParseError());
    EXPECT_EQ(keys_of(body), (std::set<std::string>{"version", "groupKey", "truncatedAlerts", "status", "receiver",
                                                    "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
                                                    "alerts"}));
    EXPECT_STREQ(body["version"].GetString(), "4");
    EXPECT_STREQ(body["status"].GetString(), "firing");
    EXPECT_STREQ(body["receiver"].GetString(), "r");
    EXPECT_STREQ(body["externalURL"].GetString(), "http://cargomon.test:9464");
    EXPECT_STREQ(body["groupKey"].GetString(), "{}:{alertname=\"Slow\"}");
    EXPECT_EQ(body["truncatedAlerts"].GetInt(), 1);
    EXPECT_EQ(keys_of(body["groupLabels"]), std::set<std::string>{"alertname"});
    EXPECT_EQ(keys_of(body["commonLabels"]), (std::set<std::string>{"alertname", "severity"}));
    ASSERT_EQ(body["alerts"].Size(), 2u);
    const auto& a = body["alerts"][0];
    EXPECT_EQ(keys_of(a), (std::set<std::string>{"status", "labels", "annotations", "startsAt", "endsAt",
                                                 "generatorURL", "fingerprint"}));
    EXPECT_STREQ(a["endsAt"].GetString(), "0001-01-01T00:00:00Z");
    EXPECT_STREQ(a["generatorURL"].GetString(), "http://cargomon.test/rules");
}

// Block Kit rules the message must keep (api.slack.com/reference/block-kit/blocks).
void expect_valid_block_kit(const rapidjson::Document& msg) {
    ASSERT_TRUE(msg.IsObject());
    ASSERT_TRUE(msg.HasMember("text") && msg["text"].IsString());  // notification fallback
    const auto& blocks = msg["blocks"];
    ASSERT_TRUE(blocks.IsArray());
    EXPECT_LE(blocks.Size(), 50u);
    auto text_object = [](const rapidjson::Value& t, std::size_t max) {
        ASSERT_TRUE(t.IsObject());
        std::string type = t["type"].GetString();
        EXPECT_TRUE(type == "mrkdwn" || type == "plain_text") << type;
        EXPECT_LE(std::string(t["text"].GetString()).size(), max);
        EXPECT_GT(std::string(t["text"].GetString()).size(), 0u);
    };
    for (const auto& b : blocks.GetArray()) {
        const std::string type = b["type"].GetString();
        if (type == "header") {
            EXPECT_STREQ(b["text"]["type"].GetString(), "plain_text");
            text_object(b["text"], 150);
        } else if (type == "section") {
            text_object(b["text"], 3000);
            if (b.HasMember("fields")) {
                EXPECT_LE(b["fields"].Size(), 10u);
                for (const auto& f : b["fields"].GetArray()) text_object(f, 2000);
            }
        } else if (type == "context") {
            EXPECT_LE(b["elements"].Size(), 10u);
            for (const auto& e : b["elements"].GetArray()) text_object(e, 2000);
        } else if (type == "actions") {
            for (const auto& e : b["elements"].GetArray()) {
                EXPECT_STREQ(e["type"].GetString(), "button");
                EXPECT_STREQ(e["text"]["type"].GetString(), "plain_text");
                EXPECT_TRUE(std::string(e["url"].GetString()).starts_with("http"));
            }
        } else {
            ADD_FAILURE() << "unexpected block type " << type;
        }
    }
}

TEST_F(DeliveryTest, SlackMessagesKeepBlockKitStructure) {
    build("    slack_configs: [{api_url: '" + receiver.url("/services/T/B/X") + "', channel: '#ops'}]\n");
    receiver.start();
    std::vector<Alert> alerts;
    const std::string long_name = "Failing" + std::string(200, 'g');  // over the header's 150 characters
    for (int i = 0; i < 60; ++i) {
        Alert a = firing_alert(long_name, {{"node", std::to_string(i)}, {"severity", "critical"}, {"workflow_name", "billing"}},
                               clock.now());
        a.annotations.emplace_back("runbook_url", "https://runbooks.test/failing");
        a.annotations.front().second = "disk <b> full";
        alerts.push_back(a);
    }
    alerts[0].annotations.front().second = std::string(4000, 'x');  // over a section's 3000
    dispatcher->put(alerts);
    dispatcher->tick();
    delivery->run_due();
    ASSERT_EQ(receiver.received().size(), 1u);
    EXPECT_EQ(receiver.received()[0].path, "/services/T/B/X");
    rapidjson::Document firing;
    firing.Parse(receiver.received()[0].body);
    expect_valid_block_kit(firing);
    EXPECT_STREQ(firing["channel"].GetString(), "#ops");
    EXPECT_NE(std::string(firing["blocks"][0]["text"]["text"].GetString()).find("FIRING"), std::string::npos);
    const std::string body = receiver.received()[0].body;
    EXPECT_NE(body.find("*Severity*\\ncritical"), std::string::npos);
    EXPECT_NE(body.find("*Workflow*\\nbilling"), std::string::npos);
    EXPECT_NE(body.find("*Value*\\n42"), std::string::npos);
    EXPECT_NE(body.find("&lt;b&gt;"), std::string::npos);  // mrkdwn control characters escaped
    EXPECT_NE(body.find("more not shown"), std::string::npos);

    Notification resolved_one{.receiver = "r", .group_key = "g", .group_labels = {{"alertname", long_name}},
                              .alerts = {testing::resolved(alerts[1], clock.now())}};
    rapidjson::Document resolved_msg;
    resolved_msg.Parse(render_slack_body(resolved_one, ""));
    expect_valid_block_kit(resolved_msg);
    EXPECT_NE(std::string(resolved_msg["blocks"][0]["text"]["text"].GetString()).find("RESOLVED"), std::string::npos);
    EXPECT_FALSE(resolved_msg.HasMember("channel"));
}

}  // namespace
}  // namespace cargomon::alerts::notify
