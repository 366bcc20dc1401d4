#pragma once
// One run of one collector, made the same way wherever collectors run: the Scheduler's
// runs and `cargomon rules preview`'s single pass both call run_once(), so a deadline, a
// failure's reason and what reaches the store mean the same in both.
#include <functional>
#include <stop_token>
#include <string>

#include "collectors/collector.h"
#include "common/clock.h"
#include "common/duration.h"
#include "metrics/metric_store.h"

namespace cargomon::collectors {

// When a run started and by when it must be done.
struct RunStart {
    SteadyTime started{};     // for the duration and the deadline
    SystemTime started_wall;  // the snapshot's collection time; the status page's last run
    Millis timeout{0};        // the schedule's, for the timeout's message
    CollectContext context;   // deadline = started + timeout
};
// A run starting now on `clock`.
RunStart start_run(const Clock& clock, Millis timeout, std::stop_token stop = {});

// How a run ended.
struct RunOutcome {
    enum class Status {
        published,  // its snapshot is in the store
        failed,     // reason and message say why
        dropped,    // `collected` said so: nothing published, nothing to report
    };
    Status status = Status::published;
    std::string reason;   // failed: the `reason` label of cargomon_collector_errors_total
    std::string message;  // failed: for /api/v1/status and the log
};

// Why a run past its deadline failed: "run exceeded its timeout of 30s".
std::string timeout_message(Millis timeout);

// Calls collector.collect(), then publishes the snapshot to `store` under the collector's
// name, stamped with run.started_wall. It fails when collect() throws (reason:
// error_reason()), returns after the deadline ("timeout"; its result is not used) or
// hands over a snapshot the store refuses ("mapping"). `collected`, when given, is
// called once collect() has returned, with whether the run has succeeded so far; false
// drops the run (the Scheduler: a run it already counted as timed out, or stop()).
// Never throws; `collected` runs on the calling thread.
RunOutcome run_once(Collector& collector, const RunStart& run, metrics::MetricStore& store, const Clock& clock,
                    const std::function<bool(bool succeeded)>& collected = {});

}  // namespace cargomon::collectors
