#include "cargo/sleeper.h"

#include <thread>

namespace cargomon::cargo {

void ClockSleeper::sleep_until(SteadyTime t) {
    auto left = t - clock_.monotonic();
    if (left > SteadyTime::duration::zero()) std::this_thread::sleep_for(left);
}

void FakeSleeper::sleep_until(SteadyTime t) {
    std::lock_guard lock(mu_);
    auto left = t - clock_.monotonic();
    if (left <= SteadyTime::duration::zero()) return;
    waits_.push_back(left);
    clock_.advance(left);
}

std::vector<SteadyTime::duration> FakeSleeper::waits() const {
    std::lock_guard lock(mu_);
    return waits_;
}

}  // namespace cargomon::cargo
