// A real Alertmanager (the Debian package) takes our POST /api/v2/alerts and forwards
// the alerts to a webhook on loopback: firing, then resolved.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <thread>

#include "alerts/delivery.h"
#include "alerts/dispatcher.h"
#include "common/process.h"
#include "fixtures.h"

namespace cargomon::alerts {
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

std::vector<std::string> statuses_of(const testing::Receiver& hook, const std::string& alertname) {
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
    const std::string binary = find_executable("prometheus-alertmanager");
    if (binary.empty()) GTEST_SKIP() << "prometheus-alertmanager is not installed";
    testing::TempDir dir;
    testing::Receiver hook;
    hook.start();
    {
        std::ofstream(dir.file("am.yml")) << "route:\n  receiver: hook\n  group_wait: 100ms\n  group_interval: 1s\n"
                                             "  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n"
                                             "      - url: '"
                                          << hook.url("/from-am") << "'\n        send_resolved: true\n";
    }
    const int am_port = free_loopback_port();
    Process am({.argv = {binary, "--config.file=" + dir.file("am.yml"),
                         "--web.listen-address=127.0.0.1:" + std::to_string(am_port),
                         "--storage.path=" + dir.file("am-data"), "--cluster.listen-address="},
                .output_file = dir.file("am.log")});
    httplib::Client probe("127.0.0.1", am_port);
    ASSERT_TRUE(eventually([&] {
        auto res = probe.Get("/-/ready");
        return res && res->status == 200;
    })) << "Alertmanager did not become ready";

    SystemClock clock;
    AlertingConfig config = testing::config_from(
        "route: {receiver: am, group_wait: 0s, group_interval: 1s}\nreceivers:\n  - name: am\n"
        "    alertmanager_configs: [{url: 'http://127.0.0.1:" +
        std::to_string(am_port) + "'}]\n");
    Receivers receivers(config);
    Outbox outbox(dir.file("notify.db"), clock, config.delivery);
    Dispatcher dispatcher(config, receivers, outbox, nullptr, clock);
    prometheus::Registry registry;
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
    auto listed = probe.Get("/api/v2/alerts");
    ASSERT_TRUE(listed);
    EXPECT_NE(listed->body.find("http://cargomon.test/rules"), std::string::npos) << listed->body;
    EXPECT_NE(listed->body.find("\"workflow_name\":\"billing\""), std::string::npos);

    std::this_thread::sleep_for(1100ms);  // our group_interval
    dispatcher.put({testing::resolved(alert, clock.now())});
    dispatcher.tick();
    delivery.run_due();
    EXPECT_TRUE(eventually([&] {
        auto s = statuses_of(hook, "CargoRunsFailing");
        return std::find(s.begin(), s.end(), "resolved") != s.end();
    }));
}

}  // namespace
}  // namespace cargomon::alerts
