// Every collector of the real daemon against ground truth computed by SQL (and plain API
// reads) on the same non-live sim; auto and api run counts agree; promtool accepts a scrape.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "common/timefmt.h"
#include "tests/support/environment_main.h"
#include "tests/daemon/daemon_process.h"
#include "tests/daemon/sim_client.h"
#include "tests/daemon/sim_environment.h"
#include "tests/support/tools.h"

namespace cargomon::testing {
namespace {

constexpr const char* kRunStatuses[] = {"idle",    "pending", "running",   "success",
                                        "error",   "cancelling", "cancelled", "skipped"};
constexpr const char* kBatchStatuses[] = {"pending", "syncing",    "skipped", "querying", "running",
                                          "success", "cancelling", "error",   "cancelled"};

std::string connection(const SimProcess& sim) {
    return "api_url: " + sim.url() + "\ntoken: " + sim.token() +
           "\nclient: {rate_limit: 500, max_in_flight: 4}\n"
           "defaults: {interval: 3s, timeout: 3s, jitter: 0}\n";
}

// Every kind, on windows that cover the whole (non-live) history but the 1h one.
std::string all_kinds_config(const SimProcess& sim) {
    return connection(sim) + R"(collectors:
  - {name: discovery, kind: discovery}
  - {name: runs, kind: run_counts, windows: [1h, 7d], strategy: auto}
  - {name: nodes, kind: run_metrics, scope: window, window: 7d}
  - {name: batches, kind: batches, window: 7d, limit: 1000}
  - {name: credits, kind: credits, window: 30d, group_by: [workflow_uuid, integration_slug]}
  - {name: subscription, kind: subscription}
  - {name: durations, kind: durations, window: 7d}
  - name: custom
    kind: query
    sql: SELECT workflow_uuid, status, count() AS n FROM runs GROUP BY workflow_uuid, status
    metrics:
      - {name: cargo_custom_runs, help: Runs by status, value: n, labels: [workflow_uuid, status], const_labels: {team: e2e}}
)";
}

std::string api_counts_config(const SimProcess& sim) {
    return connection(sim) + R"(collectors:
  - {name: discovery, kind: discovery}
  - {name: runs_api, kind: run_counts, windows: [1h, 7d], strategy: api, interval: 5s, timeout: 5s}
)";
}

bool all_succeeded(const Scrape& s, std::initializer_list<const char*> collectors) {
    for (const char* c : collectors) {
        auto v = s.value("cargomon_collector_last_success_timestamp_seconds", {{"collector", c}});
        if (!v || *v <= 0) return false;
    }
    return true;
}

class Env : public SimEnvironment {
public:
    Env() : SimEnvironment({.workflows = 4, .history = "1d"}) {}
    void SetUp() override {
        SimEnvironment::SetUp();
        daemon = std::make_unique<DaemonProcess>(all_kinds_config(*sim));
        api_daemon = std::make_unique<DaemonProcess>(api_counts_config(*sim));
    }
    void TearDown() override {
        api_daemon.reset();
        daemon.reset();
        SimEnvironment::TearDown();
    }
    std::unique_ptr<DaemonProcess> daemon;
    std::unique_ptr<DaemonProcess> api_daemon;
};

Env* env = nullptr;

Scrape settled_scrape() {
    return env->daemon->scrape_until(
        [](const Scrape& s) { return all_succeeded(s, {"discovery", "runs", "nodes", "batches", "credits", "subscription", "durations", "custom"});
        });
}

double num(const std::string& text) { return text.empty() ? 0 : std::stod(text); }

bool close(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)}); }

// A sample's labels without the ones every workflow series shares, for messages.
std::string describe(const Labels& labels) {
    std::string s;
    for (const auto& [k, v] : labels) s += k + "=" + v + " ";
    return s;
}

