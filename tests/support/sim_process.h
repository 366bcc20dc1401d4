#pragma once
// A cargomon-sim process for integration tests: private ClickHouse in a temp dir, a free
// loopback port, stopped (with its ClickHouse) when the object goes away.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/process.h"

namespace cargomon::testing {

struct SimOptions {
    int workflows = 5;
    std::string history = "1d";
    std::uint64_t seed = 1;
    int workspaces = 1;
    bool live = false;
    double rate = 20;
    bool control = true;
    std::vector<std::string> extra_args;
};

class SimProcess {
public:
    explicit SimProcess(SimOptions options = {});  // throws if it is not serving within 120 s
    ~SimProcess();

    const std::string& url() const { return url_; }  // "http://127.0.0.1:PORT"
    const std::string& token() const { return token_; }
    const std::string& workspace_uuid() const { return workspace_uuid_; }
    const std::string& clickhouse_url() const { return clickhouse_url_; }
    const std::string& log_file() const { return log_file_; }
    Process& process() { return *process_; }

private:
    std::string dir_;
    std::string log_file_;
    std::string url_;
    std::string token_ = "test-token-0123456789";
    std::string workspace_uuid_;
    std::string clickhouse_url_;
    std::unique_ptr<Process> process_;
};

std::string sim_binary();  // path of the built cargomon-sim

}  // namespace cargomon::testing
