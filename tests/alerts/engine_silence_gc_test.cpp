// The alert engine keeps the silence store bounded in time: it drops silences
// expired past their retention on start and then every kSilenceGcInterval.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <thread>

#include "alerts/notify/silences.h"
#include "alerts/engine.h"
#include "tests/alerts/notify/fixtures.h"
#include "metrics/metric_store.h"

namespace cargomon::alerts {
namespace {

using namespace std::chrono_literals;

std::string add_silence(const std::string& db, const Clock& clock, std::chrono::hours lasting) {
    notify::SilenceStore store(db, clock);
    auto matcher = std::get<metrics::Matcher>(metrics::parse_matcher("alertname=Down"));
    auto added = store.add({.matchers = {matcher}, .ends_at = clock.now() + lasting, .comment = "c"});
    return std::get<std::string>(added);
}

std::size_t stored(const std::string& db, const Clock& clock) { return notify::SilenceStore(db, clock).list().size(); }

TEST(EngineSilenceGc, DropsExpiredSilencesOnStartAndEveryMinute) {
    notify::testing::TempDir dir;
    const std::string db = dir.file("silences.db");
    FakeClock clock;
    const auto past_retention = 5 * 24h + 1h + 1min;  // the store's default retention is five days
    add_silence(db, clock, 1h);
    clock.advance(past_retention);

    metrics::MetricStore store;
    prometheus::Registry registry;
    Engine engine(EngineSetup{}, db, store, registry, clock, [] { return false; });
    engine.start();
    EXPECT_EQ(stored(db, clock), 0u) << "not collected on start";

    // Written behind the daemon's back; its gc() deletes from the file all the same.
    add_silence(db, clock, 1h);
    clock.advance(past_retention);
    // The loop runs every second of real time; the fake clock says a minute has passed.
    for (int i = 0; i < 50 && stored(db, clock) != 0; ++i) std::this_thread::sleep_for(100ms);
    EXPECT_EQ(stored(db, clock), 0u) << "not collected by the loop";
    engine.stop();
}

}  // namespace
}  // namespace cargomon::alerts