// (uuid, name, kind, enabled) of every workflow, from the lists discovery reads.
std::set<std::vector<std::string>> expected_workflows() {
    auto workflows = env->client->get_json("/v1/orchestration/workflows/list");
    auto plays = env->client->get_json("/v1/orchestration/plays/list");
    auto tools = env->client->get_json("/v1/orchestration/tools/list");
    std::set<std::vector<std::string>> out;
    for (const auto& w : workflows["workflows"].GetArray()) {
        std::vector<std::string> row = {w["uuid"].GetString(), w["uuid"].GetString(), "none", "true"};
        for (const auto& p : plays["plays"].GetArray())
            if (row[0] == p["workflowUuid"].GetString())
                row = {row[0], p["name"].GetString(), "play", p["isEnabled"].GetBool() ? "true" : "false"};
        for (const auto& t : tools["tools"].GetArray())
            if (row[0] == t["workflowUuid"].GetString() && row[2] == "none")
                row = {row[0], t["name"].GetString(), "tool", "true"};
        out.insert(row);
    }
    return out;
}

std::vector<std::string> workflow_uuids() {
    std::vector<std::string> out;
    for (const auto& w : expected_workflows()) out.push_back(w[0]);
    return out;
}

TEST(DaemonE2eCollectors, DiscoveryInfoMatchesPlaysAndTools) {
    auto scrape = settled_scrape();
    std::set<std::vector<std::string>> exported;
    for (const auto& s : scrape.find("cargo_workflow_info")) {
        EXPECT_EQ(s.value, 1);
        exported.insert({s.labels.at("workflow_uuid"), s.labels.at("workflow_name"), s.labels.at("kind"),
                         s.labels.at("enabled")});
    }
    auto expected = expected_workflows();
    EXPECT_EQ(exported, expected);
    EXPECT_EQ(expected.size(), 4u);
}

// The ground truth of cargo_workflow_runs for one window starting at `start` (unix s):
// (workflow, status) -> runs.
std::map<std::pair<std::string, std::string>, double> runs_since(long long start) {
    std::map<std::pair<std::string, std::string>, double> out;
    for (const auto& r : env->client->sql("SELECT workflow_uuid, status, count() AS n FROM runs WHERE created_at >= "
                                          "toDateTime(" + std::to_string(start) + ") GROUP BY workflow_uuid, status"))
        out[{r.at("workflow_uuid"), r.at("status")}] = num(r.at("n"));
    return out;
}

// Whether the run_counts families of `collector` in `scrape` are exactly what SQL says
// for a collection at `now`; the reason when not.
std::string run_counts_mismatch(const Scrape& scrape, long long now, const std::vector<std::string>& workflows) {
    for (const auto& [window, seconds] : {std::pair<std::string, long long>{"1h", 3600}, {"7d", 7 * 86400}}) {
        auto truth = runs_since(now - seconds);
        std::size_t series = 0;
        for (const auto& w : workflows) {
            double finished = 0;
            for (const char* status : kRunStatuses) {
                double want = truth.count({w, status}) ? truth[{w, status}] : 0;
                auto got = scrape.value("cargo_workflow_runs", {{"workflow_uuid", w}, {"status", status}, {"window", window}});
                if (!got || *got != want)
                    return "runs " + w + " " + status + " " + window + ": got " + (got ? std::to_string(*got) : "none") +
                           ", want " + std::to_string(want);
                ++series;
                if (std::string_view(status) == "success" || std::string_view(status) == "error" ||
                    std::string_view(status) == "cancelled" || std::string_view(status) == "skipped")
                    finished += want;
            }
            auto got_finished = scrape.value("cargo_workflow_finished_runs", {{"workflow_uuid", w}, {"window", window}});
            if (!got_finished || *got_finished != finished) return "finished " + w + " " + window;
            auto ratio = scrape.value("cargo_workflow_error_ratio", {{"workflow_uuid", w}, {"window", window}});
            double errors = truth.count({w, "error"}) ? truth[{w, "error"}] : 0;
            if (finished == 0 ? ratio.has_value() : (!ratio || !close(*ratio, errors / finished)))
                return "error ratio " + w + " " + window;
        }
        if (scrape.find("cargo_workflow_runs", {{"window", window}}).size() != series) return "extra runs series";
    }
    return "";
}

