#pragma once
// Scenarios: timed events that change the simulated workload (through Conditions) or
// the API's behaviour (through FaultInjector), read from a YAML file such as
//
//   events:
//     - at: 30s
//       kind: error_spike          # error_rate for a while
//       workflow: "Enrich inbound leads"   # play/tool name, workflow uuid or "*"
//       error_rate: 0.6
//       for: 5m
//     - {at: 1m, kind: batch_failure, workflow: "*", failed_ratio: 0.4}
//     - {at: 2m, kind: silence, workflow: "*", for: 30m}
//     - {at: 3m, kind: credit_spike, workflow: "*", factor: 10, for: 10m}
//     - {at: 4m, kind: api_fault, endpoint: /v1/orchestration/query, error_ratio: 1, for: 2m}
//     - {at: 5m, kind: stuck_batch, workflow: "Enrich inbound leads", age: 2h}
//
// api_fault takes the fault fields of sim/faults/faults.h; its `for` is optional (no `for`:
// until cleared).
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"
#include "sim/faults/conditions.h"
#include "sim/faults/faults.h"
#include "sim/gen/workspace.h"

namespace cargomon::sim {

enum class EventKind { error_spike, batch_failure, silence, credit_spike, api_fault, stuck_batch };
const char* to_string(EventKind kind);

struct ScenarioEvent {
    Millis at{0};                     // offset from the scenario's start
    EventKind kind = EventKind::error_spike;
    std::string workflow;             // workflow uuid or "*"; empty for api_fault
    double value = 0;                 // error_rate, failed_ratio or factor
    std::optional<Millis> duration;   // `for`
    Millis age{0};                    // stuck_batch: how long ago its batch was created
    std::string endpoint;             // api_fault
    FaultSpec fault;                  // api_fault
};

struct Scenario {
    std::vector<ScenarioEvent> events;  // ordered by `at`
};

// Messages read "<source>:<line>:<column>: <what was expected>".
class ScenarioError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Workflow names resolve against `workspaces` (a name must be unique across them).
Scenario load_scenario(const std::string& path, const std::vector<Workspace>& workspaces);
Scenario parse_scenario(const std::string& text, const std::string& source,
                        const std::vector<Workspace>& workspaces);
// One event as a YAML or JSON map without `at`, to apply now. `default_kind` stands in
// for a missing `kind` when not empty.
ScenarioEvent parse_event(const std::string& text, const std::string& source,
                          const std::vector<Workspace>& workspaces,
                          const std::string& default_kind = "");

// Applies `event` as if it began at `begins`: its `for` runs from there.
void apply_event(const ScenarioEvent& event, SystemTime begins, Conditions& conditions,
                 FaultInjector& faults);

// Applies a scenario's events at their offsets from the runner's construction, on its
// own thread after start(). Time comes from `clock`; with a FakeClock, advancing it is
// noticed within a few tens of milliseconds, or at once through apply_due().
// Thread-safe: apply_due() and applied() from any thread, start()/stop() from the owner;
// mu_ guards next_ and stopping_ (with wake_).
class ScenarioRunner {
public:
    ScenarioRunner(Scenario scenario, Conditions& conditions, FaultInjector& faults,
                   const Clock& clock);
    ~ScenarioRunner();
    ScenarioRunner(const ScenarioRunner&) = delete;
    ScenarioRunner& operator=(const ScenarioRunner&) = delete;

    void start();
    void stop();
    // Applies every event whose offset has passed; returns how many are applied so far.
    std::size_t apply_due();
    std::size_t applied() const;

private:
    void run();

    const Scenario scenario_;
    Conditions& conditions_;
    FaultInjector& faults_;
    const Clock& clock_;
    const SystemTime start_wall_;
    const SteadyTime start_mono_;

    mutable std::mutex mu_;
    std::condition_variable wake_;
    std::size_t next_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace cargomon::sim
