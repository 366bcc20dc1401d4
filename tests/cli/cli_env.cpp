#include "tests/cli/cli_env.h"

#include <gtest/gtest.h>

#include <memory>

namespace cargomon::testing {
namespace {

class Env : public ::testing::Environment {
public:
    void SetUp() override {
        sim = std::make_unique<SimProcess>(SimOptions{.workflows = 3, .history = "10m", .live = false});
        daemon = std::make_unique<DaemonProcess>("api_url: " + sim->url() + "\ntoken: " + sim->token() + R"(
collectors:
  - {name: runs, kind: run_counts, windows: [1h]}
)",
                                                 DaemonOptions{.extra_args = {"--web.enable-admin-api"}});
    }
    void TearDown() override {
        daemon.reset();
        sim.reset();
    }

    std::unique_ptr<SimProcess> sim;
    std::unique_ptr<DaemonProcess> daemon;
};

Env* const env = static_cast<Env*>(::testing::AddGlobalTestEnvironment(new Env));

}  // namespace

const SimProcess& shared_sim() { return *env->sim; }
const DaemonProcess& shared_daemon() { return *env->daemon; }

}  // namespace cargomon::testing