// The collection instant is the run's start in whole seconds; a newer run may have been
// published just after the timestamp was read, so a few seconds later count too.
void expect_run_counts_match_sql(const Scrape& scrape, const std::string& collector) {
    const auto started = scrape.value("cargomon_collector_last_success_timestamp_seconds", {{"collector", collector}});
    ASSERT_TRUE(started);
    const auto workflows = workflow_uuids();
    std::string reasons;
    for (long long t = static_cast<long long>(*started); t <= static_cast<long long>(*started) + 8; ++t) {
        auto why = run_counts_mismatch(scrape, t, workflows);
        if (why.empty()) return;
        reasons += "at " + std::to_string(t) + ": " + why + "\n";
    }
    ADD_FAILURE() << "run counts of " << collector << " match SQL at no instant near their collection:\n" << reasons;
}

TEST(DaemonE2eCollectors, RunCountsMatchSqlPerWorkflowStatusAndWindow) {
    auto scrape = settled_scrape();
    expect_run_counts_match_sql(scrape, "runs");
    // auto found SQL usable: no fallback to per-workflow calls.
    EXPECT_EQ(scrape.value("cargomon_collector_sql_fallbacks_total", {{"collector", "runs"}}), 0);
    double seven_day_runs = 0;
    for (const auto& s : scrape.find("cargo_workflow_runs", {{"window", "7d"}})) seven_day_runs += s.value;
    EXPECT_GT(seven_day_runs, 0) << "the fixture should have runs";
}

TEST(DaemonE2eCollectors, AutoAndApiStrategiesAgree) {
    auto api = env->api_daemon->scrape_until([](const Scrape& s) { return all_succeeded(s, {"discovery", "runs_api"}); });
    expect_run_counts_match_sql(api, "runs_api");
    EXPECT_GT(env->client->requests("/v1/orchestration/runs/count"), 0u);
    // The 7d window holds the whole history, so both strategies must give the same series.
    auto sql = settled_scrape();
    for (const char* family : {"cargo_workflow_runs", "cargo_workflow_finished_runs", "cargo_workflow_error_ratio"}) {
        auto a = sql.find(family, {{"window", "7d"}});
        auto b = api.find(family, {{"window", "7d"}});
        ASSERT_EQ(a.size(), b.size()) << family;
        ASSERT_FALSE(a.empty()) << family;
        for (const auto& s : a) {
            auto other = api.value(family, s.labels);
            ASSERT_TRUE(other) << family << " " << describe(s.labels);
            EXPECT_EQ(*other, s.value) << family << " " << describe(s.labels);
        }
    }
}

