#pragma once
// Sends what the outbox holds: due items one after another to their integration;
// 2xx marks them delivered, a connection failure, 5xx or 429 schedules a retry with
// backoff, any other answer marks them failed, and items older than the maximum age
// are dropped. Outcomes, outbox length, oldest age and latency are self-metrics.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "alerts/notify/outbox.h"
#include "alerts/notify/receivers.h"
#include "common/clock.h"

namespace cargomon::alerts {

// Thread-safety: run_due() from one thread only (the delivery thread once started),
// wake() and stop() from any; mu_ guards stopping_ and woken_ (with cv_).
class Delivery {
public:
    Delivery(Outbox& outbox, const Receivers& receivers, const Clock& clock, prometheus::Registry& registry);
    ~Delivery();  // stops the thread if running

    // Drops the expired, then sends everything due now; returns how many sends were tried.
    // Also prunes the outbox about once an hour. One delivery loop per outbox.
    std::size_t run_due();

    // A thread that runs run_due() when woken and when the next retry falls due.
    void start();
    void stop();
    void wake();  // call after enqueuing so new notifications leave at once

private:
    void count(const std::string& receiver, std::string_view kind, std::string_view outcome);
    void update_gauges();

    Outbox& outbox_;
    const Receivers& receivers_;
    const Clock& clock_;
    prometheus::Family<prometheus::Counter>& notifications_;
    prometheus::Gauge& outbox_length_;
    prometheus::Gauge& oldest_age_;
    prometheus::Family<prometheus::Histogram>& latency_;

    std::optional<SystemTime> last_prune_;

    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool woken_ = false;
    std::thread thread_;
};

}  // namespace cargomon::alerts
