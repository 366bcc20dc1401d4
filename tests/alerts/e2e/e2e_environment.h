#pragma once
// The sim every case of alerts_e2e_test shares (main() in alerts_e2e_test.cpp sets `env`):
// three workflows with live traffic the cases change through /_sim/events.
#include <string>
#include <vector>

#include "tests/daemon/sim_environment.h"

namespace cargomon::testing {

class AlertsE2eEnvironment : public SimEnvironment {
public:
    AlertsE2eEnvironment() : SimEnvironment({.workflows = 3, .history = "10m", .live = true, .rate = 20}) {}
    void SetUp() override {
        SimEnvironment::SetUp();
        busiest = client->busiest_workflows();
        ASSERT_GE(busiest.size(), 2u) << "the live sim runs fewer than two workflows";
    }

    std::vector<std::string> busiest;  // workflow uuids, most live runs first
};

extern AlertsE2eEnvironment* env;

}  // namespace cargomon::testing
