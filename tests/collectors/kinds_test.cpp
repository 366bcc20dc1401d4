// Each collector kind through the real ApiClient on canned API answers.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <regex>
#include <set>

#include "cargo/client.h"
#include "cargo/sleeper.h"
#include "collectors/batch_failures.h"
#include "collectors/batches.h"
#include "collectors/credits.h"
#include "collectors/discovery.h"
#include "collectors/grouped_sql.h"
#include "collectors/query.h"
#include "collectors/run_counts.h"
#include "collectors/run_metrics.h"
#include "collectors/series.h"
#include "common/timefmt.h"
#include "metrics/metric_store.h"
#include "tests/collectors/canned_api.h"
#include "tests/support/registry_sample.h"
#include "tests/support/snapshot_series.h"

namespace cargomon::collectors {
namespace {

using namespace std::chrono_literals;
using testing::CannedApi;
using testing::json_body;
using cargomon::testing::Series;
using cargomon::testing::flatten;

// `rules preview` runs a collector only when a rule reads one of its metric_names(), so
// every family it publishes must be declared there.
void expect_declared(const Collector& c, const Series& series) {
    const auto names = c.metric_names();
    for (const auto& [key, value] : series) {
        const auto name = key.substr(0, key.find('{'));
        EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << c.kind() << " publishes " << name;
    }
}

Series only(const Series& all, const std::string& prefix) {
    Series out;
    for (const auto& [k, v] : all)
        if (k.rfind(prefix + "{", 0) == 0) out.emplace(k, v);
    return out;
}

constexpr const char* kWorkflows = R"({"workflows": [
  {"uuid": "wf-a", "playUuid": "p1", "toolUuid": null, "nodes": [
     {"uuid": "n1", "slug": "enrich", "kind": "native", "nodes": [{"uuid": "n2", "slug": "score", "nodes": []}]}],
   "deployedRelease": {"uuid": "rel-1", "nodes": []}},
  {"uuid": "wf-b", "playUuid": null, "toolUuid": "t1", "nodes": [], "deployedRelease": null},
  {"uuid": "wf-c", "playUuid": null, "toolUuid": null}]})";

// A time the collectors' SQL carries as Unix seconds.
SystemTime unix_time(const std::string& seconds) { return SystemTime{std::chrono::seconds{std::stoll(seconds)}}; }

struct CannedRun {
    std::string workflow, status;
    SystemTime created_at;
};

class KindsTest : public ::testing::Test {
protected:
    FakeClock clock;  // 2027-01-15T08:00:00Z
    cargo::FakeSleeper sleeper{clock};
    CannedApi api;
    prometheus::Registry registry;
    cargo::ApiClient client{{.base_url = "http://cargo.test", .token = "tok-secret", .rate_limit_per_s = 0,
                             .retry = {.max_attempts = 1}},
                            api, registry, clock, sleeper, nullptr, 1};
    WorkflowCatalog catalog;
    std::vector<CannedRun> runs;

    void SetUp() override {
        api.on_json("/orchestration/workflows/list", kWorkflows);
        api.on_json("/orchestration/plays/list",
                    R"({"plays": [{"uuid": "p1", "workflowUuid": "wf-a", "name": "Enrich leads", "isEnabled": false}]})");
        api.on_json("/orchestration/tools/list", R"({"tools": [{"uuid": "t1", "workflowUuid": "wf-b", "name": "Lookup"}]})");
        const auto now = clock.now();
        runs = {{"wf-a", "success", now - 10min}, {"wf-a", "success", now - 2h}, {"wf-a", "error", now - 30min},
                {"wf-a", "cancelled", now - 3h},  {"wf-b", "running", now - 5min}, {"wf-a", "error", now - 60min}};
        // Both paths answer from the same runs; "created at or after the window start".
        api.on("/orchestration/query", [this](const cargo::Request& r) {
            const std::string sql = json_body(r)["query"].GetString();
            std::smatch m;
            if (!std::regex_search(sql, m, std::regex("created_at >= toDateTime\\((\\d+), 'UTC'\\)")))
                return cargo::Response{.status = 400, .body = R"({"errorMessage":"unexpected query"})"};
            const auto start = unix_time(m[1].str());
            std::map<std::pair<std::string, std::string>, int> groups;
            for (const auto& run : runs)
                if (run.created_at >= start) ++groups[{run.workflow, run.status}];
            std::string rows;
            for (const auto& [k, n] : groups)
                rows += std::string(rows.empty() ? "" : ",") + R"({"workflow_uuid":")" + k.first + R"(","status":")" +
                        k.second + R"(","runs":")" + std::to_string(n) + "\"}";
            return cargo::Response{.status = 200, .body = "{\"rows\":[" + rows + "]}"};
        });
        api.on("/orchestration/runs/count", [this](const cargo::Request& r) {
            auto body = json_body(r);
            const auto start = *parse_iso8601(body["createdAfter"].GetString());
            int n = 0;
            // Without workflowUuid: the whole workspace.
            const std::string workflow = body.HasMember("workflowUuid") ? body["workflowUuid"].GetString() : "";
            for (const auto& run : runs)
                n += (workflow.empty() || run.workflow == workflow) && run.status == body["statuses"][0].GetString() &&
                     run.created_at >= start;
            return cargo::Response{.status = 200, .body = "{\"count\":" + std::to_string(n) + "}"};
        });
    }

    void discover(config::DiscoverySpec spec = {}) {
        DiscoveryCollector d("discovery", spec, client, catalog, clock);
        d.collect(context());
    }
    CollectContext context() { return {.deadline = clock.monotonic() + 30s}; }
    Series run_counts(config::CountStrategy strategy) {
        RunCountsCollector c("runs", {.windows = {1h, 24h}, .strategy = strategy}, client, catalog, clock, registry);
        auto series = flatten(c.collect(context()));
        expect_declared(c, series);
        return series;
    }
};

