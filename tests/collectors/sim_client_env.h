#pragma once
// The environment of the collector suites that run against the real sim: one sim (with
// the suite's options) for the whole binary, an API client on it without a rate limit,
// and a catalog filled by one discovery, so each case builds the collector it tests.
#include <gtest/gtest.h>

#include <memory>

#include "cargo/client.h"
#include "cargo/sleeper.h"
#include "collectors/discovery.h"
#include "tests/support/sim_process.h"

namespace cargomon::collectors {

class SimClientEnv : public ::testing::Environment {
public:
    explicit SimClientEnv(testing::SimOptions sim_options) : sim_options_(std::move(sim_options)) {}

    void SetUp() override {
        using namespace std::chrono_literals;
        sim = std::make_unique<testing::SimProcess>(sim_options_);
        options = {.base_url = sim->url(), .token = sim->token(), .max_in_flight = 4, .rate_limit_per_s = 0};
        transport = cargo::make_http_transport(options);
        client = std::make_unique<cargo::ApiClient>(options, *transport, registry, clock, sleeper);
        DiscoveryCollector discovery("discovery", {}, *client, catalog, clock);
        discovery.collect({.deadline = clock.monotonic() + 1min});
    }
    void TearDown() override {
        client.reset();
        transport.reset();
        sim.reset();
    }

    // Requests the client made, over every endpoint: the calls of what ran in between.
    double requests() {
        double sum = 0;
        for (const auto& family : registry.Collect())
            if (family.name == "cargomon_api_requests_total")
                for (const auto& metric : family.metric) sum += metric.counter.value;
        return sum;
    }

    std::unique_ptr<testing::SimProcess> sim;
    SystemClock clock;
    cargo::ClockSleeper sleeper{clock};
    prometheus::Registry registry;
    cargo::ClientOptions options;
    std::unique_ptr<cargo::Transport> transport;
    std::unique_ptr<cargo::ApiClient> client;
    WorkflowCatalog catalog;

private:
    testing::SimOptions sim_options_;
};

}  // namespace cargomon::collectors
