#pragma once
// The brakes that keep cargomon from becoming a workspace's problem: a token bucket on
// the request rate, a bound on requests in flight, and the pause a server asks for with
// Retry-After. Pacer holds all three for every client of one process (collectors and
// automatic actions), since the API's limits are the token's, not a client's.
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

// The three brakes, shared by the clients that hold it (std::shared_ptr: a client built
// on a reload may outlive the one whose pacer it took). Thread-safe: each part locks itself.
class Pacer {
public:
    Pacer(double rate_per_s, int max_in_flight, const Clock& clock)
        : bucket_(rate_per_s, rate_per_s, clock), in_flight_(max_in_flight) {}

    TokenBucket& bucket() { return bucket_; }
    InFlightLimiter& in_flight() { return in_flight_; }
    // No request before `until` (monotonic): a later instant extends the pause, an earlier one does not shorten it.
    void pause_until(SteadyTime until);
    SteadyTime paused_until() const;

private:
    TokenBucket bucket_;
    InFlightLimiter in_flight_;
    mutable std::mutex pause_mu_;
    SteadyTime paused_until_{};
};

}  // namespace cargomon::cargo
