#include "cargo/limits.h"

#include <algorithm>

namespace cargomon::cargo {

TokenBucket::TokenBucket(double rate_per_s, double burst, const Clock& clock)
    : rate_(rate_per_s), burst_(std::max(1.0, burst)), clock_(clock), tokens_(burst_),
      refilled_at_(clock.monotonic()) {}

SteadyTime TokenBucket::reserve() {
    std::lock_guard lock(mu_);
    SteadyTime now = clock_.monotonic();
    if (rate_ <= 0) return now;
    std::chrono::duration<double> elapsed = now - refilled_at_;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
    refilled_at_ = now;
    tokens_ -= 1;
    if (tokens_ >= 0) return now;
    auto wait = std::chrono::duration<double>(-tokens_ / rate_);
    return now + std::chrono::duration_cast<SteadyTime::duration>(wait);
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
