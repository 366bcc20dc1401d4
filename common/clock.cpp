#include "common/clock.h"

namespace cargomon {

FakeClock::FakeClock(SystemTime start) : wall_(start), mono_(SteadyTime{std::chrono::hours{1}}) {}

SystemTime FakeClock::now() const {
    std::lock_guard lock(mu_);
    return wall_;
}

SteadyTime FakeClock::monotonic() const {
    std::lock_guard lock(mu_);
    return mono_;
}

void FakeClock::advance(std::chrono::nanoseconds by) {
    std::lock_guard lock(mu_);
    wall_ += std::chrono::duration_cast<SystemTime::duration>(by);
    mono_ += by;
}

void FakeClock::set(SystemTime to) {
    std::lock_guard lock(mu_);
    wall_ = to;
}

}  // namespace cargomon
