// The alert engine over the sample history: ranges and offsets read the history the store
// feeds, recording rules publish into the store (so /metrics and the history get them)
// and the next rule of their group reads them at once, and an instant selector at the
// evaluation time reads the store, so a collector slower than the lookback stays visible.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <fstream>
#include <thread>

#include "alerts/engine.h"
#include "alerts/promql/history_source.h"
#include "alerts/rules/rules.h"
#include "metrics/metric_store.h"
#include "tests/alerts/notify/fixtures.h"
#include "tsdb/history.h"

namespace cargomon::alerts {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

bool eventually(const std::function<bool()>& done) {
    // Only catches a hang: the engine's loop runs every second.
    for (auto until = Steady::now() + 30s; Steady::now() < until; std::this_thread::sleep_for(20ms))
        if (done()) return true;
    return done();
}

metrics::Snapshot one(const std::string& name, metrics::MetricType type, double value) {
    metrics::Family f{.name = name, .help = name, .type = type, .samples = {{{{"workflow", "w"}}, value}}};
    return metrics::Snapshot{{std::move(f)}};
}

std::vector<rules::RuleGroup> groups_from(notify::testing::TempDir& dir, const std::string& yaml) {
    const std::string file = dir.file("r.yml");
    std::ofstream(file) << yaml;
    auto loaded = rules::load_rule_files({file});
    if (auto* errors = std::get_if<std::vector<rules::RuleError>>(&loaded)) throw std::runtime_error(errors->front().to_string());
    return std::get<std::vector<rules::RuleGroup>>(std::move(loaded));
}

const std::string kRules = R"(groups:
  - name: g
    rules:
      - record: workflow:jobs:increase10m
        expr: increase(jobs_total[10m])
      - alert: ManyJobs
        expr: workflow:jobs:increase10m > 50
      - alert: HalfAsManyFiveMinutesAgo
        expr: jobs_total offset 5m == 50
      - alert: SlowCollectorSeen
        expr: slow_gauge == 7
)";

std::optional<double> stored(const metrics::MetricStore& store, std::string_view name) {
    auto view = store.view();
    for (const auto& family : view->families)
        if (family.name == name)
            for (const auto& part : family.parts)
                for (const auto& sample : part.family->samples) return sample.value;
    return std::nullopt;
}

TEST(EngineHistory, RangesOffsetsAndRecordingRulesReadTheHistory) {
    notify::testing::TempDir dir;
    FakeClock clock;
    prometheus::Registry registry;
    tsdb::History history(tsdb::HistoryOptions{}, registry, clock, nullptr);
    metrics::MetricStore store;
    store.set_observer(&history);
    const promql::HistorySource source(history.head());
    // A counter collected every minute for the last ten, 10 more each time; a gauge last
    // collected 20 minutes ago (beyond the 5 minute lookback) and still in the store.
    const SystemTime now = clock.now();
    store.publish("slow", one("slow_gauge", metrics::MetricType::gauge, 7), now - 20min);
    for (int i = 0; i <= 10; ++i)
        store.publish("jobs", one("jobs_total", metrics::MetricType::counter, 10.0 * i), now - 10min + i * 1min);

    Engine engine(EngineSetup{.groups = groups_from(dir, kRules)},
                  dir.file("cargomon.db"), store, registry, clock, [] { return true; }, &source);
    engine.start();
    auto firing = [&](const std::string& name) {
        for (const Alert& a : engine.alerts())
            if (metrics::label_value(a.labels, "alertname") == name && a.state == AlertState::firing) return true;
        return false;
    };
    // Eleven samples exactly spanning the window: no extrapolation, 100.
    ASSERT_TRUE(eventually([&] { return firing("ManyJobs"); })) << "the recording rule's output was not read in the same round";
    EXPECT_TRUE(firing("HalfAsManyFiveMinutesAgo"));
    EXPECT_TRUE(firing("SlowCollectorSeen"));
    EXPECT_EQ(stored(store, "workflow:jobs:increase10m"), 100);
    const auto names = history.head().label_values("__name__");
    EXPECT_NE(std::find(names.begin(), names.end(), "workflow:jobs:increase10m"), names.end()) << "not in the history";

    // A reload without the recording rule withdraws its output.
    engine.replace(EngineSetup{.groups = groups_from(dir, "groups:\n  - name: g\n    rules:\n"
                                                          "      - alert: SlowCollectorSeen\n        expr: slow_gauge == 7\n"),
                               });
    EXPECT_EQ(stored(store, "workflow:jobs:increase10m"), std::nullopt);
    engine.stop();
}

}  // namespace
}  // namespace cargomon::alerts
