#pragma once
// Counts of the requests the sim answered, per endpoint pattern and status, so tests
// and benchmarks can see how many API calls a client made. Thread-safe.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <httplib.h>

namespace cargomon::sim {

// The path with id segments collapsed: "/v1/orchestration/batches/3f2a...-.../download"
// becomes "/v1/orchestration/batches/{uuid}/download".
std::string endpoint_pattern(std::string_view path);

// Thread-safe: record() from the server's request threads, snapshot()/reset() from any;
// mu_ guards counts_.
class RequestStats {
public:
    struct Endpoint {
        std::uint64_t total = 0;
        std::map<std::string, std::uint64_t> by_status;  // "200", "503", "reset"
    };
    struct Snapshot {
        std::uint64_t total = 0;
        std::map<std::string, Endpoint> endpoints;
    };

    // Counts one answer; meant as FaultInjector::install's observer, which runs before
    // the answer is sent. Requests to the control API (/_sim/) are not counted:
    // watching must not change the count.
    void record(const httplib::Request& req, const httplib::Response& res);

    Snapshot snapshot() const;
    void reset();

private:
    mutable std::mutex mu_;
    Snapshot counts_;
};

}  // namespace cargomon::sim
