// The collectors' SQL on a Cargo whose ClickHouse is not in UTC: windows, $__from/$__to
// and counter watermarks must mean the same instants as on a UTC server. The sim runs
// its ClickHouse in Asia/Kolkata (UTC+05:30, so an hour-aligned mistake cannot hide)
// and the ground truth compares Unix seconds, which no zone touches.
#include <gtest/gtest.h>

#include <map>

#include "cargo/client.h"
#include "cargo/sleeper.h"
#include "collectors/catalog.h"
#include "collectors/discovery.h"
#include "collectors/query.h"
#include "collectors/run_counts.h"
#include "collectors/watermarks.h"
#include "common/timefmt.h"
#include "tests/support/sim_process.h"
#include "tests/support/snapshot_series.h"
#include "tests/support/temp_dir.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;
using collectors::CollectContext;

constexpr const char* kZone = "Asia/Kolkata";

long long unix_seconds(SystemTime t) { return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count(); }

class TimezoneTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        sim = new SimProcess({.workflows = 4, .history = "1d", .control = false,
                              .extra_args = {"--clickhouse-timezone", kZone}});
    }
    static void TearDownTestSuite() {
        delete sim;
        sim = nullptr;
    }
    static SimProcess* sim;

    // The collections happen at a fixed instant inside the history, whole seconds: the
    // non-live sim's rows do not change, so the truth is exact.
    FakeClock clock{std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) - 3h};
    cargo::ClockSleeper sleeper{clock};
    prometheus::Registry registry;
    std::unique_ptr<cargo::Transport> transport = cargo::make_http_transport(options());
    cargo::ApiClient client{options(), *transport, registry, clock, sleeper, nullptr, 1};
    collectors::WorkflowCatalog catalog;

    static cargo::ClientOptions options() {
        return {.base_url = sim->url(), .token = sim->token(), .rate_limit_per_s = 0, .retry = {.max_attempts = 1}};
    }
    CollectContext context() { return {.deadline = clock.monotonic() + 60s, .stop = {}}; }

    void discover() {
        collectors::DiscoveryCollector d("discovery", {}, client, catalog, clock);
        d.collect(context());
    }
    // Rows of a ground-truth query through the sim's own SQL endpoint.
    std::map<std::string, double> truth(const std::string& sql, const std::string& key, const std::string& value) {
        std::map<std::string, double> out;
        const auto result = client.query(sql);
        for (std::size_t r = 0; r < result.row_count(); ++r)
            out[*result.at(r, *result.column(key)).text()] = *result.at(r, *result.column(value)).as_double();
        return out;
    }
};

SimProcess* TimezoneTest::sim = nullptr;

TEST_F(TimezoneTest, TheSimsClickHouseRunsInTheZoneAsked) {
    const auto result = client.query("SELECT timezone() AS zone, toUnixTimestamp(toDateTime('1970-01-02 00:00:00')) AS s");
    ASSERT_EQ(result.row_count(), 1u);
    EXPECT_EQ(*result.at(0, 0).text(), kZone);
    // A text DateTime is read in that zone: 5 h 30 before the UTC midnight.
    EXPECT_EQ(*result.at(0, 1).as_double(), 86400 - 5.5 * 3600);
}