TEST_F(KindsTest, DiscoveryNamesWorkflowsAfterPlaysAndTools) {
    DiscoveryCollector d("discovery", {}, client, catalog, clock);
    EXPECT_FALSE(catalog.ready());
    const auto series = flatten(d.collect(context()));
    expect_declared(d, series);
    EXPECT_EQ(series, (Series{
                          {"cargo_workflow_info{enabled=false,kind=play,workflow_name=Enrich leads,workflow_uuid=wf-a}", 1},
                          {"cargo_workflow_info{enabled=true,kind=tool,workflow_name=Lookup,workflow_uuid=wf-b}", 1},
                          {"cargo_workflow_info{enabled=true,kind=none,workflow_name=wf-c,workflow_uuid=wf-c}", 1},
                      }));
    ASSERT_TRUE(catalog.ready());
    const auto& a = catalog.get()->covered.at(0);
    EXPECT_EQ(a.deployed_release_uuid, "rel-1");
    EXPECT_EQ(a.node_slug("n2"), "score");
    EXPECT_EQ(a.node_slug("n7"), "n7");
}

TEST_F(KindsTest, DiscoveryIncludeAndExcludeSelectWorkflows) {
    discover({.include = {"^(Enrich|Look)"}, .exclude = {"kup$"}});
    const auto covered = catalog.get()->covered;
    ASSERT_EQ(covered.size(), 1u);
    EXPECT_EQ(covered[0].uuid, "wf-a");
}

// RE2 as in every other regex of cargomon, still searched anywhere in the name as
// documented: (?i) works, "eads" finds "Enrich leads", an anchor still anchors.
TEST_F(KindsTest, DiscoveryRegexesAreRe2SearchedAnywhere) {
    discover({.include = {"(?i)LOOK", "eads", "^c"}});
    std::vector<std::string> uuids;
    for (const auto& w : catalog.get()->covered) uuids.push_back(w.uuid);
    std::sort(uuids.begin(), uuids.end());
    EXPECT_EQ(uuids, (std::vector<std::string>{"wf-a", "wf-b"}));
}

TEST_F(KindsTest, PerWorkflowCollectorsWaitForDiscovery) {
    RunCountsCollector c("runs", {}, client, catalog, clock, registry);
    try {
        c.collect(context());
        FAIL() << "expected not_ready";
    } catch (const CollectorError& e) {
        EXPECT_EQ(e.reason(), "not_ready");
    }
}

TEST_F(KindsTest, RunCountsOverWindowsWithRatios) {
    discover();
    const auto all = run_counts(config::CountStrategy::sql);
    EXPECT_EQ(api.calls("/orchestration/query"), 2);  // one grouped query per window
    EXPECT_EQ(api.calls("/orchestration/runs/count"), 0);
    EXPECT_EQ(all.at("cargo_workflow_runs{status=success,window=1h,workflow_name=Enrich leads,workflow_uuid=wf-a}"), 1);
    EXPECT_EQ(all.at("cargo_workflow_runs{status=error,window=1h,workflow_name=Enrich leads,workflow_uuid=wf-a}"), 2);
    EXPECT_EQ(all.at("cargo_workflow_runs{status=cancelled,window=1d,workflow_name=Enrich leads,workflow_uuid=wf-a}"), 1);
    EXPECT_EQ(all.at("cargo_workflow_runs{status=idle,window=1d,workflow_name=wf-c,workflow_uuid=wf-c}"), 0);
    EXPECT_EQ(only(all, "cargo_workflow_runs").size(), 3u * 8 * 2);  // every workflow x status x window
    EXPECT_EQ(only(all, "cargo_workflow_error_ratio"),
              (Series{{"cargo_workflow_error_ratio{window=1d,workflow_name=Enrich leads,workflow_uuid=wf-a}", 2.0 / 5},
                      {"cargo_workflow_error_ratio{window=1h,workflow_name=Enrich leads,workflow_uuid=wf-a}", 2.0 / 3}}));
    EXPECT_EQ(all.at("cargo_workflow_finished_runs{window=1h,workflow_name=Lookup,workflow_uuid=wf-b}"), 0);
    EXPECT_EQ(all.at("cargo_workflow_finished_runs{window=1d,workflow_name=Enrich leads,workflow_uuid=wf-a}"), 5);
}

TEST_F(KindsTest, RunCountsAutoAndApiGiveIdenticalSeries) {
    discover();
    clock.advance(1500ms);  // a fractional now: both paths must truncate the same way
    runs.push_back({"wf-b", "error", clock.now() - 1h + 500ms});  // inside the window by whole seconds
    const auto sql = run_counts(config::CountStrategy::automatic);
    const auto api_series = run_counts(config::CountStrategy::api);
    EXPECT_EQ(sql, api_series);
    EXPECT_EQ(sql.at("cargo_workflow_runs{status=error,window=1h,workflow_name=Lookup,workflow_uuid=wf-b}"), 1);
}

TEST_F(KindsTest, RunCountsAutoFallsBackToApiWhenSqlFails) {
    discover();
    const auto expected = run_counts(config::CountStrategy::api);
    api.on_json("/orchestration/query", "");
    api.on("/orchestration/query", [](const cargo::Request&) {
        return cargo::Response{.status = 403, .body = R"({"errorMessage":"no SQL for this token"})"};
    });
    EXPECT_EQ(run_counts(config::CountStrategy::automatic), expected);
    // One failed query per collection: the second window goes straight to the API.
    EXPECT_EQ(api.calls("/orchestration/query"), 1);
    EXPECT_EQ(cargomon::testing::sample_value(registry, "cargomon_collector_sql_fallbacks_total", {{"collector", "runs"}}), 1);
    EXPECT_THROW(run_counts(config::CountStrategy::sql), cargo::RequestError);
}

// A server error would meet the per-workflow calls too: auto fails the run, as the grouped
// SQL collectors do, rather than spend the run's time on calls that fail alike.
TEST_F(KindsTest, RunCountsAutoFailsOnServerErrorWithoutFallingBack) {
    discover();
    api.on("/orchestration/query", [](const cargo::Request&) {
        return cargo::Response{.status = 500, .body = R"({"errorMessage":"overloaded"})"};
    });
    EXPECT_THROW(run_counts(config::CountStrategy::automatic), cargo::ServerError);
    EXPECT_EQ(api.calls("/orchestration/runs/count"), 0);
    EXPECT_EQ(cargomon::testing::sample_value(registry, "cargomon_collector_sql_fallbacks_total", {{"collector", "runs"}}), 0);
}