TEST(DaemonE2eCollectors, RunMetricsMatchSpansPerNode) {
    auto scrape = settled_scrape();
    std::size_t nodes_with_spans = 0;
    for (const auto& w : workflow_uuids()) {
        auto rows = env->client->sql(
            "SELECT node_uuid, any(node_slug) AS slug, count() AS total, countIf(execution_status = 'success') AS ok, "
            "countIf(execution_status = 'error') AS failed, sum(execution_credits_used_count) AS credits FROM spans "
            "WHERE workflow_uuid = '" + w + "' AND run_uuid IN (SELECT uuid FROM runs WHERE workflow_uuid = '" + w +
            "') GROUP BY node_uuid");
        std::set<std::string> seen;
        for (const auto& r : rows) {
            const Labels node = {{"workflow_uuid", w}, {"node_uuid", r.at("node_uuid")}};
            seen.insert(r.at("node_uuid"));
            ++nodes_with_spans;
            double total = 0;
            for (const auto& s : scrape.find("cargo_node_executions", node)) {
                EXPECT_EQ(s.labels.at("node_slug"), r.at("slug"));
                total += s.value;
            }
            EXPECT_EQ(total, num(r.at("total"))) << describe(node);
            EXPECT_EQ(scrape.value("cargo_node_executions", {{"node_uuid", r.at("node_uuid")}, {"status", "success"}}),
                      num(r.at("ok")));
            EXPECT_EQ(scrape.value("cargo_node_executions", {{"node_uuid", r.at("node_uuid")}, {"status", "error"}}),
                      num(r.at("failed")));
            auto credits = scrape.value("cargo_node_credits_used", node);
            ASSERT_TRUE(credits) << describe(node);
            EXPECT_TRUE(close(*credits, num(r.at("credits")))) << *credits << " vs " << r.at("credits");
        }
        // Nodes the spans never saw are exported as zero.
        for (const auto& s : scrape.find("cargo_node_executions", {{"workflow_uuid", w}}))
            if (!seen.count(s.labels.at("node_uuid"))) {
                EXPECT_EQ(s.value, 0) << describe(s.labels);
            }
    }
    EXPECT_GT(nodes_with_spans, 0u);
}

TEST(DaemonE2eCollectors, BatchesMatchTheBatchesTable) {
    auto scrape = settled_scrape();
    auto rows = env->client->sql(
        "SELECT uuid, workflow_uuid, status, runs_count, executed_runs_count, failed_runs_count, credits_used_count "
        "FROM batches");
    ASSERT_FALSE(rows.empty());
    std::map<std::string, std::map<std::string, double>> per_status;  // workflow -> status -> batches
    std::map<std::string, double> partial;
    for (const auto& r : rows) {
        const Labels batch = {{"workflow_uuid", r.at("workflow_uuid")}, {"batch_uuid", r.at("uuid")}};
        const double total = num(r.at("runs_count")), executed = num(r.at("executed_runs_count"));
        EXPECT_EQ(scrape.value("cargo_batch_runs", {{"batch_uuid", r.at("uuid")}, {"state", "total"}}), total);
        EXPECT_EQ(scrape.value("cargo_batch_runs", {{"batch_uuid", r.at("uuid")}, {"state", "executed"}}), executed);
        EXPECT_EQ(scrape.value("cargo_batch_runs", {{"batch_uuid", r.at("uuid")}, {"state", "failed"}}),
                  num(r.at("failed_runs_count")));
        EXPECT_EQ(scrape.value("cargo_batch_runs", {{"batch_uuid", r.at("uuid")}, {"state", "unfinished"}}),
                  std::max(0.0, total - executed));
        auto credits = scrape.value("cargo_batch_credits_used", batch);
        ASSERT_TRUE(credits) << describe(batch);
        EXPECT_TRUE(close(*credits, num(r.at("credits_used_count"))));
        auto status = scrape.find("cargo_batch_status", batch);
        ASSERT_EQ(status.size(), 1u) << describe(batch);
        EXPECT_EQ(status[0].labels.at("status"), r.at("status"));
        EXPECT_EQ(status[0].value, 1);
        per_status[r.at("workflow_uuid")][r.at("status")] += 1;
        if (r.at("status") == "success" && num(r.at("failed_runs_count")) > 0) partial[r.at("workflow_uuid")] += 1;
    }
    EXPECT_EQ(scrape.find("cargo_batch_status").size(), rows.size()) << "no batch the table lacks";
    for (const auto& w : workflow_uuids()) {
        for (const char* status : kBatchStatuses)
            EXPECT_EQ(scrape.value("cargo_workflow_batches", {{"workflow_uuid", w}, {"status", status}, {"window", "7d"}}),
                      per_status[w][status])
                << w << " " << status;
        EXPECT_EQ(scrape.value("cargo_workflow_partially_failed_batches", {{"workflow_uuid", w}, {"window", "7d"}}),
                  partial[w]);
    }
}

