#include "cargo/limits.h"

#include <algorithm>

namespace cargomon::cargo {

Pacer::Pacer(double rate_per_s, int max_in_flight, const Clock& clock)
    : clock_(clock),
      bucket_(rate_per_s, std::chrono::duration<double>(rate_per_s > 0 ? 1 / rate_per_s : 0), clock.monotonic()),
      in_flight_(max_in_flight) {}

SteadyTime Pacer::reserve() {
    std::lock_guard lock(bucket_mu_);
    return bucket_.reserve(clock_.monotonic());
}

bool InFlightLimiter::try_acquire_for(std::chrono::nanoseconds max_wait) {
    std::unique_lock lock(mu_);
    if (!freed_.wait_for(lock, std::max(max_wait, std::chrono::nanoseconds{0}), [&] { return free_ > 0; }))
        return false;
    --free_;
    return true;
}

void InFlightLimiter::release() {
    {
        std::lock_guard lock(mu_);
        ++free_;
    }
    freed_.notify_one();
}

void Pacer::pause_until(SteadyTime until) {
    std::lock_guard lock(pause_mu_);
    paused_until_ = std::max(paused_until_, until);
}

SteadyTime Pacer::paused_until() const {
    std::lock_guard lock(pause_mu_);
    return paused_until_;
}

}  // namespace cargomon::cargo