// The sim's workspace of scripts/demo as the fallback sees it: 12 workflows, windows
// [1h, 24h], the default statuses, a token without SQL, the client's defaults (5
// requests/s) and a 30 s timeout, on a fake clock the rate limiter really waits on.
class RunCountsFallbackTest : public KindsTest {
protected:
    cargo::ApiClient paced{{.base_url = "http://cargo.test", .token = "tok", .rate_limit_per_s = 5, .retry = {.max_attempts = 1}},
                           api, registry, clock, sleeper, nullptr, 1};
    void SetUp() override {
        KindsTest::SetUp();
        std::string workflows, plays;
        for (int i = 0; i < 12; ++i) {
            const std::string id = "wf-" + std::to_string(10 + i);
            workflows += std::string(i ? "," : "") + R"({"uuid": ")" + id + R"(", "playUuid": "p)" + id + R"(", "nodes": []})";
            plays += std::string(i ? "," : "") + R"({"uuid": "p)" + id + R"(", "workflowUuid": ")" + id +
                     R"(", "name": "Play )" + id + R"(", "isEnabled": true})";
        }
        api.on_json("/orchestration/workflows/list", R"({"workflows": [)" + workflows + "]}");
        api.on_json("/orchestration/plays/list", R"({"plays": [)" + plays + "]}");
        api.on_json("/orchestration/tools/list", R"({"tools": []})");
        api.on("/orchestration/query", [](const cargo::Request&) {
            return cargo::Response{.status = 403, .body = R"({"errorMessage":"no SQL for this token"})"};
        });
        discover();
    }
    Series collect(std::chrono::milliseconds timeout = 30s) {
        RunCountsCollector c("runs", {.windows = {1h, 24h}, .strategy = config::CountStrategy::automatic}, paced, catalog,
                             clock, registry);
        return flatten(c.collect({.deadline = clock.monotonic() + timeout}));
    }
};

TEST_F(RunCountsFallbackTest, FitsItsTimeoutAtTheClientsRate) {
    // Runs in 3 statuses over the day, 2 in the last hour, in every workflow.
    runs.clear();
    for (int i = 0; i < 12; ++i) {
        const std::string id = "wf-" + std::to_string(10 + i);
        runs.push_back({id, "success", clock.now() - 10min});
        runs.push_back({id, "error", clock.now() - 20min});
        runs.push_back({id, "cancelled", clock.now() - 5h});
    }
    const auto start = clock.monotonic();
    const auto all = collect();
    const int calls = api.calls("/orchestration/runs/count");
    // 8 statuses x 2 windows over the workspace, then per workflow only the statuses with runs.
    EXPECT_EQ(calls, 16 + 12 * (2 + 3));
    EXPECT_LE(clock.monotonic() - start, 30s);
    const std::string wf = "workflow_name=Play wf-15,workflow_uuid=wf-15}";
    EXPECT_EQ(all.at("cargo_workflow_runs{status=success,window=1h," + wf), 1);
    EXPECT_EQ(all.at("cargo_workflow_runs{status=cancelled,window=1h," + wf), 0);
    EXPECT_EQ(all.at("cargo_workflow_runs{status=cancelled,window=1d," + wf), 1);
    EXPECT_EQ(all.at("cargo_workflow_runs{status=running,window=1d," + wf), 0);
    EXPECT_EQ(all.at("cargo_workflow_error_ratio{window=1d," + wf), 1.0 / 3);
    EXPECT_EQ(only(all, "cargo_workflow_runs").size(), 12u * 8 * 2);
}

