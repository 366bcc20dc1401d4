// The query API of the real daemon, read by real clients: `promtool query
// instant|range|series|labels` of the Debian `prometheus` package (which POSTs its
// parameters form-encoded, as Grafana does), and the same instant query's answer compared
// with a Debian Prometheus scraping the daemon. The series are cargomon's own, which it
// appends to its history at start and every 15 s (no sim needed).
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>

#include "common/process.h"
#include "common/text.h"
#include "tests/daemon/daemon_process.h"
#include "tests/support/prom_process.h"
#include "tests/support/tools.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;

struct Output {
    int status = -1;
    std::string text;  // stdout and stderr
};

// Runs promtool with `args` (each quoted for the shell).
Output promtool(const std::vector<std::string>& args) {
    std::string command = "promtool";
    for (const auto& arg : args) {
        std::string quoted_arg = "'";
        for (char c : arg) quoted_arg += c == '\'' ? std::string("'\\''") : std::string(1, c);
        command += " " + quoted_arg + "'";
    }
    command += " 2>&1";
    Output out;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return out;
    char buffer[4096];
    for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.text.append(buffer, n);
    const int status = pclose(pipe);
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

std::string unix_now(std::chrono::seconds shift = 0s) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return std::to_string((now + shift).count());
}

class QueryApiE2E : public ::testing::Test {
protected:
    void SetUp() override {
        CARGOMON_REQUIRE_TOOL(!find_executable("promtool").empty(), "promtool (Debian prometheus)");
        daemon_ = std::make_unique<DaemonProcess>(kUnreachableApiConfig, DaemonOptions{.wait_ready = false});
        // The history's first self-metrics append runs as the daemon starts.
        for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
            auto answer = daemon_->get("/api/v1/query?query=cargomon_build_info");
            if (answer.status == 200 && answer.body.find("\"version\"") != std::string::npos) return;
            std::this_thread::sleep_for(200ms);
        }
        FAIL() << "cargomon_build_info never appeared in the history:\n" << daemon_->log();
    }

    std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(QueryApiE2E, PromtoolQueriesTheDaemon) {
    const std::string& url = daemon_->url();
    // promtool prints an instant vector as `name{labels} => value @[time]`.
    auto instant = promtool({"query", "instant", url, "cargomon_build_info"});
    EXPECT_EQ(instant.status, 0) << instant.text;
    EXPECT_EQ(instant.text.rfind("cargomon_build_info{compiler=\"", 0), 0u) << instant.text;
    EXPECT_NE(instant.text.find("\", version=\""), std::string::npos) << instant.text;
    EXPECT_NE(instant.text.find("} => 1 @["), std::string::npos) << instant.text;

    // Whole seconds, a second ahead: the daemon's first samples are from under a second ago.
    auto arithmetic = promtool({"query", "instant", "--time", unix_now(1s), url, "sum(cargomon_build_info) * 21 + 0.5"});
    EXPECT_EQ(arithmetic.status, 0) << arithmetic.text;
    EXPECT_EQ(arithmetic.text.rfind("{} => 21.5 @[", 0), 0u) << arithmetic.text;

    // A range query: the series, then one `value @[time]` line per step (five steps in a
    // minute at 15 s, the lookback covering those before the first sample).
    auto range = promtool({"query", "range", "--start", unix_now(-59s), "--end", unix_now(1s), "--step", "15s", url,
                           "count(cargomon_build_info)"});
    EXPECT_EQ(range.status, 0) << range.text;
    EXPECT_EQ(range.text.rfind("{} =>\n", 0), 0u) << range.text;
    std::size_t points = 0;
    for (std::size_t at = 0; (at = range.text.find("\n1 @[", at)) != std::string::npos; ++at) ++points;
    EXPECT_GE(points, 1u) << range.text;
    EXPECT_LE(points, 5u) << range.text;

    auto series = promtool({"query", "series", "--match", "cargomon_build_info", url});
    EXPECT_EQ(series.status, 0) << series.text;
    EXPECT_EQ(series.text.rfind("{__name__=\"cargomon_build_info\", compiler=\"", 0), 0u) << series.text;
    EXPECT_EQ(std::count(series.text.begin(), series.text.end(), '\n'), 1) << series.text;

    auto names = promtool({"query", "labels", url, "__name__"});
    EXPECT_EQ(names.status, 0) << names.text;
    EXPECT_NE(names.text.find("\ncargomon_build_info\n"), std::string::npos) << names.text;
    EXPECT_NE(names.text.find("\ncargomon_history_samples\n"), std::string::npos) << names.text;

    // The errors promtool reports are Prometheus' own.
    auto bad = promtool({"query", "instant", url, "sum("});
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.text.find("bad_data"), std::string::npos) << bad.text;
}

TEST_F(QueryApiE2E, SameAnswerAsPrometheusScrapingTheDaemon) {
    CARGOMON_REQUIRE_TOOL(!find_executable("prometheus").empty(), "prometheus (Debian)");
    const std::string port = daemon_->url().substr(daemon_->url().rfind(':') + 1);
    PrometheusServer prometheus("global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                                "scrape_configs:\n"
                                "  - job_name: cargomon\n"
                                "    static_configs: [{targets: ['127.0.0.1:" + port + "']}]\n");
    const std::string query = "cargomon_build_info";
    std::vector<PromSample> theirs;
    for (auto deadline = std::chrono::steady_clock::now() + 60s;
         theirs.empty() && std::chrono::steady_clock::now() < deadline;) {
        std::this_thread::sleep_for(200ms);
        theirs = prometheus.query(query);
    }
    ASSERT_EQ(theirs.size(), 1u) << "Prometheus never ingested the scrape:\n" << prometheus.log();
    // Prometheus adds the target's labels; the rest must be ours exactly.
    theirs[0].labels.erase("instance");
    theirs[0].labels.erase("job");
    auto answer = daemon_->get("/api/v1/query?query=" + percent_encode(query));
    ASSERT_EQ(answer.status, 200) << answer.body;
    rapidjson::Document doc;
    doc.Parse(answer.body.c_str());
    ASSERT_TRUE(doc.IsObject()) << answer.body;
    ASSERT_EQ(std::string(doc["data"]["resultType"].GetString()), "vector");
    const auto& result = doc["data"]["result"];
    ASSERT_EQ(result.Size(), 1u) << answer.body;
    std::map<std::string, std::string> ours;
    for (const auto& [k, v] : result[0]["metric"].GetObject()) ours[k.GetString()] = v.GetString();
    EXPECT_EQ(ours, theirs[0].labels);
    EXPECT_EQ(std::stod(result[0]["value"][1].GetString()), theirs[0].value);
}

}  // namespace
}  // namespace cargomon::testing
