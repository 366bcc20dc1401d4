// The alert engine under faults: a state save that fails does not hold
// notifications back, and receivers that hang hold back neither a reload nor a stop.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <fstream>
#include <thread>

#include "alerts/rules/rules.h"
#include "common/sqlite.h"
#include "alerts/engine.h"
#include "tests/alerts/notify/fixtures.h"
#include "metrics/metric_store.h"

namespace cargomon::alerts {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

class EngineFaults : public ::testing::Test {
protected:
    void SetUp() override {
        metrics::Family up{.name = "test_up", .help = "1", .type = metrics::MetricType::gauge, .samples = {}};
        up.samples.push_back({{{"node", "a"}}, 1});
        store.publish("test", metrics::Snapshot{{std::move(up)}}, clock.now());
        const std::string rules = dir.file("r.yml");
        std::ofstream(rules) << "groups:\n  - name: g\n    interval: 1s\n    rules:\n"
                                "      - alert: Up\n        expr: test_up > 0\n";
        groups = std::get<std::vector<rules::RuleGroup>>(rules::load_rule_files({rules}));
    }
    EngineSetup setup(const std::string& alerting_yaml) {
        return EngineSetup{.groups = groups, .alerting = notify::testing::config_from(alerting_yaml)};
    }
    static bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
        for (auto until = Steady::now() + limit; Steady::now() < until; std::this_thread::sleep_for(20ms))
            if (done()) return true;
        return done();
    }

    notify::testing::TempDir dir;
    SystemClock clock;
    metrics::MetricStore store;
    prometheus::Registry registry;
    std::vector<rules::RuleGroup> groups;
    notify::testing::HttpReceiver receiver;
};

// Issue 10: `state_->save(...); dispatcher_->tick();` skipped dispatch whenever the save
// threw. Every write to the alert state fails here (SQLite's own error, from a trigger).
TEST_F(EngineFaults, AFailingStateSaveHoldsNoNotificationBack) {
    receiver.start();
    const std::string db = dir.file("cargomon.db");
    Engine engine(setup("route: {receiver: r, group_wait: 0s}\nreceivers:\n  - name: r\n"
                            "    webhook_configs: [{url: '" + receiver.url() + "'}]\n"),
                      db, store, registry, clock, [] { return true; });
    sqlite::Database(db).exec(
        "CREATE TRIGGER no_save BEFORE INSERT ON alert_state BEGIN SELECT RAISE(ABORT, 'disk full (injected)'); END");
    engine.start();
    EXPECT_TRUE(eventually([&] { return !receiver.accepted().empty(); }, 10s)) << "no notification";
    EXPECT_GE(notify::testing::sample(registry, "cargomon_alert_state_save_failures_total"), 1);
    engine.stop();
}

// Issue 10: six webhooks that accept and never answer (10 s timeout each) beside a healthy
// one. The healthy one is notified at once; a reload and a stop return promptly.
TEST_F(EngineFaults, HangingWebhooksDelayNeitherOthersNorReloadNorStop) {
    std::vector<std::unique_ptr<notify::testing::HangingListener>> hanging;
    std::string hooks;
    for (int i = 0; i < 6; ++i) {
        hooks += "      - {url: '" + hanging.emplace_back(std::make_unique<notify::testing::HangingListener>())->url() + "'}\n";
    }
    receiver.start();
    const std::string yaml = "route:\n  receiver: ok\n  group_wait: 0s\n  routes:\n"
                             "    - {receiver: hang, continue: true}\n    - {receiver: ok}\n"
                             "receivers:\n  - name: hang\n    webhook_configs:\n" + hooks +
                             "  - name: ok\n    webhook_configs: [{url: '" + receiver.url() + "'}]\n";
    Engine engine(setup(yaml), dir.file("cargomon.db"), store, registry, clock, [] { return true; });
    engine.start();
    EXPECT_TRUE(eventually([&] { return !receiver.accepted().empty(); }, 5s)) << "the healthy webhook waited";
    std::this_thread::sleep_for(300ms);  // the six requests are in flight

    auto started = Steady::now();
    engine.replace(setup(yaml));
    EXPECT_LT(Steady::now() - started, 2s) << "the reload waited on hanging webhooks";
    std::this_thread::sleep_for(300ms);  // in flight again, from the new delivery
    started = Steady::now();
    engine.stop();
    EXPECT_LT(Steady::now() - started, 2s) << "the stop waited on hanging webhooks";
}

}  // namespace
}  // namespace cargomon::alerts