TEST_F(RunCountsFallbackTest, SaysWhatItWouldTakeWhenItCannotFit) {
    // Every status has runs everywhere: 192 per-workflow calls, 38 s at 5 requests/s.
    runs.clear();
    for (int i = 0; i < 12; ++i)
        for (const char* status : {"idle", "pending", "running", "success", "error", "cancelling", "cancelled", "skipped"})
            runs.push_back({"wf-" + std::to_string(10 + i), status, clock.now() - 1min});
    try {
        collect();
        FAIL() << "no error";
    } catch (const CollectorError& e) {
        EXPECT_EQ(e.reason(), "timeout");
        EXPECT_NE(std::string(e.what()).find("counting runs through the API needs 192 more calls (12 workflows x the "
                                             "statuses that have runs: 8 in 1h, 8 in 1d), about 39 s at 5 requests/s"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(api.calls("/orchestration/runs/count"), 16) << "it failed before making calls it could not finish";
}

TEST_F(KindsTest, RunMetricsPerNodeWithSlugs) {
    discover();
    std::vector<std::string> bodies;
    api.on("/orchestration/runs/metrics", [&](const cargo::Request& r) {
        bodies.push_back(r.body);
        if (std::string(json_body(r)["workflowUuid"].GetString()) != "wf-a")
            return cargo::Response{.status = 200, .body = R"({"runMetrics": []})"};
        return cargo::Response{.status = 200, .body = R"({"runMetrics": [
            {"nodeUuid": "n1", "successExecutionsCount": 4, "errorExecutionsCount": "1", "creditsUsedCount": 2.5},
            {"nodeUuid": "n9", "pendingExecutionsCount": 2, "creditsUsedCount": null}]})"};
    });
    RunMetricsCollector c("nodes", {.scope = config::RunMetricsScope::window, .window = 24h}, client, catalog, clock);
    const auto all = flatten(c.collect(context()));
    expect_declared(c, all);
    EXPECT_EQ(bodies.size(), 3u);
    EXPECT_NE(bodies[0].find(R"("createdAfter":"2027-01-14T08:00:00.000Z")"), std::string::npos) << bodies[0];
    EXPECT_EQ(only(all, "cargo_node_executions").size(), 2u * 8);
    EXPECT_EQ(all.at("cargo_node_executions{node_slug=enrich,node_uuid=n1,status=success,workflow_name=Enrich leads,"
                     "workflow_uuid=wf-a}"),
              4);
    EXPECT_EQ(all.at("cargo_node_executions{node_slug=enrich,node_uuid=n1,status=error,workflow_name=Enrich leads,"
                     "workflow_uuid=wf-a}"),
              1);
    EXPECT_EQ(only(all, "cargo_node_credits_used"),
              (Series{{"cargo_node_credits_used{node_slug=enrich,node_uuid=n1,workflow_name=Enrich leads,workflow_uuid=wf-a}", 2.5},
                      {"cargo_node_credits_used{node_slug=n9,node_uuid=n9,workflow_name=Enrich leads,workflow_uuid=wf-a}", 0}}));

    bodies.clear();
    RunMetricsCollector release("nodes", {.scope = config::RunMetricsScope::release}, client, catalog, clock);
    release.collect(context());
    ASSERT_EQ(bodies.size(), 1u);  // only wf-a has a deployed release
    EXPECT_NE(bodies[0].find(R"("releaseUuid":"rel-1")"), std::string::npos) << bodies[0];
}

TEST_F(KindsTest, BatchesRecentPerWorkflow) {
    discover({.include = {"Enrich"}});
    std::string target;
    api.on("/orchestration/batches/list", [&](const cargo::Request& r) {
        target = r.target;
        return cargo::Response{.status = 200, .body = R"({"batches": [
          {"uuid": "b1", "workflowUuid": "wf-a", "status": "success", "runsCount": 10, "executedRunsCount": 9,
           "failedRunsCount": 2, "creditsUsedCount": 3.5, "createdAt": "2027-01-15T07:00:00.000Z"},
          {"uuid": "b2", "workflowUuid": "wf-a", "status": "error", "runsCount": "4", "executedRunsCount": 4,
           "failedRunsCount": 4, "creditsUsedCount": 1, "createdAt": "2027-01-15T06:00:00.000Z"},
          {"uuid": "b3", "workflowUuid": "wf-a", "status": "success", "runsCount": 1, "executedRunsCount": 1,
           "failedRunsCount": 1, "creditsUsedCount": 0, "createdAt": "2027-01-13T06:00:00.000Z"}]})"};
    });
    BatchesCollector c("batches", {.window = 24h, .limit = 50}, client, catalog, clock);
    const auto all = flatten(c.collect(context()));
    expect_declared(c, all);
    EXPECT_NE(target.find("workflowUuids%5B%5D=wf-a"), std::string::npos) << target;
    EXPECT_NE(target.find("limit=50"), std::string::npos) << target;
    const std::string wf = "workflow_name=Enrich leads,workflow_uuid=wf-a}";
    EXPECT_EQ(only(all, "cargo_batch_runs"),
              (Series{{"cargo_batch_runs{batch_uuid=b1,state=total," + wf, 10},
                      {"cargo_batch_runs{batch_uuid=b1,state=executed," + wf, 9},
                      {"cargo_batch_runs{batch_uuid=b1,state=failed," + wf, 2},
                      {"cargo_batch_runs{batch_uuid=b1,state=unfinished," + wf, 1},
                      {"cargo_batch_runs{batch_uuid=b2,state=total," + wf, 4},
                      {"cargo_batch_runs{batch_uuid=b2,state=executed," + wf, 4},
                      {"cargo_batch_runs{batch_uuid=b2,state=failed," + wf, 4},
                      {"cargo_batch_runs{batch_uuid=b2,state=unfinished," + wf, 0}}));
    EXPECT_EQ(only(all, "cargo_batch_status"), (Series{{"cargo_batch_status{batch_uuid=b1,status=success," + wf, 1},
                                                       {"cargo_batch_status{batch_uuid=b2,status=error," + wf, 1}}));
    EXPECT_EQ(all.at("cargo_batch_credits_used{batch_uuid=b1," + wf), 3.5);
    EXPECT_EQ(only(all, "cargo_workflow_partially_failed_batches"),
              (Series{{"cargo_workflow_partially_failed_batches{window=1d," + wf, 1}}));
    EXPECT_EQ(all.at("cargo_workflow_batches{status=success,window=1d," + wf), 1);
    EXPECT_EQ(all.at("cargo_workflow_batches{status=error,window=1d," + wf), 1);
    EXPECT_EQ(only(all, "cargo_workflow_batches").size(), 9u);

    BatchesCollector last_one("batches", {.window = 24h, .limit = 1}, client, catalog, clock);
    EXPECT_EQ(only(flatten(last_one.collect(context())), "cargo_batch_status"),
              (Series{{"cargo_batch_status{batch_uuid=b1,status=success," + wf, 1}}));
}

// A re-run among the recent batches is published under the batch it re-runs, by what it
// achieved, so a rule on that batch can see it recovered; one whose source is not among
// them, and batches that re-run nothing, publish none.
TEST_F(KindsTest, BatchesPublishEachReRunsOutcomeUnderItsSource) {
    discover({.include = {"Enrich"}});
    api.on("/orchestration/batches/list", [&](const cargo::Request&) {
        auto rerun = [](const char* uuid, const char* of, const char* status, int runs, int executed, int failed) {
            return std::string(R"({"uuid": ")") + uuid + R"(", "workflowUuid": "wf-a", "status": ")" + status +
                   R"(", "data": {"kind": "runs", "filter": {"kind": "runs", "batchUuid": ")" + of +
                   R"("}}, "runsCount": )" + std::to_string(runs) + R"(, "executedRunsCount": )" +
                   std::to_string(executed) + R"(, "failedRunsCount": )" + std::to_string(failed) +
                   R"(, "creditsUsedCount": 1, "createdAt": "2027-01-15T07:30:00.000Z"})";
        };
        return cargo::Response{.status = 200, .body = R"({"batches": [
          {"uuid": "b1", "workflowUuid": "wf-a", "status": "success", "runsCount": 10, "executedRunsCount": 10,
           "failedRunsCount": 2, "creditsUsedCount": 3.5, "createdAt": "2027-01-15T07:00:00.000Z"},
          {"uuid": "b2", "workflowUuid": "wf-a", "status": "success", "runsCount": 10, "executedRunsCount": 10,
           "failedRunsCount": 3, "creditsUsedCount": 3.5, "createdAt": "2027-01-15T07:00:00.000Z"},)" +
                                                  rerun("r1", "b1", "success", 2, 2, 0) + "," +
                                                  rerun("r2", "b2", "success", 3, 3, 1) + "," +
                                                  rerun("r3", "b2", "running", 3, 1, 0) + "," +
                                                  rerun("r4", "old", "success", 3, 3, 0) + "]}"};
    });
    BatchesCollector c("batches", {.window = 24h, .limit = 50}, client, catalog, clock);
    const auto all = flatten(c.collect(context()));
    expect_declared(c, all);
    const std::string wf = "workflow_name=Enrich leads,workflow_uuid=wf-a}";
    EXPECT_EQ(only(all, "cargo_batch_rerun_outcome"),
              (Series{{"cargo_batch_rerun_outcome{batch_uuid=b1,rerun_batch_uuid=r1,result=recovered," + wf, 1},
                      {"cargo_batch_rerun_outcome{batch_uuid=b2,rerun_batch_uuid=r2,result=still_failing," + wf, 1},
                      {"cargo_batch_rerun_outcome{batch_uuid=b2,rerun_batch_uuid=r3,result=running," + wf, 1}}));
}

