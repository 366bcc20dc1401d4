// The generator against a real ClickHouse: the loaded history keeps its counters
// consistent in SQL, and live mode moves the numbers and obeys the conditions.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "sim/gen/generator.h"
#include "sim/gen/live.h"

namespace cargomon::sim {
namespace {

using namespace std::chrono_literals;

class LoadedHistory : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string dir = (std::filesystem::temp_directory_path() / "sim_generator_test_XXXXXX").string();
        ASSERT_NE(mkdtemp(dir.data()), nullptr);
        dir_ = new std::string(dir);
        server_ = new ClickHouseServer(dir + "/clickhouse");
        client_ = new ClickHouseClient(server_->url());
        options_ = new GeneratorOptions{
            .workflows = 5, .history = 24h, .seed = 3, .workspaces = 1, .now = std::chrono::system_clock::now()};
        workspaces_ = new std::vector<Workspace>(generate_workspaces(*options_));
        stats_ = new LoadStats(load_history(*client_, *workspaces_, *options_));
    }
    static void TearDownTestSuite() {
        delete stats_;
        delete workspaces_;
        delete options_;
        delete client_;
        delete server_;
        std::filesystem::remove_all(*dir_);
        delete dir_;
    }

    static std::string db() { return workspaces_->front().database; }
    static std::uint64_t number(const std::string& sql) {
        return std::stoull(client_->query(sql + " FORMAT TabSeparated"));
    }
    static double real(const std::string& sql) { return std::stod(client_->query(sql + " FORMAT TabSeparated")); }

    static std::string* dir_;
    static ClickHouseServer* server_;
    static ClickHouseClient* client_;
    static GeneratorOptions* options_;
    static std::vector<Workspace>* workspaces_;
    static LoadStats* stats_;
};
std::string* LoadedHistory::dir_ = nullptr;
ClickHouseServer* LoadedHistory::server_ = nullptr;
ClickHouseClient* LoadedHistory::client_ = nullptr;
GeneratorOptions* LoadedHistory::options_ = nullptr;
std::vector<Workspace>* LoadedHistory::workspaces_ = nullptr;
LoadStats* LoadedHistory::stats_ = nullptr;

TEST_F(LoadedHistory, TablesHoldWhatWasGenerated) {
    ASSERT_GT(stats_->spans, 1000u);
    EXPECT_EQ(number("SELECT count() FROM " + db() + ".batches"), stats_->batches);
    EXPECT_EQ(number("SELECT count() FROM " + db() + ".runs"), stats_->runs);
    EXPECT_EQ(number("SELECT count() FROM " + db() + ".spans"), stats_->spans);
    EXPECT_EQ(number("SELECT count() FROM " + db() + ".records"), stats_->records);
    EXPECT_EQ(stats_->runs, stats_->records);
}

TEST_F(LoadedHistory, BatchCountersEqualAggregatesOverRunsAndSpans) {
    const std::string runs_mismatch = "SELECT count() FROM " + db() + R"(.batches ANY LEFT JOIN (
            SELECT assumeNotNull(batch_uuid) AS uuid, count() AS n, countIf(finished_at IS NOT NULL) AS executed,
                   countIf(status = 'error') AS failed
            FROM )" + db() + R"(.runs GROUP BY uuid) USING uuid
        WHERE runs_count != n OR executed_runs_count != executed OR failed_runs_count != failed)";
    EXPECT_EQ(number(runs_mismatch), 0u);
    const std::string credits_mismatch = "SELECT count() FROM " + db() + R"(.batches ANY LEFT JOIN (
            SELECT batch_uuid AS uuid, sum(execution_credits_used_count) AS credits
            FROM )" + db() + R"(.spans GROUP BY uuid) USING uuid
        WHERE abs(credits_used_count - credits) > 1e-6)";
    EXPECT_EQ(number(credits_mismatch), 0u);
    // The checks above must be able to fail: the data has runs, failures and credits.
    EXPECT_GT(number("SELECT sum(failed_runs_count) FROM " + db() + ".batches"), 0u);
    EXPECT_GT(real("SELECT sum(credits_used_count) FROM " + db() + ".batches"), 0.0);
}

TEST_F(LoadedHistory, RunErrorShareIsRealistic) {
    const double share = real("SELECT countIf(status = 'error') / count() FROM " + db() + ".runs");
    EXPECT_GT(share, 0.0);
    EXPECT_LT(share, 0.25);
}

