#include "tests/support/sim_process.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/net.h"

namespace cargomon::testing {

std::string sim_binary() { return CARGOMON_SIM_BINARY; }

SimProcess::SimProcess(SimOptions o) {
    namespace fs = std::filesystem;
    char tmpl[] = "/tmp/cargomon-sim-test-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    log_file_ = dir_ + "/sim.log";
    std::vector<std::string> argv = {sim_binary(),
                                     "--listen", "127.0.0.1:" + std::to_string(free_loopback_port()),
                                     "--clickhouse-data", dir_ + "/clickhouse",
                                     "--workflows", std::to_string(o.workflows),
                                     "--history", o.history,
                                     "--seed", std::to_string(o.seed),
                                     "--workspaces", std::to_string(o.workspaces),
                                     "--log.level", "warn"};
    if (o.live) {
        argv.push_back("--live");
        argv.push_back("--rate");
        argv.push_back(std::to_string(o.rate));
    }
    if (o.control) argv.push_back("--control");
    argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
    process_ = std::make_unique<Process>(
        ProcessOptions{.argv = argv, .env = {{"CARGOMON_SIM_TOKEN", token_}}, .output_file = log_file_});

    const std::regex ready(R"(cargomon-sim listening on (http://\S+) \(workspace (\S+), clickhouse (\S+)\))");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{120};
    while (true) {
        std::ifstream in(log_file_);
        std::stringstream text;
        text << in.rdbuf();
        std::smatch m;
        std::string s = text.str();
        if (std::regex_search(s, m, ready)) {
            url_ = m[1];
            workspace_uuid_ = m[2];
            clickhouse_url_ = m[3];
            return;
        }
        if (!process_->running()) throw std::runtime_error("cargomon-sim exited at start:\n" + s);
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("cargomon-sim not ready:\n" + s);
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
}

SimProcess::~SimProcess() {
    process_->stop(std::chrono::seconds{15});
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

}  // namespace cargomon::testing