TEST_F(TimezoneTest, RunCountWindowsStartAtTheSameInstantAsInUtc) {
    discover();
    collectors::RunCountsCollector runs("runs", {.windows = {2h, 6h}, .strategy = config::CountStrategy::sql}, client,
                                        catalog, clock, registry);
    const auto series = flatten(runs.collect(context()));
    const auto now = unix_seconds(clock.now());
    double compared = 0;
    for (const auto& [window, seconds] : {std::pair<std::string, long long>{"2h", 7200}, {"6h", 21600}}) {
        const auto errors = truth("SELECT workflow_uuid, count() AS n FROM runs WHERE status = 'error' AND "
                                  "toUnixTimestamp(created_at) >= " + std::to_string(now - seconds) +
                                      " GROUP BY workflow_uuid",
                                  "workflow_uuid", "n");
        const auto all = truth("SELECT workflow_uuid, count() AS n FROM runs WHERE toUnixTimestamp(created_at) >= " +
                                   std::to_string(now - seconds) + " GROUP BY workflow_uuid",
                               "workflow_uuid", "n");
        for (const auto& w : catalog.require()->covered) {
            double total = 0, error = 0;
            for (const auto& [key, v] : series) {
                if (key.find("workflow_uuid=" + w.uuid) == std::string::npos) continue;
                if (key.find("window=" + window + ",") == std::string::npos &&
                    key.find("window=" + window + "}") == std::string::npos)
                    continue;
                if (key.rfind("cargo_workflow_runs{", 0) == 0) total += v;
                if (key.rfind("cargo_workflow_runs{", 0) == 0 && key.find("status=error") != std::string::npos) error = v;
            }
            const double want_total = all.count(w.uuid) ? all.at(w.uuid) : 0;
            EXPECT_EQ(total, want_total) << w.uuid << " over " << window;
            EXPECT_EQ(error, errors.count(w.uuid) ? errors.at(w.uuid) : 0) << w.uuid << " over " << window;
            compared += want_total;
        }
    }
    EXPECT_GT(compared, 0) << "the history should have runs in the windows";
}

TEST_F(TimezoneTest, QueryCountersCountEachRangeOnceAndFromToAreUtc) {
    TempDir dir;
    collectors::WatermarkStore store(dir.path() + "/watermarks.db");
    const config::QuerySpec spec{
        .sql = "SELECT workflow_uuid, count() AS n FROM runs WHERE created_at >= $__from AND created_at < $__to "
               "GROUP BY workflow_uuid",
        .metrics = {{.name = "cargo_tz_runs_total", .type = config::MetricType::counter, .value = "n",
                     .labels = {"workflow_uuid"}}}};
    collectors::QueryCollector counter("tz", spec, {.interval = 1min}, client, clock, &store, nullptr);
    const auto start = unix_seconds(clock.now());
    counter.collect(context());  // the first run only sets the watermark: now - 1m
    clock.advance(2h);
    const auto series = flatten(counter.collect(context()));
    const auto want = truth("SELECT workflow_uuid, count() AS n FROM runs WHERE toUnixTimestamp(created_at) >= " +
                                std::to_string(start - 60) + " AND toUnixTimestamp(created_at) < " +
                                std::to_string(start + 7200 - 60) + " GROUP BY workflow_uuid",
                            "workflow_uuid", "n");
    ASSERT_FALSE(want.empty()) << "the history should have runs in those two hours";
    std::map<std::string, double> got;
    for (const auto& [key, v] : series) got[key.substr(key.find("workflow_uuid=") + 14, 36)] = v;
    EXPECT_EQ(got, want);

    // What a query derives from $__to is UTC too: its day and hour.
    const config::QuerySpec derived{
        .sql = "SELECT toString(toDate($__to)) AS day, toString(toHour($__to)) AS hour, 1 AS one FROM runs LIMIT 1",
        .metrics = {{.name = "cargo_tz_to", .value = "one", .labels = {"day", "hour"}}}};
    // 20:00 UTC is 01:30 the next day in Kolkata.
    const auto day = std::chrono::floor<std::chrono::days>(clock.now());
    clock.set(day + 20h);
    collectors::QueryCollector gauge("tz_gauge", derived, {.interval = 1min}, client, clock, nullptr, nullptr);
    const auto date = format_iso8601(day).substr(0, 10);
    EXPECT_EQ(flatten(gauge.collect(context())),
              (std::map<std::string, double>{{"cargo_tz_to{day=" + date + ",hour=20}", 1}}));
}

}  // namespace
}  // namespace cargomon::testing
