#pragma once
// Runs collectors on their intervals with a bounded pool of worker threads and publishes
// each successful collection to the MetricStore. One run per collector at a time: a run
// still going when the next one is due makes that one skipped, never stacked.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "collectors/collector.h"
#include "common/clock.h"
#include "config/config.h"
#include "metrics/metric_store.h"

namespace cargomon::collectors {

struct SchedulerOptions {
    std::size_t workers = 2;
    std::uint64_t seed = 0;           // start offsets and jitter
    bool dispatch_thread = true;      // false: the caller drives it with run_due() (tests)
    Millis max_wait{1000};            // longest real wait before the clock is read again
};

struct ScheduledCollector {
    std::unique_ptr<Collector> collector;
    config::Schedule schedule;
};

// What /api/v1/status shows of one collector.
struct CollectorStatus {
    std::string name;
    std::string kind;
    bool up = false;
    bool running = false;
    std::optional<SystemTime> last_run_start;
    double last_duration_seconds = 0;
    std::string last_error;  // empty after a success; the API client never puts the token in it
    SystemTime next_run;
    std::size_t series = 0;
};

// Thread-safe: start(), stop() and remove_self_metrics() from the owner's thread, status()
// from any thread (the web server's), run_due() and wait_idle() from the dispatcher or a
// test; mu_ guards the slots' run state, queue_, random_, started_ and stopping_, while
// collect() itself runs unlocked on one worker at a time.
class Scheduler {
public:
    // Self-metrics go to `registry`: cargomon_collector_up, _last_success_timestamp_seconds,
    // _duration_seconds (a gauge: the last run's duration), _errors_total{reason},
    // _skipped_total. The store, registry and clock must outlive the scheduler.
    Scheduler(std::vector<ScheduledCollector> collectors, metrics::MetricStore& store,
              prometheus::Registry& registry, const Clock& clock, SchedulerOptions options = {});
    ~Scheduler();  // stop()

    // Plans the first run of each collector (discovery at once, the others spread over
    // their first interval) and starts the workers and, unless disabled, the dispatcher.
    void start();
    // Drops queued runs, interrupts waits and joins every thread. A run in progress is
    // asked to stop (CollectContext::stop) and finishes within its timeout at worst.
    // Snapshots stay in the store: a reload keeps the series of unchanged collectors.
    void stop();
    // Drops a collector's self-metrics from the registry, for a collector a reload removed:
    // otherwise its last up and timestamps stay exported forever. Only on a stopped
    // scheduler, and only for a name no running scheduler has (they share the series).
    void remove_self_metrics(const std::string& collector);

    // One dispatcher step at the clock's current time: queues what is due, abandons runs
    // past their deadline, removes snapshots older than max_staleness.
    void run_due();
    // Blocks until no run is queued or in progress (for tests driving run_due()).
    void wait_idle();

    std::vector<CollectorStatus> status() const;

private:
    struct Slot;
    void dispatch_loop();
    void work_loop();
    void run(std::size_t index);
    void fail(Slot& slot, const std::string& reason, const std::string& message);
    Millis jittered(const config::Schedule& schedule);
    SteadyTime next_wake() const;  // caller holds mu_

    metrics::MetricStore& store_;
    const Clock& clock_;
    SchedulerOptions options_;

    prometheus::Family<prometheus::Gauge>& up_;
    prometheus::Family<prometheus::Gauge>& last_success_;
    prometheus::Family<prometheus::Gauge>& duration_;
    prometheus::Family<prometheus::Counter>& errors_;
    prometheus::Family<prometheus::Counter>& skipped_;

    mutable std::mutex mu_;
    std::condition_variable wake_;  // dispatcher: stop requested
    std::condition_variable work_;  // workers: queue changed or stop requested
    std::condition_variable idle_;  // wait_idle(): a run finished
    std::vector<std::unique_ptr<Slot>> slots_;
    std::deque<std::size_t> queue_;
    std::mt19937_64 random_;
    bool started_ = false;
    bool stopping_ = false;
    std::stop_source stop_source_;
    std::vector<std::thread> threads_;
};

}  // namespace cargomon::collectors
