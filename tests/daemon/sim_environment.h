#pragma once
// One cargomon-sim (and a client of it) for a whole test binary, as a gtest Environment:
// its cases share one ClickHouse. Suites that start more on top derive from it.
#include <gtest/gtest.h>

#include <memory>

#include "tests/daemon/sim_client.h"
#include "tests/support/sim_process.h"

namespace cargomon::testing {

class SimEnvironment : public ::testing::Environment {
public:
    explicit SimEnvironment(SimOptions options) : options_(std::move(options)) {}

    void SetUp() override {
        sim = std::make_unique<SimProcess>(options_);
        client = std::make_unique<SimClient>(*sim);
    }
    void TearDown() override {
        client.reset();
        sim.reset();
    }

    std::unique_ptr<SimProcess> sim;
    std::unique_ptr<SimClient> client;

private:
    SimOptions options_;
};

}  // namespace cargomon::testing
