// The real daemon against a fake Cargo API on loopback that turns hostile: after good
// answers it sends a gzip bomb (1 GiB of zeros in about 1 MB) on every request, as a
// proxy or anything on the path of an http:// api_url could. A 400 KB one once took the
// daemon to 540 MB: httplib inflated answers with no cap. Now the daemon stays alive and
// small, the collector goes down with the reason, and its last good snapshot is served.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "common/net.h"
#include "tests/daemon/daemon_process.h"
#include "tests/support/gzip.h"
#include "tests/support/sanitizer.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;

const std::string kToken = "answer-caps-token-7f3a";

// Answers discovery's three calls with one workflow, until bomb is set.
class FakeApi {
public:
    FakeApi() : bomb_body_(gzip_bomb(std::uint64_t{1} << 30)), port_(free_loopback_port()) {
        auto answer = [this](const char* json) {
            return [this, json](const httplib::Request& req, httplib::Response& res) {
                if (req.get_header_value("authorization") != "Bearer " + kToken) {
                    res.status = 401;
                    return;
                }
                if (!bomb) return res.set_content(json, "application/json");
                ++bombs_sent;
                res.set_header("Content-Encoding", "gzip");
                res.set_content(bomb_body_, "application/json");
            };
        };
        server_.Get("/v1/orchestration/workflows/list", answer(R"({"workflows": [{"uuid": "wf-caps-1"}]})"));
        server_.Get("/v1/orchestration/plays/list",
                    answer(R"({"plays": [{"uuid": "p1", "workflowUuid": "wf-caps-1", "name": "Capped", "isEnabled": true}]})"));
        server_.Get("/v1/orchestration/tools/list", answer(R"({"tools": []})"));
        if (!server_.bind_to_port("127.0.0.1", port_)) throw std::runtime_error("cannot listen");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    ~FakeApi() {
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::size_t bomb_size() const { return bomb_body_.size(); }

    std::atomic<bool> bomb{false};
    std::atomic<int> bombs_sent{0};

private:
    std::string bomb_body_;
    int port_;
    httplib::Server server_;
    std::thread thread_;
};

// The process' peak resident memory (VmHWM), in MiB.
double peak_rss_mib(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024;
    throw std::runtime_error("no VmHWM for pid " + std::to_string(pid));
}

double value_or(const Scrape& s, const std::string& name, const Labels& labels, double fallback) {
    return s.value(name, labels).value_or(fallback);
}

TEST(DaemonCargoAnswers, AGzipBombLeavesTheDaemonAliveSmallAndTheCollectorDownWithItsReason) {
    limit_asan_quarantine();  // the peak below is the daemon's, not ASan's quarantine
    FakeApi api;
    ASSERT_LT(api.bomb_size(), 2u << 20) << "the bomb is meant to be small on the wire";
    DaemonProcess daemon("api_url: " + api.url() + "\ntoken: " + kToken +
                             "\ncollectors:\n  - {name: discovery, kind: discovery, interval: 2s, timeout: 2s}\n",
                         {.wait_ready = false});
    const Labels workflow{{"workflow_uuid", "wf-caps-1"}, {"workflow_name", "Capped"}};
    daemon.scrape_until([&](const Scrape& s) {
        return value_or(s, "cargomon_collector_up", {{"collector", "discovery"}}, 0) == 1 &&
               s.value("cargo_workflow_info", workflow).has_value();
    });

    // What the daemon reached before any bomb (the build's own size: a sanitized one is
    // larger): the bombs are measured against it.
    const double before = peak_rss_mib(daemon.process().pid());
    api.bomb = true;
    // Three bombs in a row: a cap that held once but leaked would show in the peak.
    const Scrape bombed = daemon.scrape_until(
        [](const Scrape& s) {
            return value_or(s, "cargomon_collector_errors_total", {{"collector", "discovery"}, {"reason", "too_large"}},
                            0) >= 3;
        },
        90s);
    ASSERT_TRUE(daemon.process().running()) << daemon.log();
    // Each bomb inflates to 1 GiB; read within client.max_answer_bytes (64 MiB) and dropped,
    // three of them raise the peak by less than two caps' worth.
    const double peak = peak_rss_mib(daemon.process().pid());
    EXPECT_LT(peak - before, 128) << "peak RSS " << before << " MiB before, " << peak << " MiB after "
                                  << api.bombs_sent << " bombs";
    EXPECT_EQ(bombed.value("cargomon_collector_up", {{"collector", "discovery"}}), 0);
    // The last good snapshot is still served (until max_staleness, 10m by default).
    EXPECT_EQ(bombed.value("cargo_workflow_info", workflow), 1) << bombed.text;

    const HttpAnswer status = daemon.get("/api/v1/status");
    ASSERT_EQ(status.status, 200);
    EXPECT_NE(status.body.find("GET /v1/orchestration/workflows/list: HTTP 200 answer over client.max_answer_bytes "
                               "(64MiB once decoded)"),
              std::string::npos)
        << status.body;
    const std::string log = daemon.log();
    EXPECT_NE(log.find("cargo api: GET /v1/orchestration/workflows/list: HTTP 200 answer over client.max_answer_bytes"),
              std::string::npos)
        << log;
    for (const std::string& text : {log, status.body, daemon.get("/metrics").body})
        EXPECT_EQ(text.find(kToken), std::string::npos) << "the token leaked:\n" << text;

    // Once the API behaves again, so does the collector.
    api.bomb = false;
    daemon.scrape_until(
        [](const Scrape& s) { return value_or(s, "cargomon_collector_up", {{"collector", "discovery"}}, 0) == 1; }, 30s);
}

}  // namespace
}  // namespace cargomon::testing
