#pragma once
// The sim's control API under /_sim/, for tests, benchmarks and demos; registered only
// when the sim runs with --control and, like /v1, only for the sim's bearer token.
//
//   GET    /_sim/faults               {"faults": [{"endpoint", fault fields..., "until"}]}
//   PUT    /_sim/faults               an api_fault event ("kind" optional): sets it now
//   DELETE /_sim/faults[?endpoint=E]  clears one endpoint's fault, or all of them
//   POST   /_sim/events               one scenario event without "at": applies it now
//   DELETE /_sim/events               ends every workload effect
//   GET    /_sim/stats                {"total", "endpoints": {E: {"total", "statuses"}}}
//   POST   /_sim/stats/reset
// Errors use the Cargo API's {"errorMessage", "reason"} body.
#include <string>
#include <vector>

#include <httplib.h>

#include "common/clock.h"
#include "sim/faults/conditions.h"
#include "sim/faults/faults.h"
#include "sim/faults/request_stats.h"
#include "sim/gen/workspace.h"

namespace cargomon::sim {

class Control {
public:
    Control(FaultInjector& faults, RequestStats& stats, Conditions& conditions,
            const std::vector<Workspace>& workspaces, const Clock& clock, std::string token);

    void register_routes(httplib::Server& server);

private:
    bool authorized(const httplib::Request& req, httplib::Response& res) const;
    void get_faults(httplib::Response& res) const;
    void put_fault(const httplib::Request& req, httplib::Response& res);
    void delete_faults(const httplib::Request& req, httplib::Response& res);
    void post_event(const httplib::Request& req, httplib::Response& res);
    void get_stats(httplib::Response& res) const;

    FaultInjector& faults_;
    RequestStats& stats_;
    Conditions& conditions_;
    const std::vector<Workspace>& workspaces_;
    const Clock& clock_;
    const std::string token_;
};

}  // namespace cargomon::sim
