#pragma once
// The brakes that keep cargomon from becoming a workspace's problem: a token bucket on
// the request rate, a bound on requests in flight, and the pause a server asks for with
// Retry-After. Pacer holds all three for every client of one process (collectors and
// automatic actions), since the API's limits are the token's, not a client's.
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/clock.h"
#include "common/token_bucket.h"

namespace cargomon::cargo {

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
// on a reload may outlive the one whose pacer it took). Thread-safe: each part has its own lock.
class Pacer {
public:
    // `rate_per_s` requests a second, in bursts of as many (0: no rate limit).
    Pacer(double rate_per_s, int max_in_flight, const Clock& clock);

    // The instant at which the caller may send: now or later. Callers reserve a token and
    // sleep until it is there, so concurrent callers queue up fairly instead of polling.
    SteadyTime reserve();
    InFlightLimiter& in_flight() { return in_flight_; }
    // No request before `until` (monotonic): a later instant extends the pause, an earlier one does not shorten it.
    void pause_until(SteadyTime until);
    SteadyTime paused_until() const;

private:
    const Clock& clock_;
    std::mutex bucket_mu_;
    TokenBucket bucket_;  // under bucket_mu_
    InFlightLimiter in_flight_;
    mutable std::mutex pause_mu_;
    SteadyTime paused_until_{};
};

}  // namespace cargomon::cargo