// The sim's spans carry columns the real service does not promise (its own execution
// order among them): the query for where failed runs failed names only the node_ and
// execution_ columns that /work/shared/cargo-api.md lists for spans.
TEST_F(KindsTest, BatchFailuresQueryNamesOnlyContractSpanColumns) {
    const std::set<std::string> contract{"node_uuid", "node_slug", "node_kind", "node_action_slug",
                                         "node_integration_slug", "execution_status", "execution_error_message",
                                         "execution_credits_used_count", "execution_started_at",
                                         "execution_finished_at"};
    std::string sql;
    api.on("/orchestration/query", [&](const cargo::Request& r) {
        sql = json_body(r)["query"].GetString();
        return cargo::Response{.status = 200, .body = R"({"rows": []})"};
    });
    EXPECT_TRUE(batch_failures(client, clock.now() - 24h, context(), clock, kMaxQueryRows).empty());
    ASSERT_FALSE(sql.empty());
    const std::regex column("\\b(node|execution)_[a-z_]+");
    int named = 0;
    for (std::sregex_iterator it(sql.begin(), sql.end(), column), end; it != end; ++it, ++named)
        EXPECT_TRUE(contract.count(it->str())) << it->str() << " is not a spans column of the contract";
    EXPECT_GT(named, 0);
}

TEST_F(KindsTest, RowsTheApiRepeatsAreKeptOnceAndCounted) {
    // The real API can repeat a row across pages: a workflow, a node and a batch come
    // twice here. Without dropping them the snapshot holds duplicate series, which the
    // store refuses, and the collector fails every run.
    api.on_json("/orchestration/workflows/list", R"({"workflows": [
      {"uuid": "wf-a", "playUuid": "p1", "nodes": []}, {"uuid": "wf-b", "toolUuid": "t1", "nodes": []},
      {"uuid": "wf-a", "playUuid": "p1", "nodes": []}]})");
    DiscoveryCollector d("discovery", {}, client, catalog, clock, &registry);
    const auto info = only(flatten(d.collect(context())), "cargo_workflow_info");
    EXPECT_EQ(info.size(), 2u);
    EXPECT_EQ(catalog.require()->covered.size(), 2u);
    EXPECT_EQ(cargomon::testing::sample_value(registry, "cargomon_collector_duplicate_rows_total", {{"collector", "discovery"}}), 1);

    const std::string b1 = R"({"uuid": "b1", "workflowUuid": "wf-a", "status": "success", "runsCount": 10,
        "executedRunsCount": 9, "failedRunsCount": 2, "creditsUsedCount": 3.5, "createdAt": "2027-01-15T07:00:00.000Z"})";
    const std::string b2 = R"({"uuid": "b2", "workflowUuid": "wf-a", "status": "error", "runsCount": 4,
        "executedRunsCount": 4, "failedRunsCount": 4, "creditsUsedCount": 1, "createdAt": "2027-01-15T06:00:00.000Z"})";
    api.on("/orchestration/batches/list", [&](const cargo::Request& r) {
        if (r.target.find("wf-a") == std::string::npos) return cargo::Response{.status = 200, .body = R"({"batches": []})"};
        return cargo::Response{.status = 200, .body = "{\"batches\": [" + b1 + "," + b2 + "," + b1 + "]}"};
    });
    BatchesCollector batches("batches", {.window = 24h, .limit = 50}, client, catalog, clock, &registry);
    // The batches' series go through the real store's checks, as in the daemon.
    metrics::MetricStore store;
    const auto snapshot = batches.collect(context());
    EXPECT_NO_THROW(store.publish("batches", snapshot, clock.now()));
    const auto all = flatten(snapshot);
    const std::string wf = "workflow_name=Enrich leads,workflow_uuid=wf-a}";
    EXPECT_EQ(only(all, "cargo_batch_status"), (Series{{"cargo_batch_status{batch_uuid=b1,status=success," + wf, 1},
                                                       {"cargo_batch_status{batch_uuid=b2,status=error," + wf, 1}}));
    EXPECT_EQ(all.at("cargo_workflow_batches{status=success,window=1d," + wf), 1);
    EXPECT_EQ(all.at("cargo_workflow_partially_failed_batches{window=1d," + wf), 1);
    EXPECT_EQ(cargomon::testing::sample_value(registry, "cargomon_collector_duplicate_rows_total", {{"collector", "batches"}}), 1);
    batches.collect(context());
    EXPECT_EQ(cargomon::testing::sample_value(registry, "cargomon_collector_duplicate_rows_total", {{"collector", "batches"}}), 2);

    api.on("/orchestration/runs/metrics", [](const cargo::Request&) {
        return cargo::Response{.status = 200, .body = R"({"runMetrics": [
            {"nodeUuid": "n1", "successExecutionsCount": 4}, {"nodeUuid": "n2", "errorExecutionsCount": 1},
            {"nodeUuid": "n1", "successExecutionsCount": 4}]})"};
    });
    RunMetricsCollector nodes("nodes", {.scope = config::RunMetricsScope::all}, client, catalog, clock, &registry);
    const auto executions = only(flatten(nodes.collect(context())), "cargo_node_executions");
    EXPECT_EQ(executions.size(), 2u * 2 * 8);  // two workflows, two nodes each, eight statuses
    EXPECT_EQ(cargomon::testing::sample_value(registry, "cargomon_collector_duplicate_rows_total", {{"collector", "nodes"}}), 2);
}

