#pragma once
// Sends what the outbox holds: each integration of each receiver on a worker of its own,
// so a receiver that hangs delays only itself. 2xx marks an item delivered, a connection
// failure, 5xx or 429 schedules a retry with backoff, any other answer marks it failed,
// and items older than the maximum age are dropped. Outcomes, outbox length, oldest age
// and latency are self-metrics. A send that may repeat one a killed process made (sent,
// answer never recorded) is counted as a redelivery.
//
// stop() cancels the requests in flight and returns within milliseconds (a connect in
// progress: within its timeout); what was not delivered stays pending in the outbox for
// the next start.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "alerts/notify/outbox.h"
#include "alerts/notify/receivers.h"
#include "common/clock.h"

namespace cargomon::alerts::notify {

// Thread-safety: run_due() only while not started (tests drive it), start(), stop() and
// wake() from any thread; mu_ guards wakes_ and workers_ (with cv_).
class Delivery {
public:
    Delivery(Outbox& outbox, const Receivers& receivers, const Clock& clock, prometheus::Registry& registry);
    ~Delivery();  // stops the workers if running

    // What the workers do, once, on the calling thread: housekeeping (expired items
    // dropped, items of receivers no longer configured failed, an hourly prune, the
    // gauges), then each integration's due items in turn. Returns how many sends were tried.
    std::size_t run_due();

    // A worker per integration and one for housekeeping; each runs when woken and at
    // least every half second (a check of an in-memory schedule when nothing is due).
    void start();
    void stop();
    void wake();  // call after enqueuing so new notifications leave at once

private:
    struct Worker {
        std::thread thread;
        Integration* integration = nullptr;  // null: the housekeeping worker
        bool done = false;                   // guarded by mu_
    };

    void housekeeping();
    // Sends `target`'s due items until none is due or stopping_; returns how many it tried.
    std::size_t send_due(const OutboxTarget& target, Integration& integration);
    void run_worker(Worker& worker, const std::function<void()>& step);
    void count(const std::string& receiver, std::string_view kind, std::string_view outcome);
    void update_gauges();

    Outbox& outbox_;
    const Receivers& receivers_;
    const Clock& clock_;
    prometheus::Family<prometheus::Counter>& notifications_;
    prometheus::Gauge& outbox_length_;
    prometheus::Gauge& oldest_age_;
    prometheus::Family<prometheus::Counter>& redelivered_;
    prometheus::Family<prometheus::Histogram>& latency_;

    std::optional<SteadyTime> last_prune_;  // housekeeping only

    std::atomic<bool> stopping_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::uint64_t wakes_ = 0;
    std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace cargomon::alerts::notify
