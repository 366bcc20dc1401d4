#include "cargo/sleeper.h"

#include "cargo/errors.h"

namespace cargomon::cargo {

void ClockSleeper::sleep_until(SteadyTime t) {
    std::unique_lock lock(mu_);
    while (!interrupted_) {
        auto left = t - clock_.monotonic();
        if (left <= SteadyTime::duration::zero()) return;
        wake_.wait_for(lock, left);
    }
    throw NetworkError("interrupted: cargomon is stopping");
}

void ClockSleeper::interrupt() {
    {
        std::lock_guard lock(mu_);
        interrupted_ = true;
    }
    wake_.notify_all();
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