TEST_F(KindsTest, CreditsTodayMonthAndWindow) {
    discover();
    std::vector<std::string> targets;
    api.on("/billing/usage/metrics", [&](const cargo::Request& r) {
        targets.push_back(r.target);
        if (r.target.find("groupBy=workflow_uuid") != std::string::npos)
            return cargo::Response{.status = 200, .body = R"({"metrics": [
              {"date": "2026-12-20T00:00:00.000Z", "items": [{"slug": "billing.credits", "count": 100, "groupBy": "wf-a"}]},
              {"date": "2027-01-02T00:00:00.000Z", "items": [{"slug": "billing.credits", "count": 7, "groupBy": "wf-a"},
                                                             {"slug": "billing.credits", "count": 1, "groupBy": "wf-gone"}]},
              {"date": "2027-01-15T00:00:00.000Z", "items": [{"slug": "billing.credits", "count": "5", "groupBy": "wf-a"}]}]})"};
        return cargo::Response{.status = 200, .body = R"({"metrics": [
              {"date": "2027-01-15T00:00:00.000Z", "items": [{"slug": "billing.credits", "count": 2, "groupBy": "hubspot"}]}]})"};
    });
    CreditsCollector c("credits", {.window = 30 * 24h, .group_by = {"workflow_uuid", "integration_slug"}}, client,
                       catalog, clock);
    const auto all = flatten(c.collect(context()));
    expect_declared(c, all);
    EXPECT_EQ(c.metric_names(), (std::vector<std::string>{"cargo_credits_used", "cargo_credits_used_by_integration"}));
    ASSERT_EQ(targets.size(), 2u);
    EXPECT_NE(targets[0].find("from=2026-12-16T00:00:00.000Z"), std::string::npos) << targets[0];
    EXPECT_NE(targets[0].find("unit=billing.credits"), std::string::npos) << targets[0];
    const std::string a = "workflow_name=Enrich leads,workflow_uuid=wf-a}";
    EXPECT_EQ(all.at("cargo_credits_used{period=today," + a), 5);
    EXPECT_EQ(all.at("cargo_credits_used{period=month," + a), 12);
    EXPECT_EQ(all.at("cargo_credits_used{period=30d," + a), 112);
    EXPECT_EQ(all.at("cargo_credits_used{period=month,workflow_name=Lookup,workflow_uuid=wf-b}"), 0);
    EXPECT_EQ(only(all, "cargo_credits_used").size(), 9u);  // covered workflows only
    EXPECT_EQ(only(all, "cargo_credits_used_by_integration"),
              (Series{{"cargo_credits_used_by_integration{integration_slug=hubspot,period=30d}", 2},
                      {"cargo_credits_used_by_integration{integration_slug=hubspot,period=month}", 2},
                      {"cargo_credits_used_by_integration{integration_slug=hubspot,period=today}", 2}}));
}

config::QuerySpec failures_spec(config::MetricType type, std::string name) {
    return {.sql = "SELECT node_slug, count() AS failures FROM spans WHERE execution_started_at >= $__from AND "
                   "execution_started_at < $__to GROUP BY node_slug",
            .metrics = {{.name = std::move(name), .help = "Node failures", .type = type, .value = "failures",
                         .labels = {"node_slug"}, .const_labels = {{"team", "revops"}}}}};
}

TEST_F(KindsTest, QueryGaugeMapsColumnsAndNamesBadColumns) {
    api.on_json("/orchestration/query", R"({"rows": [{"node_slug": "enrich", "failures": "3"},
                                                     {"node_slug": "score", "failures": null}]})");
    QueryCollector gauge("q", failures_spec(config::MetricType::gauge, "cargo_custom_failures"), {.interval = 5min}, client, clock,
                         nullptr, nullptr);
    const auto series = flatten(gauge.collect(context()));
    expect_declared(gauge, series);
    EXPECT_EQ(series, (Series{{"cargo_custom_failures{node_slug=enrich,team=revops}", 3}}));

    auto missing = failures_spec(config::MetricType::gauge, "cargo_custom_failures");
    missing.metrics[0].value = "errors";
    QueryCollector bad("q", missing, {.interval = 5min}, client, clock, nullptr, nullptr);
    try {
        bad.collect(context());
        FAIL() << "expected a mapping error";
    } catch (const CollectorError& e) {
        EXPECT_EQ(e.reason(), "mapping");
        EXPECT_STREQ(e.what(), "metric cargo_custom_failures: column \"errors\" is not in the query's answer "
                               "(columns: node_slug, failures)");
    }

    api.on_json("/orchestration/query", R"({"rows": [{"node_slug": "enrich", "failures": "many"}]})");
    try {
        gauge.collect(context());
        FAIL() << "expected a mapping error";
    } catch (const CollectorError& e) {
        EXPECT_EQ(e.reason(), "mapping");
        EXPECT_STREQ(e.what(), "metric cargo_custom_failures: column \"failures\" row 1 is not a number");
    }
}

