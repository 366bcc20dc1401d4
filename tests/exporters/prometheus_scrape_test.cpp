// A real Prometheus scrapes the server; it asks for OpenMetrics first, so this proves
// Prometheus' own parser accepts our exposition, escaping included.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/net.h"
#include "common/process.h"
#include "exporters/http_server.h"

namespace cargomon::exporters {
namespace {

using namespace std::chrono_literals;

// Runs a PromQL instant query; nullopt until it has a result.
std::optional<std::string> query_value(int port, const std::string& promql) {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
    if (!res || res->status != 200) return std::nullopt;
    rapidjson::Document doc;
    doc.Parse(res->body.c_str());
    if (doc.HasParseError() || !doc.HasMember("data")) return std::nullopt;
    const auto& result = doc["data"]["result"];
    if (!result.IsArray() || result.Empty()) return std::nullopt;
    return std::string(result[0]["value"][1].GetString());
}

TEST(PrometheusScrape, RealPrometheusIngestsTheExposition) {
    if (find_executable("prometheus").empty()) GTEST_SKIP() << "prometheus not installed";
    metrics::MetricStore store;
    prometheus::Registry registry;
    metrics::Family failed{.name = "cargo_batch_failed_runs_total", .help = "Failed runs \"so far\".\nBy workflow.",
                           .type = metrics::MetricType::counter};
    failed.samples.push_back({{{"workflow_name", "Enrich \"leads\" \\ EU\nv2"}, {"workflow_uuid", "wf-1"}}, 42});
    metrics::Family runs{.name = "cargo_workflow_runs", .type = metrics::MetricType::gauge};
    runs.samples.push_back({{{"status", "running"}}, 1.5});
    store.publish("workflows", metrics::Snapshot{{failed, runs}}, std::chrono::system_clock::now());
    HttpServer server(store, registry,
                      {.status = [] { return std::string("{}"); }, .reload = [] { return std::optional<std::string>{}; }});
    server.start("127.0.0.1:0");

    char dir_template[] = "/tmp/cargomon-prometheus-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    std::filesystem::path dir = dir_template;
    std::ofstream(dir / "prometheus.yml") << "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                                             "scrape_configs:\n"
                                             "  - job_name: cargomon\n"
                                             "    static_configs: [{targets: ['127.0.0.1:"
                                          << server.port() << "']}]\n";
    int prometheus_port = free_loopback_port();
    {
        Process prometheus({.argv = {"prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
                                     "--storage.tsdb.path=" + (dir / "data").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
                            .output_file = (dir / "prometheus.log").string()});
        std::optional<std::string> escaped;
        for (auto deadline = std::chrono::steady_clock::now() + 60s;
             !escaped && std::chrono::steady_clock::now() < deadline;) {
            std::this_thread::sleep_for(200ms);
            escaped = query_value(prometheus_port,
                                  R"(cargo_batch_failed_runs_total{workflow_name="Enrich \"leads\" \\ EU\nv2"})");
        }
        ASSERT_TRUE(escaped) << "Prometheus never ingested the scrape; see " << (dir / "prometheus.log");
        EXPECT_EQ(*escaped, "42");
        EXPECT_EQ(query_value(prometheus_port, R"(up{job="cargomon"})"), "1");
        EXPECT_EQ(query_value(prometheus_port, R"(cargo_workflow_runs{status="running"})"), "1.5");
        EXPECT_TRUE(query_value(prometheus_port, R"(scrape_samples_scraped{job="cargomon"} >= 2)"));
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cargomon::exporters
