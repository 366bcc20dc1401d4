#pragma once
// Live mode: a thread that keeps the workspaces busy in real time. It opens batches
// (a `running` version at once), inserts each run with its spans and record when it
// ends, rewrites the batch's counters about every second and closes the batch when
// its last run is done, all honouring the scenario Conditions.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "sim/clickhouse/clickhouse.h"
#include "sim/faults/conditions.h"
#include "sim/gen/workspace.h"

namespace cargomon::sim {

struct LiveStats {
    std::uint64_t batches_started = 0, batches_finished = 0, runs_finished = 0, spans_written = 0;
    std::uint64_t failed_inserts = 0;  // inserts ClickHouse refused; their rows are lost
};

// Thread-safe: start(), stop() from the owner, stats() from any thread (the control API);
// mu_ guards stopping_ (with wake_) and stats_; the loop runs on its own thread.
class LiveGenerator {
public:
    // `runs_per_second` is spread over the enabled workflows by their batches_per_day.
    // Throws std::invalid_argument unless it is positive and finite.
    LiveGenerator(const ClickHouseClient& client, const std::vector<Workspace>& workspaces, Conditions& conditions,
                  const Clock& clock, double runs_per_second, std::uint64_t seed);
    ~LiveGenerator();
    LiveGenerator(const LiveGenerator&) = delete;
    LiveGenerator& operator=(const LiveGenerator&) = delete;

    void start();  // does nothing when already running
    void stop();   // waits for the thread; batches still open stay `running`

    LiveStats stats() const;  // as of the end of the last tick

private:
    void loop();

    const ClickHouseClient& client_;
    const std::vector<Workspace>& workspaces_;
    Conditions& conditions_;
    const Clock& clock_;
    const double runs_per_second_;
    const std::uint64_t seed_;

    mutable std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    LiveStats stats_;
    std::thread thread_;
};

}  // namespace cargomon::sim
