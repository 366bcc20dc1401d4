// A real Alertmanager (the Debian package) takes our POST /api/v2/alerts and forwards
// the alerts to a webhook on loopback: firing, then resolved.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <thread>

#include "alerts/notify/delivery.h"
#include "alerts/notify/dispatcher.h"
#include "common/process.h"
#include "common/timefmt.h"
#include "fixtures.h"
#include "tests/support/prom_process.h"
#include "tests/support/tools.h"

namespace cargomon::alerts::notify {
namespace {

using namespace std::chrono_literals;

// Polls `done` in real time for up to `limit`.
template <typename F>
bool eventually(F done, std::chrono::milliseconds limit = 20s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(100ms);
    }
    return done();
}

std::vector<std::string> statuses_of(const testing::HttpReceiver& hook, const std::string& alertname) {
    std::vector<std::string> out;
    for (const auto& r : hook.received()) {
        rapidjson::Document body;
        body.Parse(r.body);
        if (body.HasParseError() || !body.IsObject()) continue;
        for (const auto& a : body["alerts"].GetArray()) {
            if (alertname == a["labels"]["alertname"].GetString()) out.push_back(a["status"].GetString());
        }
    }
    return out;
}

TEST(RealAlertmanager, ReceivesOurAlertsAndForwardsThem) {
    CARGOMON_REQUIRE_TOOL(!find_executable("prometheus-alertmanager").empty(), "prometheus-alertmanager is not installed");
    testing::TempDir dir;
    testing::HttpReceiver hook;
    hook.start();
    cargomon::testing::AlertmanagerServer am(
        "route:\n  receiver: hook\n  group_wait: 100ms\n  group_interval: 1s\n  repeat_interval: 1h\n"
        "receivers:\n  - name: hook\n    webhook_configs:\n      - url: '" +
        hook.url("/from-am") + "'\n        send_resolved: true\n");
    const int am_port = am.port();

    SystemClock clock;
    config::AlertingConfig config = testing::config_from(
        "route: {receiver: am, group_wait: 0s, group_interval: 1s}\nreceivers:\n  - name: am\n"
        "    alertmanager_configs: [{url: 'http://127.0.0.1:" +
        std::to_string(am_port) + "'}]\n");
    Receivers receivers(config);
    Outbox outbox(dir.file("notify.db"), clock, config.delivery);
    prometheus::Registry registry;
    Dispatcher dispatcher(config, receivers, outbox, nullptr, clock, registry);
    Delivery delivery(outbox, receivers, clock, registry);

    Alert alert = testing::firing_alert("CargoRunsFailing", {{"workflow_name", "billing"}}, clock.now());
    dispatcher.put({alert});
    dispatcher.tick();
    delivery.run_due();
    EXPECT_EQ(testing::sample(registry, "cargomon_notifications_total",
                              {{"receiver", "am"}, {"integration", "alertmanager"}, {"outcome", "delivered"}}),
              1);
    ASSERT_TRUE(eventually([&] { return !statuses_of(hook, "CargoRunsFailing").empty(); }));
    EXPECT_EQ(statuses_of(hook, "CargoRunsFailing").front(), "firing");
    EXPECT_EQ(hook.received().front().path, "/from-am");

    // Alertmanager's own view has our generatorURL and workflow label.
    auto listed = am.get_json("/api/v2/alerts");
    ASSERT_EQ(listed.Size(), 1u);
    EXPECT_STREQ(listed[0]["generatorURL"].GetString(), "http://cargomon.test/rules");
    EXPECT_STREQ(listed[0]["labels"]["workflow_name"].GetString(), "billing");

    std::this_thread::sleep_for(1100ms);  // our group_interval
    dispatcher.put({testing::resolved(alert, clock.now())});
    dispatcher.tick();
    delivery.run_due();
    EXPECT_TRUE(eventually([&] {
        auto s = statuses_of(hook, "CargoRunsFailing");
        return std::find(s.begin(), s.end(), "resolved") != s.end();
    }));
}

// docs/alerting.md, Alertmanager: while an alert fires it is re-sent at every
// group_interval flush (repeat_interval is an hour here) with endsAt four group intervals
// ahead; a resolved alert is sent with its real endsAt. Every request carries the
// configured credentials. A loopback receiver stands in for Alertmanager, with the fake
// clock driving the dispatcher.
class AlertmanagerResend : public ::testing::Test {
protected:
    void run(const std::string& auth_yaml, const std::string& expected_authorization) {
        hook.start();
        config::AlertingConfig config = testing::config_from(
            "route: {receiver: am, group_wait: 0s, group_interval: 30s, repeat_interval: 1h}\nreceivers:\n  - name: am\n"
            "    alertmanager_configs: [{url: '" + hook.url("") + "'" + auth_yaml + "}]\n");
        Receivers receivers(config);
        Outbox outbox(dir.file("notify.db"), clock, config.delivery);
        prometheus::Registry registry;
        Dispatcher dispatcher(config, receivers, outbox, nullptr, clock, registry);
        Delivery delivery(outbox, receivers, clock, registry);

        const Alert alert = testing::firing_alert("CargoRunsFailing", {{"workflow_name", "billing"}}, clock.now());
        std::vector<SystemTime> flushed_at;
        for (int i = 0; i < 4; ++i) {  // the rule engine re-sends it; the group flushes every 30 s
            dispatcher.put({alert});
            dispatcher.tick();
            delivery.run_due();
            flushed_at.push_back(clock.now());
            clock.advance(30s);
        }
        const SystemTime resolved_at = clock.now() - 10s;
        dispatcher.put({testing::resolved(alert, resolved_at)});
        dispatcher.tick();
        delivery.run_due();

        const auto got = hook.received();
        ASSERT_EQ(got.size(), 5u) << "one POST per group_interval flush while firing, then the resolution";
        for (std::size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].path, "/api/v2/alerts");
            EXPECT_EQ(got[i].header("Authorization"), expected_authorization) << "request " << i;
            rapidjson::Document body;
            body.Parse(got[i].body);
            ASSERT_TRUE(body.IsArray() && body.Size() == 1u) << got[i].body;
            const auto& a = body[0];
            EXPECT_STREQ(a["labels"]["alertname"].GetString(), "CargoRunsFailing");
            EXPECT_EQ(parse_iso8601(a["startsAt"].GetString()), alert.starts_at);
            const auto ends = parse_iso8601(a["endsAt"].GetString());
            ASSERT_TRUE(ends) << a["endsAt"].GetString();
            if (i < 4)
                EXPECT_EQ(*ends, flushed_at[i] + 4 * 30s) << "request " << i << ": endsAt " << a["endsAt"].GetString();
            else
                EXPECT_EQ(*ends, resolved_at) << "the resolution carries the real endsAt";
        }
    }

    testing::TempDir dir;
    testing::HttpReceiver hook;
    FakeClock clock;
};

TEST_F(AlertmanagerResend, FiringAlertsGoEveryGroupIntervalWithEndsAtFourIntervalsAheadAndBearerAuth) {
    run(", bearer_token: am-secret-token", "Bearer am-secret-token");
}

TEST_F(AlertmanagerResend, BasicAuthIsSentOnEveryRequest) {
    run(", basic_auth: {username: cargomon, password: 's3cret'}", "Basic Y2FyZ29tb246czNjcmV0");
}

}  // namespace
}  // namespace cargomon::alerts::notify
