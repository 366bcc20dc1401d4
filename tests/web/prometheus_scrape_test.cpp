// A real Prometheus scrapes the server; it asks for OpenMetrics first, so this proves
// Prometheus' own parser accepts our exposition, escaping included.
#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "common/process.h"
#include "tests/support/tools.h"
#include "tests/web/test_api.h"
#include "web/api_server.h"
#include "tests/support/prom_process.h"

namespace cargomon::web {
namespace {

using namespace std::chrono_literals;

// The value of the first sample of an instant query; nullopt while there is none.
std::optional<double> query_value(const testing::PrometheusServer& prometheus, const std::string& promql) {
    auto result = prometheus.query(promql);
    if (result.empty()) return std::nullopt;
    return result[0].value;
}

TEST(PrometheusScrape, RealPrometheusIngestsTheExposition) {
    CARGOMON_REQUIRE_TOOL(!find_executable("prometheus").empty(), "prometheus");
    metrics::MetricStore store;
    prometheus::Registry registry;
    metrics::Family failed{.name = "cargo_batch_failed_runs_total", .help = "Failed runs \"so far\".\nBy workflow.",
                           .type = metrics::MetricType::counter};
    failed.samples.push_back({{{"workflow_name", "Enrich \"leads\" \\ EU\nv2"}, {"workflow_uuid", "wf-1"}}, 42});
    metrics::Family runs{.name = "cargo_workflow_runs", .type = metrics::MetricType::gauge};
    runs.samples.push_back({{{"status", "running"}}, 1.5});
    store.publish("workflows", metrics::Snapshot{{failed, runs}}, std::chrono::system_clock::now());
    testing_support::TestApi api(store, registry);
    ApiServer& server = api.server;
    server.start("127.0.0.1:0");

    testing::PrometheusServer prometheus("global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                                         "scrape_configs:\n"
                                         "  - job_name: cargomon\n"
                                         "    static_configs: [{targets: ['127.0.0.1:" +
                                         std::to_string(server.port()) + "']}]\n");
    std::optional<double> escaped;
    for (auto deadline = std::chrono::steady_clock::now() + 60s; !escaped && std::chrono::steady_clock::now() < deadline;) {
        std::this_thread::sleep_for(200ms);
        escaped = query_value(prometheus, R"(cargo_batch_failed_runs_total{workflow_name="Enrich \"leads\" \\ EU\nv2"})");
    }
    ASSERT_TRUE(escaped) << "Prometheus never ingested the scrape:\n" << prometheus.log();
    EXPECT_EQ(*escaped, 42);
    EXPECT_EQ(query_value(prometheus, R"(up{job="cargomon"})"), 1);
    EXPECT_EQ(query_value(prometheus, R"(cargo_workflow_runs{status="running"})"), 1.5);
    EXPECT_TRUE(query_value(prometheus, R"(scrape_samples_scraped{job="cargomon"} >= 2)"));
}

}  // namespace
}  // namespace cargomon::web
