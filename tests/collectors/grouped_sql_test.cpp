// The grouped SQL paths of the batches and run_metrics collectors against the real sim
// (ClickHouse behind it): the same series as their per-workflow API paths on one sim, in
// pages or not, a handful of calls instead of one per workflow, the fallback of strategy
// auto when SQL is refused, and where the failed runs of each batch failed against what
// the spans say.
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <map>
#include <set>

#include "cargo/client.h"
#include "cargo/sleeper.h"
#include "collectors/batch_failures.h"
#include "collectors/batches.h"
#include "collectors/discovery.h"
#include "collectors/run_metrics.h"
#include "collectors/series.h"
#include "common/text.h"
#include "tests/collectors/sim_client_env.h"
#include "tests/support/environment_main.h"
#include "tests/support/registry_sample.h"
#include "tests/support/sim_process.h"

namespace cargomon::collectors {
namespace {

using namespace std::chrono_literals;


SimClientEnv* env = nullptr;

double requests() { return env->requests(); }

// "family{label=value,...}" -> value, to compare two snapshots whole.
using Series = std::map<std::string, double>;
Series series_of(const metrics::Snapshot& snapshot, const std::set<std::string>& only = {}) {
    Series out;
    for (const auto& family : snapshot.families) {
        if (!only.empty() && !only.count(family.name)) continue;
        for (const auto& sample : family.samples) {
            auto labels = sample.labels;
            std::sort(labels.begin(), labels.end());
            std::string key = family.name + "{";
            for (const auto& [name, value] : labels) key += name + "=" + value + ",";
            out[key + "}"] = sample.value;
        }
    }
    return out;
}

std::size_t samples(const metrics::Snapshot& snapshot, const std::string& family) {
    for (const auto& f : snapshot.families)
        if (f.name == family) return f.samples.size();
    return 0;
}

struct Collected {
    metrics::Snapshot snapshot;
    double calls = 0;
};

template <class Collector>
Collected collect(Collector& collector) {
    const double before = requests();
    Collected out{collector.collect({.deadline = env->clock.monotonic() + 2min})};
    out.calls = requests() - before;
    return out;
}

std::vector<std::string> sql_column(const std::string& sql, const std::string& column) {
    auto result = env->client->query(sql);
    std::vector<std::string> out;
    for (std::size_t r = 0; r < result.row_count(); ++r) out.push_back(cell_text(result, r, column, "test", true));
    return out;
}

class SimFault {
public:
    explicit SimFault(const std::string& json) : http_(env->sim->url()) {
        auto res = http_.Put("/_sim/faults", headers_, json, "application/json");
        if (!res || res->status != 200) throw std::runtime_error("PUT /_sim/faults failed");
    }
    ~SimFault() { http_.Delete("/_sim/faults", headers_); }

private:
    httplib::Client http_;
    httplib::Headers headers_{{"authorization", "Bearer " + env->sim->token()}};
};

std::size_t workflows() { return env->catalog.require()->covered.size(); }

std::size_t deployed_workflows() {
    const auto& covered = env->catalog.require()->covered;
    return static_cast<std::size_t>(
        std::count_if(covered.begin(), covered.end(), [](const WorkflowInfo& w) { return w.deployed_release_uuid.has_value(); }));
}

// The most nodes a workflow has: a page must hold one workflow whole.
std::size_t max_nodes() {
    std::size_t most = 0;
    for (const auto& w : env->catalog.require()->covered) most = std::max(most, w.node_slugs.size());
    return most;
}

// The most batches a workflow created since `since`.
std::size_t max_batches(SystemTime since) {
    auto result = env->client->query("SELECT max(n) AS most FROM (SELECT count() AS n FROM batches WHERE created_at >= " +
                                     sql_datetime(since) + " GROUP BY workflow_uuid)");
    return static_cast<std::size_t>(cell_number(result, 0, "most", "test"));
}

TEST(GroupedSql, RunMetricsFromSqlEqualsThePerWorkflowCallsInEveryScope) {
    FakeClock frozen(whole_seconds(env->clock.now()));
    for (auto scope : {config::RunMetricsScope::window, config::RunMetricsScope::release, config::RunMetricsScope::all}) {
        SCOPED_TRACE(static_cast<int>(scope));
        config::RunMetricsSpec spec{.scope = scope, .window = 2h};
        spec.strategy = config::CountStrategy::api;
        RunMetricsCollector api("nodes", spec, *env->client, env->catalog, frozen);
        spec.strategy = config::CountStrategy::sql;
        RunMetricsCollector sql("nodes", spec, *env->client, env->catalog, frozen);
        // Pages of one workflow's nodes and a bit: they split between workflows many times.
        RunMetricsCollector paged("nodes", spec, *env->client, env->catalog, frozen, nullptr, max_nodes() + 2);

        const auto by_api = collect(api), by_sql = collect(sql), by_pages = collect(paged);
        EXPECT_GT(samples(by_api.snapshot, "cargo_node_executions"), 0u);
        EXPECT_EQ(series_of(by_sql.snapshot), series_of(by_api.snapshot));
        EXPECT_EQ(series_of(by_pages.snapshot), series_of(by_api.snapshot));
        EXPECT_EQ(by_sql.calls, 1);
        EXPECT_GT(by_pages.calls, 2);
        EXPECT_EQ(by_api.calls, double(scope == config::RunMetricsScope::release ? deployed_workflows() : workflows()));
    }
    // Executions exist in the 2h window of a 1d history: the comparison compared something.
    config::RunMetricsSpec spec{.scope = config::RunMetricsScope::window, .window = 2h};
    RunMetricsCollector sql("nodes", spec, *env->client, env->catalog, frozen);
    double executions = 0;
    for (const auto& [key, value] : series_of(collect(sql).snapshot, {"cargo_node_executions"})) executions += value;
    EXPECT_GT(executions, 0);
}

TEST(GroupedSql, BatchesFromSqlEqualThePerWorkflowCalls) {
    FakeClock frozen(whole_seconds(env->clock.now()));
    const std::set<std::string> api_families = {"cargo_batch_runs", "cargo_batch_credits_used", "cargo_batch_status",
                                                "cargo_workflow_batches", "cargo_workflow_partially_failed_batches"};
    for (int limit : {1, 3, 1000}) {
        SCOPED_TRACE(limit);
        config::BatchesSpec spec{.window = 12h, .limit = limit};
        spec.strategy = config::CountStrategy::api;
        BatchesCollector api("batches", spec, *env->client, env->catalog, frozen);
        spec.strategy = config::CountStrategy::sql;
        BatchesCollector sql("batches", spec, *env->client, env->catalog, frozen);
        const std::size_t page = std::min<std::size_t>(limit, max_batches(frozen.now() - 12h)) + 1;
        BatchesCollector paged("batches", spec, *env->client, env->catalog, frozen, nullptr, page);

        const auto by_api = collect(api), by_sql = collect(sql), by_pages = collect(paged);
        EXPECT_GT(samples(by_api.snapshot, "cargo_batch_status"), 0u);
        EXPECT_EQ(series_of(by_sql.snapshot, api_families), series_of(by_api.snapshot));
        EXPECT_EQ(series_of(by_pages.snapshot), series_of(by_sql.snapshot));
        EXPECT_EQ(by_api.calls, double(workflows()));
        // The batches query, and the failures query when a batch has failed runs.
        EXPECT_LE(by_sql.calls, 2);
        EXPECT_GT(by_pages.calls, by_sql.calls);
        if (limit == 1) {
            EXPECT_LE(samples(by_sql.snapshot, "cargo_batch_status"), workflows());
        }
    }
    // A page one workflow fills alone cannot be split: the run fails saying so.
    BatchesCollector cramped("batches", {.window = 12h, .limit = 1000, .strategy = config::CountStrategy::sql},
                             *env->client, env->catalog, frozen, nullptr, max_batches(frozen.now() - 12h));
    try {
        cramped.collect({.deadline = frozen.monotonic() + 1min});
        ADD_FAILURE() << "a workflow filling a page was paged";
    } catch (const CollectorError& e) {
        EXPECT_EQ(e.reason(), "mapping");
        EXPECT_NE(std::string(e.what()).find("strategy: api"), std::string::npos) << e.what();
    }
}

TEST(GroupedSql, AutoFallsBackToThePerWorkflowCallsWhenSqlIsRefused) {
    FakeClock frozen(whole_seconds(env->clock.now()));
    prometheus::Registry registry;
    config::BatchesSpec spec{.window = 12h, .limit = 50};
    BatchesCollector automatic("batches", spec, *env->client, env->catalog, frozen, &registry);
    spec.strategy = config::CountStrategy::sql;
    BatchesCollector sql_only("batches", spec, *env->client, env->catalog, frozen, &registry);
    spec.strategy = config::CountStrategy::api;
    BatchesCollector api("batches", spec, *env->client, env->catalog, frozen);
    RunMetricsCollector nodes("nodes", {.scope = config::RunMetricsScope::window, .window = 2h}, *env->client,
                              env->catalog, frozen, &registry);

    const auto expected = series_of(collect(api).snapshot);
    const auto fallbacks = [&](const char* collector) {
        return testing::sample_value(registry, "cargomon_collector_sql_fallbacks_total", {{"collector", collector}});
    };
    EXPECT_EQ(fallbacks("batches"), 0);
    {
        // A token without SQL rights: every query answered 403.
        SimFault refused(R"({"endpoint": "/v1/orchestration/query", "error_ratio": 1, "statuses": [403]})");
        const auto fell_back = collect(automatic);
        EXPECT_EQ(series_of(fell_back.snapshot), expected);
        EXPECT_EQ(fell_back.calls, 1 + double(workflows()));  // the refused query, then one call per workflow
        EXPECT_EQ(fallbacks("batches"), 1);
        EXPECT_THROW(sql_only.collect({.deadline = frozen.monotonic() + 1min}), cargo::RequestError);
        collect(nodes);
        EXPECT_EQ(fallbacks("nodes"), 1);
    }
    {
        // A server error is no refusal: the per-workflow calls would meet it too.
        SimFault down(R"({"endpoint": "/v1/orchestration/query", "error_ratio": 1, "statuses": [500]})");
        cargo::ClientOptions no_retry = env->options;
        no_retry.retry.max_attempts = 1;
        auto transport = cargo::make_http_transport(no_retry);
        prometheus::Registry client_registry;
        cargo::ApiClient client(no_retry, *transport, client_registry, env->clock, env->sleeper);
        BatchesCollector batches("batches", {.window = 12h, .limit = 50}, client, env->catalog, frozen, &registry);
        EXPECT_THROW(batches.collect({.deadline = frozen.monotonic() + 1min}), cargo::ServerError);
    }
    // SQL is tried again at the next collection.
    const auto recovered = collect(automatic);
    EXPECT_EQ(recovered.calls, series_of(recovered.snapshot, {"cargo_batch_failed_runs_by_node"}).empty() ? 1 : 2);
    EXPECT_EQ(series_of(recovered.snapshot, {"cargo_batch_runs", "cargo_batch_credits_used", "cargo_batch_status",
                                             "cargo_workflow_batches", "cargo_workflow_partially_failed_batches"}),
              expected);
}

// Ground truth for where failed runs failed, the long way: every errored execution of
// the batch's failed runs, the last one of each run decides.
std::map<std::string, std::map<std::string, std::map<std::string, int>>> failures_of(const std::string& batch) {
    auto result = env->client->query(
        "SELECT run_uuid, execution_index, node_slug, ifNull(execution_error_message, '') AS message FROM spans "
        "WHERE execution_status = 'error' AND run_uuid IN (SELECT uuid FROM runs WHERE status = 'error' AND "
        "batch_uuid = '" + batch + "') ORDER BY run_uuid, execution_index");
    std::map<std::string, std::pair<std::string, std::string>> last;  // run -> (node, message)
    for (std::size_t r = 0; r < result.row_count(); ++r)
        last[cell_text(result, r, "run_uuid", "t")] = {cell_text(result, r, "node_slug", "t"),
                                                       cell_text(result, r, "message", "t")};
    std::map<std::string, std::map<std::string, std::map<std::string, int>>> out;  // batch -> node -> message -> runs
    for (const auto& [run, where] : last) ++out[batch][where.first][where.second];
    return out;
}

TEST(GroupedSql, FailedRunsByNodeAndTopErrorMatchTheSpans) {
    FakeClock frozen(whole_seconds(env->clock.now()));
    config::BatchesSpec spec{.window = 24h, .limit = 1000};
    BatchesCollector batches("batches", spec, *env->client, env->catalog, frozen);
    const auto collected = collect(batches);
    EXPECT_EQ(collected.calls, 2);  // batches, then failures: never one per batch

    std::map<std::string, double> failed;  // batch -> failed runs, from cargo_batch_runs
    for (const auto& f : collected.snapshot.families)
        if (f.name == "cargo_batch_runs")
            for (const auto& s : f.samples) {
                std::map<std::string, std::string> l(s.labels.begin(), s.labels.end());
                if (l["state"] == "failed" && s.value > 0) failed[l["batch_uuid"]] = s.value;
            }
    ASSERT_GE(failed.size(), 2u) << "the fixture should have batches with failed runs";

    std::map<std::string, std::map<std::string, double>> by_node;      // batch -> node -> runs
    std::map<std::string, std::pair<std::string, std::string>> top;    // batch -> (node, message)
    for (const auto& f : collected.snapshot.families)
        for (const auto& s : f.samples) {
            std::map<std::string, std::string> l(s.labels.begin(), s.labels.end());
            if (f.name == "cargo_batch_failed_runs_by_node") by_node[l["batch_uuid"]][l["node_slug"]] = s.value;
            if (f.name == "cargo_batch_top_error_info") {
                EXPECT_EQ(s.value, 1);
                EXPECT_TRUE(top.emplace(l["batch_uuid"], std::pair{l["node_slug"], l["error_message"]}).second);
            }
        }
    EXPECT_EQ(by_node.size(), failed.size());
    EXPECT_EQ(top.size(), failed.size());
    for (const auto& [batch, runs] : failed) {
        SCOPED_TRACE(batch);
        auto truth = failures_of(batch)[batch];
        std::vector<std::pair<double, std::string>> ranked;  // (-runs, node)
        double total = 0;
        for (const auto& [node, messages] : truth) {
            double n = 0;
            for (const auto& [m, k] : messages) n += k;
            ranked.push_back({-n, node});
            total += n;
        }
        std::sort(ranked.begin(), ranked.end());
        EXPECT_EQ(total, runs) << "every failed run of the batch failed at one node";
        ASSERT_FALSE(ranked.empty());
        std::map<std::string, double> want;
        for (std::size_t i = 0; i < ranked.size() && i < kFailedNodesPerBatch; ++i) want[ranked[i].second] = -ranked[i].first;
        EXPECT_EQ(by_node[batch], want);
        const auto& top_node = ranked.front().second;
        EXPECT_EQ(top[batch].first, top_node);
        int most = 0;
        for (const auto& [m, k] : truth[top_node]) most = std::max(most, k);
        EXPECT_EQ(truth[top_node][top[batch].second], most) << top[batch].second;
        EXPECT_FALSE(top[batch].second.empty());
    }
}

// The contract gives no status for a query that cannot run: a query's own failure falls
// back whether it came as a 4xx or a 5xx; the server's trouble does not.
TEST(SqlStrategy, AQuerysOwnFailureFallsBackUnder4xxAnd5xxAlike) {
    prometheus::Registry registry;
    SqlStrategy strategy("c", config::CountStrategy::automatic, &registry);
    const auto outcome = [&](auto error) {  // by value: thrown as its own type
        bool api = false;
        try {
            strategy.run([&] { throw error; }, [&] { api = true; });
        } catch (const cargo::ApiError&) {
            return std::string("failed");
        }
        return std::string(api ? "fell back" : "neither");
    };
    EXPECT_EQ(outcome(cargo::RequestError("q", 400, "Code: 62. DB::Exception: Syntax error", "")), "fell back");
    EXPECT_EQ(outcome(cargo::ServerError("q", 500, "Code: 62. DB::Exception: Syntax error", "")), "fell back");
    EXPECT_EQ(outcome(cargo::ServerError("q", 502, "Code: 47. DB::Exception: Missing columns", "")), "fell back");
    EXPECT_EQ(outcome(cargo::RequestError("q", 403, "", "")), "fell back");  // a token without SQL rights
    EXPECT_EQ(testing::sample_value(registry, "cargomon_collector_sql_fallbacks_total", {{"collector", "c"}}), 4);
    EXPECT_EQ(outcome(cargo::ServerError("q", 503, "overloaded", "")), "failed");
    EXPECT_EQ(outcome(cargo::ServerError("q", 500, "Code: 202. DB::Exception: Too many simultaneous queries", "")),
              "failed");
    EXPECT_EQ(outcome(cargo::AuthorizationError("q", 401, "", "")), "failed");
    EXPECT_EQ(outcome(cargo::NetworkError("q")), "failed");
}

TEST(LabelText, ControlCharactersBecomeOneSpaceAndLongTextIsCut) {
    EXPECT_EQ(printable("rate\nlimited\t\t(429)\x01\x7f", 200), "rate limited (429)");
    EXPECT_EQ(printable("  padded \r\n", 200), "padded");
    EXPECT_EQ(printable("bad \xff\xfe utf-8 \xc3", 200), "bad utf-8");
    EXPECT_EQ(printable("C1\xc2\x85here", 200), "C1 here");
    const std::string long_text(500, 'x');
    EXPECT_EQ(printable(long_text, 200), std::string(197, 'x') + "...");
    // Never inside a character: é is two bytes, the cut falls before the one it would split.
    std::string accents;
    for (int i = 0; i < 150; ++i) accents += "\xc3\xa9";
    const auto cut = printable(accents, 200);
    EXPECT_LE(cut.size(), 200u);
    EXPECT_EQ(cut, accents.substr(0, 196) + "...");
    EXPECT_EQ(printable("short", 200), "short");
}

TEST(SqlString, QuotesAndBackslashesAreEscaped) {
    EXPECT_EQ(sql_string("it's"), "'it\\'s'");
    EXPECT_EQ(sql_string("a\\' OR 1=1 --"), "'a\\\\\\' OR 1=1 --'");
    // What ClickHouse reads back is the text itself.
    EXPECT_EQ(sql_column("SELECT " + sql_string("it's a \\ test") + " AS v", "v"), std::vector<std::string>{"it's a \\ test"});
}

}  // namespace
}  // namespace cargomon::collectors

int main(int argc, char** argv) {
    namespace cm = cargomon;
    return cm::testing::run_with_environment(
        argc, argv, cm::collectors::env,
        new cm::collectors::SimClientEnv(cm::testing::SimOptions{.workflows = 12, .history = "1d", .seed = 7}));
}
