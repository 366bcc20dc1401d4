// The real daemon with six webhooks that accept connections and never answer (10 s
// timeout each) beside a healthy one (issue 10): the healthy one is notified, and the
// alerts API, a reload and SIGTERM all answer promptly while the six requests hang.
#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "fixtures.h"
#include "tests/daemon/daemon_process.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

TEST(DeliveryDaemon, SixHangingWebhooksDelayNeitherTheApiNorAReloadNorSigterm) {
    std::vector<std::unique_ptr<alerts::notify::testing::HangingListener>> hanging;
    std::string hooks;
    for (int i = 0; i < 6; ++i)
        hooks += "          - {url: '" + hanging.emplace_back(std::make_unique<alerts::notify::testing::HangingListener>())->url() +
                 "'}\n";
    HttpReceiver healthy;
    healthy.start();
    TempDir dir;
    const auto rules = dir.write("r.yml", "groups:\n  - name: g\n    interval: 1s\n    rules:\n"
                                          "      - alert: Always\n        expr: cargomon_build_info > 0\n");
    DaemonProcess daemon("api_url: http://127.0.0.1:9\ntoken: not-a-real-token\n"
                         "defaults: {interval: 30s, timeout: 1s}\ncollectors:\n  - {name: discovery, kind: discovery}\n"
                         "rule_files: [" + rules + "]\n"
                         "alerting:\n  route:\n    receiver: ok\n    group_wait: 0s\n    routes:\n"
                         "      - {receiver: hang, continue: true}\n      - {receiver: ok}\n"
                         "  receivers:\n    - name: hang\n      webhook_configs:\n" + hooks +
                         "    - name: ok\n      webhook_configs: [{url: '" + healthy.url() + "'}]\n",
                         {.extra_args = {"--web.enable-lifecycle"}, .wait_ready = false});
    bool notified = false;
    for (auto until = Steady::now() + 30s; !notified && Steady::now() < until; std::this_thread::sleep_for(100ms))
        notified = !healthy.accepted().empty();
    ASSERT_TRUE(notified) << daemon.log();
    std::this_thread::sleep_for(500ms);  // the six requests are in flight

    auto started = Steady::now();
    const HttpAnswer alerts = daemon.get("/api/v1/alerts");
    EXPECT_EQ(alerts.status, 200);
    EXPECT_LT(Steady::now() - started, 2s) << "GET /api/v1/alerts waited on a delivery";

    started = Steady::now();
    const HttpAnswer reload = daemon.post("/-/reload");
    EXPECT_EQ(reload.status, 200) << reload.body;
    EXPECT_LT(Steady::now() - started, 3s) << "the reload waited on a delivery";

    std::this_thread::sleep_for(500ms);  // in flight again, from the reloaded delivery
    started = Steady::now();
    EXPECT_EQ(daemon.process().stop(20s), 0) << daemon.log();
    EXPECT_LT(Steady::now() - started, 5s) << "SIGTERM waited on a delivery";
}

}  // namespace
}  // namespace cargomon::testing
