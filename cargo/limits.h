#pragma once
// The two brakes that keep cargomon from becoming a workspace's problem: a token bucket
// on the request rate and a bound on requests in flight.
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/clock.h"

namespace cargomon::cargo {

// `rate` tokens per second, holding at most `burst`. Callers reserve a token and sleep
// until the returned instant, so concurrent callers queue up fairly instead of polling.
// Thread-safe: reserve() from any request thread; mu_ guards tokens_ and refilled_at_.
class TokenBucket {
public:
    TokenBucket(double rate_per_s, double burst, const Clock& clock);
    // The instant at which the caller may send; now or later. Rate 0 never waits.
    SteadyTime reserve();

private:
    double rate_;
    double burst_;
    const Clock& clock_;
    std::mutex mu_;
    double tokens_;  // may go negative: tokens promised to callers still waiting
    SteadyTime refilled_at_;
};

// A counting semaphore whose waits end at a (real-time) limit.
// Thread-safe: acquire and release from any request thread; mu_ guards free_ (with freed_).
class InFlightLimiter {
public:
    explicit InFlightLimiter(int slots) : free_(slots) {}
    bool try_acquire_for(std::chrono::nanoseconds max_wait);  // false: no slot in time
    void release();

private:
    std::mutex mu_;
    std::condition_variable freed_;
    int free_;
};

}  // namespace cargomon::cargo