TEST_F(KindsTest, QueryCountersCountEachRangeOnceAcrossRestarts) {
    const auto path = std::filesystem::temp_directory_path() / ("cargomon-watermarks-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path);
    // One failure per minute from an hour ago; the answer counts those in [$__from, $__to).
    std::vector<SystemTime> failures;
    for (int i = -60; i < 60; ++i) failures.push_back(clock.now() + std::chrono::minutes(i));
    std::vector<std::pair<SystemTime, SystemTime>> ranges;
    api.on("/orchestration/query", [&](const cargo::Request& r) {
        const std::string sql = json_body(r)["query"].GetString();
        std::smatch m;
        EXPECT_TRUE(std::regex_search(
            sql, m, std::regex(">= toDateTime\\((\\d+), 'UTC'\\) AND .* < toDateTime\\((\\d+), 'UTC'\\)")))
            << sql;
        const auto from = unix_time(m[1].str()), to = unix_time(m[2].str());
        ranges.emplace_back(from, to);
        int n = 0;
        for (auto t : failures) n += t >= from && t < to;
        return cargo::Response{.status = 200, .body = R"({"rows": [{"node_slug": "enrich", "failures": )" +
                                                          std::to_string(n) + "}]}"};
    });
    const auto spec = failures_spec(config::MetricType::counter, "cargo_custom_failures_total");
    const std::string key = "cargo_custom_failures_total{node_slug=enrich,team=revops}";
    const auto start = clock.now();
    {
        WatermarkStore store(path.string());
        QueryCollector q("q", spec, {.interval = 5min}, client, clock, &store, nullptr);
        EXPECT_EQ(flatten(q.collect(context())).at(key), 0);  // first run: counting starts now
        clock.advance(10min);
        EXPECT_EQ(flatten(q.collect(context())).at(key), 10);  // [start - 1m, start + 9m)
    }
    clock.advance(10min);  // restart: a new store and collector over the same file
    WatermarkStore store(path.string());
    QueryCollector q("q", spec, {.interval = 5min}, client, clock, &store, nullptr);
    EXPECT_EQ(flatten(q.collect(context())).at(key), 20);  // + [start + 9m, start + 19m)
    ASSERT_EQ(ranges.size(), 3u);
    EXPECT_EQ(ranges[0], std::make_pair(start - 1min, start - 1min));
    EXPECT_EQ(ranges[1], std::make_pair(start - 1min, start + 9min));
    EXPECT_EQ(ranges[2], std::make_pair(start + 9min, start + 19min));
    std::filesystem::remove(path);
}

TEST_F(KindsTest, TokenNeverInErrors) {
    api.on("/orchestration/query", [](const cargo::Request&) {
        return cargo::Response{.status = 401, .body = R"({"errorMessage":"bad token tok-secret"})"};
    });
    QueryCollector q("q", failures_spec(config::MetricType::gauge, "cargo_custom_failures"), {.interval = 5min}, client, clock,
                     nullptr, nullptr);
    try {
        q.collect(context());
        FAIL();
    } catch (const std::exception& e) {
        EXPECT_EQ(error_reason(e), "authorization");
        EXPECT_EQ(std::string(e.what()).find("tok-secret"), std::string::npos) << e.what();
    }
}

// A watermark file of its own, removed after the test.
struct StateFile {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("cargomon-watermarks-" + std::to_string(::getpid()) + "-" +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    StateFile() { std::filesystem::remove(path); }
    ~StateFile() { std::filesystem::remove(path); }
};

// The query answer: `rows` (JSON) for any range that is not empty, none for an empty
// one, as SQL would; `ranges` (may be null) records each [from, to).
void answer_rows(CannedApi& api, const std::string* rows, std::vector<std::pair<SystemTime, SystemTime>>* ranges) {
    api.on("/orchestration/query", [rows, ranges](const cargo::Request& r) {
        const std::string sql = json_body(r)["query"].GetString();
        std::smatch m;
        if (!std::regex_search(sql, m, std::regex("toDateTime\\((\\d+), 'UTC'\\).*toDateTime\\((\\d+), 'UTC'\\)")))
            return cargo::Response{.status = 400, .body = R"({"errorMessage":"unexpected query"})"};
        const auto from = unix_time(m[1].str()), to = unix_time(m[2].str());
        if (ranges) ranges->emplace_back(from, to);
        return cargo::Response{.status = 200, .body = "{\"rows\": [" + (from < to ? *rows : "") + "]}"};
    });
}

TEST_F(KindsTest, QueryGaugesExportNanAndInfinities) {
    std::string rows = R"({"node_slug": "a", "failures": "nan"}, {"node_slug": "b", "failures": "inf"},
                          {"node_slug": "c", "failures": "-inf"}, {"node_slug": "d", "failures": 2})";
    answer_rows(api, &rows, nullptr);
    QueryCollector gauge("q", failures_spec(config::MetricType::gauge, "cargo_custom_failures"), {.interval = 5min},
                         client, clock, nullptr, nullptr);
    const auto series = flatten(gauge.collect(context()));
    ASSERT_EQ(series.size(), 4u);
    EXPECT_TRUE(std::isnan(series.at("cargo_custom_failures{node_slug=a,team=revops}")));
    EXPECT_EQ(series.at("cargo_custom_failures{node_slug=b,team=revops}"), std::numeric_limits<double>::infinity());
    EXPECT_EQ(series.at("cargo_custom_failures{node_slug=c,team=revops}"), -std::numeric_limits<double>::infinity());
    EXPECT_EQ(series.at("cargo_custom_failures{node_slug=d,team=revops}"), 2);
}

// A counter row of NaN used to fail the state save (SQLite stores NaN as NULL against NOT
// NULL) on every run: the watermark never moved and the collector stayed down.
TEST_F(KindsTest, QueryCounterRefusesNonFiniteRowsCountsTheRestAndAdvances) {
    StateFile file;
    WatermarkStore store(file.path.string());
    std::vector<std::pair<SystemTime, SystemTime>> ranges;
    std::string rows;
    answer_rows(api, &rows, &ranges);
    const auto spec = failures_spec(config::MetricType::counter, "cargo_custom_failures_total");
    QueryCollector q("q", spec, {.interval = 5min}, client, clock, &store, &registry);
    EXPECT_EQ(cargomon::testing::sample_value(registry, "cargomon_query_rejected_rows_total",
                                    {{"collector", "q"}, {"metric", "cargo_custom_failures_total"}}),
              0);  // exported from the start, so increase() sees the first
    q.collect(context());
    rows = R"({"node_slug": "a", "failures": "nan"}, {"node_slug": "b", "failures": "inf"},
              {"node_slug": "c", "failures": -3}, {"node_slug": "d", "failures": "many"},
              {"node_slug": "e", "failures": 4}, {"node_slug": "a", "failures": 1})";
    clock.advance(5min);
    const auto series = flatten(q.collect(context()));
    EXPECT_EQ(series, (Series{{"cargo_custom_failures_total{node_slug=a,team=revops}", 1},
                              {"cargo_custom_failures_total{node_slug=e,team=revops}", 4}}));
    EXPECT_EQ(cargomon::testing::sample_value(registry, "cargomon_query_rejected_rows_total",
                                    {{"collector", "q"}, {"metric", "cargo_custom_failures_total"}}),
              4);
    rows = R"({"node_slug": "e", "failures": 2})";
    clock.advance(5min);
    EXPECT_EQ(flatten(q.collect(context())).at("cargo_custom_failures_total{node_slug=e,team=revops}"), 6);
    ASSERT_EQ(ranges.size(), 3u);
    EXPECT_EQ(ranges[2].first, ranges[1].second) << "the watermark advanced past the refused rows";
    EXPECT_EQ(store.load("q")->watermark, ranges[2].second);
}

