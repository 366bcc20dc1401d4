#pragma once
// A token bucket: up to `burst` tokens, one more every `interval`. The one implementation
// of the project's rate limits: the Cargo client's request pacing (cargo/limits.h, which
// reserves a token and sleeps until it is there) and the web server's per-client limits
// (web/client_buckets.h, which refuse a request that finds none).
//
// A value with no lock and no clock of its own: its owner passes the time and holds the
// lock, so one table lock can cover thousands of buckets.
#include <chrono>

#include "common/clock.h"

namespace cargomon {

class TokenBucket {
public:
    // Starts full. An interval of 0 (or less) is no limit: every call finds a token.
    // A burst below 1 holds 1.
    TokenBucket(double burst, std::chrono::duration<double> interval, SteadyTime now);

    // Takes a token if one is there at `now`.
    bool try_take(SteadyTime now);
    // Takes a token even when none is there (the balance goes below zero: tokens promised
    // to callers still waiting) and says when it is: `now`, or the instant the bucket has
    // earned it, so that concurrent callers queue up fairly instead of polling.
    SteadyTime reserve(SteadyTime now);
    // Returns a token taken for something that did not count (never above the burst).
    void give_back(SteadyTime now);
    // How long from `now` until a token is there: 0 when one is.
    std::chrono::duration<double> wait(SteadyTime now);
    // Holds its whole burst at `now` (then it is the same as a new bucket).
    bool full(SteadyTime now);

private:
    // Adds what the time since the last refill earned; a `now` before it changes nothing.
    void refill(SteadyTime now);

    double burst_;
    std::chrono::duration<double> interval_;
    double tokens_;
    SteadyTime refilled_;
};

}  // namespace cargomon
