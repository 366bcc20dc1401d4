#pragma once
// Talking to a running cargomon-sim from a test: its Cargo API (ground truth by SQL,
// plain GETs) and its /_sim/ control API (faults, request stats).
#include <rapidjson/document.h>

#include <map>
#include <string>
#include <vector>

#include "tests/support/sim_process.h"

namespace cargomon::testing {

// One result row of /v1/orchestration/query, every value as text ("" for null).
using Row = std::map<std::string, std::string>;

class SimClient {
public:
    explicit SimClient(const SimProcess& sim) : sim_(sim) {}

    std::vector<Row> sql(const std::string& query) const;  // throws on any non-200 answer
    rapidjson::Document get_json(const std::string& path) const;  // a /v1 GET; throws on non-200
    void put_fault(const std::string& json) const;  // PUT /_sim/faults
    void clear_faults() const;                      // DELETE /_sim/faults
    void post_event(const std::string& json) const;  // POST /_sim/events (an error spike, ...)
    void clear_events() const;                       // DELETE /_sim/events: every effect ends
    // Workflow uuids of the live workload, busiest first, ranked once the last two minutes
    // hold `min_runs` runs (throws after 60 s): live runs come in batches of up to five
    // seconds of the whole rate, so a few seconds of traffic say little.
    std::vector<std::string> busiest_workflows(int min_runs = 400) const;
    // Requests the sim answered on `endpoint` (a path or pattern of /_sim/stats).
    std::uint64_t requests(const std::string& endpoint) const;

private:
    const SimProcess& sim_;
};

}  // namespace cargomon::testing