TEST_F(KindsTest, QueryCounterTotalsAbsentPastCounterMaxStalenessAreDropped) {
    StateFile file;
    std::string rows = R"({"node_slug": "gone", "failures": 1}, {"node_slug": "stays", "failures": 1})";
    std::vector<std::pair<SystemTime, SystemTime>> ranges;
    answer_rows(api, &rows, &ranges);
    auto spec = failures_spec(config::MetricType::counter, "cargo_custom_failures_total");
    spec.counter_max_staleness = 30min;
    const std::string gone = "cargo_custom_failures_total{node_slug=gone,team=revops}";
    const std::string stays = "cargo_custom_failures_total{node_slug=stays,team=revops}";
    {
        WatermarkStore store(file.path.string());
        QueryCollector q("q", spec, {.interval = 5min}, client, clock, &store, nullptr);
        q.collect(context());
        clock.advance(10min);
        EXPECT_EQ(flatten(q.collect(context())), (Series{{gone, 1}, {stays, 1}}));
        rows = R"({"node_slug": "stays", "failures": 1})";
        clock.advance(30min);  // "gone" last carried by a range ending 30 min before this one's end
        EXPECT_EQ(flatten(q.collect(context())), (Series{{gone, 1}, {stays, 2}}));
    }
    // A restart does not drop it early: loaded totals count as seen at the saved watermark.
    WatermarkStore store(file.path.string());
    QueryCollector q("q", spec, {.interval = 5min}, client, clock, &store, nullptr);
    clock.advance(1s);
    EXPECT_EQ(flatten(q.collect(context())), (Series{{gone, 1}, {stays, 3}}));
    clock.advance(31min);
    EXPECT_EQ(flatten(q.collect(context())), (Series{{stays, 4}}));
    const auto saved = store.load("q");
    ASSERT_TRUE(saved);
    EXPECT_EQ(saved->totals.size(), 1u) << "dropped from the state file too";
}

TEST_F(KindsTest, CollectionsOverMaxSeriesFailAndSayWhichKey) {
    discover();  // wf-a, wf-b, wf-c: three cargo_workflow_info series
    auto limited = limit_series(std::make_unique<DiscoveryCollector>("discovery", config::DiscoverySpec{}, client,
                                                                     catalog, clock),
                                2, &registry);
    EXPECT_EQ(limited->name(), "discovery");
    EXPECT_EQ(cargomon::testing::sample_value(registry, "cargomon_collector_series_limit", {{"collector", "discovery"}}), 2);
    try {
        limited->collect(context());
        FAIL() << "expected a series limit error";
    } catch (const CollectorError& e) {
        EXPECT_EQ(e.reason(), "series_limit");
        EXPECT_NE(std::string(e.what()).find("3 series, more than max_series 2"), std::string::npos) << e.what();
    }
    auto enough = limit_series(std::make_unique<DiscoveryCollector>("discovery", config::DiscoverySpec{}, client,
                                                                    catalog, clock),
                               3, nullptr);
    EXPECT_EQ(flatten(enough->collect(context())).size(), 3u);
}

// Over the limit, a counter's state is left alone: once the limit is raised, the range
// that did not fit is counted, nothing lost and nothing twice.
TEST_F(KindsTest, QueryOverMaxSeriesFailsWithoutMovingItsWatermark) {
    StateFile file;
    WatermarkStore store(file.path.string());
    std::string rows;
    answer_rows(api, &rows, nullptr);
    const auto spec = failures_spec(config::MetricType::counter, "cargo_custom_failures_total");
    const config::Schedule tight{.interval = 5min, .max_series = 2};
    QueryCollector q("q", spec, tight, client, clock, &store, nullptr);
    q.collect(context());
    const auto watermark = store.load("q")->watermark;
    rows = R"({"node_slug": "a", "failures": 1}, {"node_slug": "b", "failures": 1}, {"node_slug": "c", "failures": 1})";
    clock.advance(5min);
    try {
        q.collect(context());
        FAIL() << "expected a series limit error";
    } catch (const CollectorError& e) {
        EXPECT_EQ(e.reason(), "series_limit");
        EXPECT_NE(std::string(e.what()).find("3 rows, more than max_series 2"), std::string::npos) << e.what();
    }
    EXPECT_EQ(store.load("q")->watermark, watermark);

    // Rows within the limit that make more series than it (two metrics a row): the same.
    auto two = spec;
    two.metrics.push_back({.name = "cargo_custom_failures", .value = "failures", .labels = {"node_slug"}});
    QueryCollector q2("q2", two, {.interval = 5min, .max_series = 3}, client, clock, &store, nullptr);
    q2.collect(context());
    const auto watermark2 = store.load("q2")->watermark;
    rows = R"({"node_slug": "a", "failures": 1}, {"node_slug": "b", "failures": 1})";
    clock.advance(5min);
    try {
        q2.collect(context());
        FAIL() << "expected a series limit error";
    } catch (const CollectorError& e) {
        EXPECT_EQ(e.reason(), "series_limit");
        EXPECT_NE(std::string(e.what()).find("4 series, more than max_series 3"), std::string::npos) << e.what();
    }
    EXPECT_EQ(store.load("q2")->watermark, watermark2);

    const config::Schedule raised{.interval = 5min, .max_series = 3};
    rows = R"({"node_slug": "a", "failures": 1}, {"node_slug": "b", "failures": 1}, {"node_slug": "c", "failures": 1})";
    QueryCollector again("q", spec, raised, client, clock, &store, nullptr);
    EXPECT_EQ(flatten(again.collect(context())).size(), 3u);
    EXPECT_GT(store.load("q")->watermark, watermark);
}

}  // namespace
}  // namespace cargomon::collectors
