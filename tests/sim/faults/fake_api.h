#pragma once
// A stand-in for cargomon-sim on 127.0.0.1: a few plain /v1 JSON handlers with the fault
// injector, the request stats and the control API installed the way the sim does it.
#include <memory>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

#include "common/clock.h"
#include "sim/faults/conditions.h"
#include "sim/api/control.h"
#include "sim/faults/faults.h"
#include "sim/faults/request_stats.h"
#include "sim/gen/workspace.h"

namespace cargomon::sim::testing {

inline constexpr const char* kToken = "sim-secret-token";
inline constexpr const char* kEnrichUuid = "0b6f3f6e-8d0a-4d7e-9d6a-1f3c2b4a5e01";
inline constexpr const char* kScoreUuid = "0b6f3f6e-8d0a-4d7e-9d6a-1f3c2b4a5e02";
inline constexpr const char* kBatchUuid = "5a1c9e2d-3b4f-4a6e-8c7d-9e0f1a2b3c4d";

// Two workspaces; "Score accounts" exists in both, so its name is ambiguous.
inline std::vector<Workspace> test_workspaces() {
    Workflow enrich;
    enrich.uuid = kEnrichUuid;
    enrich.name = "Enrich inbound leads";
    Workflow score;
    score.uuid = kScoreUuid;
    score.name = "Score accounts";
    Workflow score_again;
    score_again.uuid = "0b6f3f6e-8d0a-4d7e-9d6a-1f3c2b4a5e03";
    score_again.name = "Score accounts";
    return {Workspace{"ws-1", "ws1", {enrich, score}}, Workspace{"ws-2", "ws2", {score_again}}};
}

inline const std::string kRunsCountBody = R"({"count":42,"note":"a plain answer from the stand-in API"})";

class FakeApi {
public:
    explicit FakeApi(std::uint64_t seed = 42)
        : faults(clock, seed),
          workspaces(test_workspaces()),
          control(faults, stats, conditions, workspaces, clock, kToken) {
        server.Post("/v1/orchestration/runs/count", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(kRunsCountBody, "application/json");
        });
        server.Get(R"(/v1/orchestration/batches/([0-9a-f-]+))",
                   [](const httplib::Request& req, httplib::Response& res) {
                       res.set_content("{\"batch\":{\"uuid\":\"" + std::string(req.matches[1]) + "\"}}",
                                       "application/json");
                   });
        // Without it every request waits out Nagle's algorithm against delayed ACKs.
        server.set_tcp_nodelay(true);
        faults.install(server, [this](const httplib::Request& req, const httplib::Response& res) {
            stats.record(req, res);
            std::lock_guard lock(ports_mu_);
            remote_ports_.push_back(req.remote_port);
        });
        control.register_routes(server);
        port = server.bind_to_any_port("127.0.0.1");
        thread = std::thread([this] { server.listen_after_bind(); });
        // stop() before the accept loop runs would be lost and leave join() waiting.
        while (!server.is_running()) std::this_thread::yield();
    }
    ~FakeApi() {
        server.stop();
        thread.join();
    }

    // The client port of every request the server answered, in order: one port for two
    // requests means one connection served both.
    std::vector<int> remote_ports() const {
        std::lock_guard lock(ports_mu_);
        return remote_ports_;
    }

    std::unique_ptr<httplib::Client> client() const {
        auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
        c->set_keep_alive(true);
        c->set_tcp_nodelay(true);
        c->set_read_timeout(10, 0);
        c->set_bearer_token_auth(kToken);
        return c;
    }

    mutable std::mutex ports_mu_;
    std::vector<int> remote_ports_;
    FakeClock clock;
    FaultInjector faults;
    RequestStats stats;
    Conditions conditions;
    std::vector<Workspace> workspaces;
    Control control;
    httplib::Server server;
    std::thread thread;
    int port = 0;
};

}  // namespace cargomon::sim::testing