TEST(DaemonE2eCollectors, CreditsMatchSpansPerWorkflowAndIntegration) {
    auto scrape = settled_scrape();
    using namespace std::chrono;
    const auto now = floor<seconds>(system_clock::now());
    const auto today = floor<days>(now);
    const auto month = sys_days{year_month_day{today}.year() / year_month_day{today}.month() / 1};
    const auto window = floor<days>(now - days{30});
    double any = 0;
    for (const auto& [period, start] : {std::pair<std::string, SystemTime>{"today", today}, {"month", month}, {"30d", window}}) {
        const auto since = "execution_started_at >= toDateTime(" +
                           std::to_string(duration_cast<seconds>(start.time_since_epoch()).count()) + ")";
        for (const auto& r : env->client->sql("SELECT workflow_uuid AS g, sum(execution_credits_used_count) AS c FROM "
                                              "spans WHERE " + since + " GROUP BY g")) {
            auto got = scrape.value("cargo_credits_used", {{"workflow_uuid", r.at("g")}, {"period", period}});
            ASSERT_TRUE(got) << r.at("g") << " " << period;
            EXPECT_TRUE(close(*got, num(r.at("c")))) << period << " " << *got << " vs " << r.at("c");
            any += *got;
        }
        std::size_t groups = 0;
        for (const auto& r : env->client->sql(
                 "SELECT node_integration_slug AS g, sum(execution_credits_used_count) AS c FROM spans WHERE " + since +
                 " AND isNotNull(node_integration_slug) GROUP BY g HAVING c > 0")) {
            ++groups;
            auto got = scrape.value("cargo_credits_used_by_integration", {{"integration_slug", r.at("g")}, {"period", period}});
            ASSERT_TRUE(got) << r.at("g") << " " << period;
            EXPECT_TRUE(close(*got, num(r.at("c")))) << period << " " << r.at("g") << " " << *got << " vs " << r.at("c");
        }
        EXPECT_EQ(scrape.find("cargo_credits_used_by_integration", {{"period", period}}).size(), groups) << period;
    }
    EXPECT_GT(any, 0);
}

TEST(DaemonE2eCollectors, QueryGaugeMapsColumnsToLabels) {
    auto scrape = settled_scrape();
    auto rows = env->client->sql("SELECT workflow_uuid, status, count() AS n FROM runs GROUP BY workflow_uuid, status");
    ASSERT_FALSE(rows.empty());
    for (const auto& r : rows)
        EXPECT_EQ(scrape.value("cargo_custom_runs",
                               {{"workflow_uuid", r.at("workflow_uuid")}, {"status", r.at("status")}, {"team", "e2e"}}),
                  num(r.at("n")))
            << r.at("workflow_uuid") << " " << r.at("status");
    EXPECT_EQ(scrape.find("cargo_custom_runs").size(), rows.size());
    EXPECT_NE(scrape.text.find("# TYPE cargo_custom_runs gauge"), std::string::npos);
}

TEST(DaemonE2eCollectors, PromtoolAcceptsARealScrape) {
    const std::string promtool = "/usr/bin/promtool";
    CARGOMON_REQUIRE_TOOL(std::filesystem::exists(promtool), "no " + promtool);
    auto scrape = settled_scrape();
    TempDir dir;
    const auto file = dir.write("metrics.txt", scrape.text);
    std::string output;
    FILE* pipe = ::popen((promtool + " check metrics < " + file + " 2>&1").c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    const int status = ::pclose(pipe);
    EXPECT_EQ(status, 0) << output;
    EXPECT_EQ(output, "");
}

}  // namespace
}  // namespace cargomon::testing

int main(int argc, char** argv) {
    return cargomon::testing::run_with_environment(argc, argv, cargomon::testing::env, new cargomon::testing::Env);
}
