#pragma once
// Waiting between attempts goes through a Sleeper so tests drive backoff, Retry-After
// and the rate limit on a FakeClock without sleeping.
#include <condition_variable>
#include <mutex>
#include <vector>

#include "common/clock.h"

namespace cargomon::cargo {

class Sleeper {
public:
    virtual ~Sleeper() = default;
    virtual void sleep_until(SteadyTime t) = 0;  // returns at once if `t` has passed
};

// Really sleeps until the clock's monotonic time reaches `t`. interrupt() wakes every
// sleeper at once and makes this and later sleeps throw NetworkError, so a shutdown never
// waits out a retry backoff.
// Thread-safe: sleep_until() from any request thread, interrupt() from the stopping one;
// mu_ guards interrupted_ (with wake_).
class ClockSleeper final : public Sleeper {
public:
    explicit ClockSleeper(const Clock& clock) : clock_(clock) {}
    void sleep_until(SteadyTime t) override;
    void interrupt();

private:
    const Clock& clock_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool interrupted_ = false;
};

// Advances a FakeClock instead of sleeping, and remembers each requested wait.
// Thread-safe: sleep_until() and waits() from any thread; mu_ guards waits_.
class FakeSleeper final : public Sleeper {
public:
    explicit FakeSleeper(FakeClock& clock) : clock_(clock) {}
    void sleep_until(SteadyTime t) override;
    std::vector<SteadyTime::duration> waits() const;

private:
    FakeClock& clock_;
    mutable std::mutex mu_;
    std::vector<SteadyTime::duration> waits_;
};

}  // namespace cargomon::cargo
