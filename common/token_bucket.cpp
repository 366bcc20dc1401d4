#include "common/token_bucket.h"

#include <algorithm>

namespace cargomon {

TokenBucket::TokenBucket(double burst, std::chrono::duration<double> interval, SteadyTime now)
    : burst_(std::max(1.0, burst)), interval_(interval), tokens_(burst_), refilled_(now) {}

void TokenBucket::refill(SteadyTime now) {
    if (now <= refilled_) return;
    tokens_ = std::min(burst_, tokens_ + (now - refilled_) / interval_);
    refilled_ = now;
}

bool TokenBucket::try_take(SteadyTime now) {
    if (interval_.count() <= 0) return true;
    refill(now);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
}

SteadyTime TokenBucket::reserve(SteadyTime now) {
    if (interval_.count() <= 0) return now;
    const auto until = wait(now);
    tokens_ -= 1;
    return now + std::chrono::duration_cast<SteadyTime::duration>(until);
}

void TokenBucket::give_back(SteadyTime now) {
    if (interval_.count() <= 0) return;
    refill(now);
    tokens_ = std::min(burst_, tokens_ + 1);
}

std::chrono::duration<double> TokenBucket::wait(SteadyTime now) {
    if (interval_.count() <= 0) return {};
    refill(now);
    return std::max(0.0, 1 - tokens_) * interval_;
}

bool TokenBucket::full(SteadyTime now) {
    if (interval_.count() <= 0) return true;
    refill(now);
    return tokens_ >= burst_;
}

}  // namespace cargomon