TEST_F(LoadedHistory, LiveModeMovesTheCountsAndFollowsConditions) {
    Conditions conditions;
    SystemClock clock;
    const std::string runs_since = "SELECT count() FROM " + db() + ".runs WHERE created_at >= ";
    const auto t0 = std::chrono::floor<std::chrono::seconds>(clock.now());
    const std::string since_t0 = std::to_string(std::chrono::system_clock::to_time_t(t0));
    LiveGenerator live(*client_, *workspaces_, conditions, clock, 40, 11);
    live.start();

    // A watcher polling sees a running batch and finished runs within a couple of seconds.
    std::uint64_t live_runs = 0, live_batches = 0;
    for (int i = 0; i < 20 && (live_runs == 0 || live_batches == 0); ++i) {
        std::this_thread::sleep_for(250ms);
        live_runs = number(runs_since + "toDateTime(" + since_t0 + ")");
        live_batches =
            number("SELECT count() FROM " + db() + ".batches WHERE created_at >= toDateTime(" + since_t0 + ")");
    }
    EXPECT_GT(live_runs, 0u);
    EXPECT_GT(live_batches, 0u);
    const std::uint64_t executed_before = number("SELECT sum(executed_runs_count) FROM " + db() +
                                                 ".batches WHERE created_at >= toDateTime(" + since_t0 + ")");

    // An error spike on every workflow: runs started after it mostly fail.
    const auto spike_at = std::chrono::ceil<std::chrono::seconds>(clock.now());
    conditions.error_spike("*", 0.9, clock.now() + 1min);
    const std::string after_spike = std::to_string(std::chrono::system_clock::to_time_t(spike_at));
    const std::string spike_runs = " FROM " + db() + ".runs WHERE created_at >= toDateTime(" + after_spike + ")";
    std::uint64_t finished = 0;
    for (int i = 0; i < 40 && finished < 30; ++i) {  // a busy machine may take a while
        std::this_thread::sleep_for(250ms);
        finished = number("SELECT count()" + spike_runs + " AND finished_at IS NOT NULL");
    }
    const std::uint64_t failed = number("SELECT countIf(status = 'error')" + spike_runs);
    ASSERT_GE(finished, 30u);
    EXPECT_GT(double(failed) / finished, 0.6);
    EXPECT_GT(number("SELECT sum(executed_runs_count) FROM " + db() + ".batches WHERE created_at >= toDateTime(" +
                     since_t0 + ")"),
              executed_before);

    // Silenced, nothing opens new batches.
    conditions.silence("*", clock.now() + 1min);
    std::this_thread::sleep_for(300ms);
    const std::uint64_t opened = live.stats().batches_started;
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(live.stats().batches_started, opened);

    // Only a healthy workflow runs, and its next batch is told to fail entirely: that
    // batch ends `success` with every run failed (a healthy one would almost never).
    conditions.clear();
    const Workflow* target = nullptr;
    for (const Workflow& wf : workspaces_->front().workflows) {
        bool healthy = std::all_of(wf.nodes.begin(), wf.nodes.end(), [](const Node& n) { return n.error_rate < 0.01; });
        if (!target && wf.enabled && healthy) {
            target = &wf;
        } else {
            conditions.silence(wf.uuid, clock.now() + 1min);
        }
    }
    ASSERT_NE(target, nullptr);
    const auto asked_at = std::chrono::floor<std::chrono::seconds>(clock.now());
    conditions.fail_next_batch(target->uuid, 1.0);
    const std::string all_failed = "SELECT count() FROM " + db() + ".batches WHERE workflow_uuid = '" + target->uuid +
                                   "' AND created_at >= toDateTime(" +
                                   std::to_string(std::chrono::system_clock::to_time_t(asked_at)) +
                                   ") AND status = 'success' AND runs_count > 0 AND failed_runs_count = runs_count";
    std::uint64_t failed_batches = 0;
    for (int i = 0; i < 160 && failed_batches == 0; ++i) {  // the batch may be big, its runs slow
        std::this_thread::sleep_for(250ms);
        failed_batches = number(all_failed);
    }
    EXPECT_EQ(failed_batches, 1u);

    live.stop();
    EXPECT_GT(live.stats().runs_finished, 0u);
    EXPECT_EQ(live.stats().failed_inserts, 0u);
}

TEST(LiveGeneratorOptions, RejectsABadRate) {
    ClickHouseClient client("http://127.0.0.1:1");
    std::vector<Workspace> none;
    Conditions conditions;
    SystemClock clock;
    EXPECT_THROW(LiveGenerator(client, none, conditions, clock, 0, 1), std::invalid_argument);
    EXPECT_THROW(LiveGenerator(client, none, conditions, clock, std::nan(""), 1), std::invalid_argument);
}

}  // namespace
}  // namespace cargomon::sim
