#pragma once
// Time comes through this interface so tests can drive `for` durations, intervals and
// backoff without sleeping.
#include <chrono>
#include <mutex>

namespace cargomon {

using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

// Seconds since the Unix epoch, fraction included: what a Prometheus gauge of an instant
// holds (*_timestamp_seconds, *_time_seconds) and what PromQL's time() returns.
inline double unix_seconds(SystemTime t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

class Clock {
public:
    virtual ~Clock() = default;
    virtual SystemTime now() const = 0;        // wall clock: timestamps, windows
    virtual SteadyTime monotonic() const = 0;  // elapsed time: timeouts, schedules
};

class SystemClock final : public Clock {
public:
    SystemTime now() const override { return std::chrono::system_clock::now(); }
    SteadyTime monotonic() const override { return std::chrono::steady_clock::now(); }
};

// Starts at a fixed instant and moves only when told to.
// Thread-safe: any thread may read or move it at once; mu_ guards wall_ and mono_.
class FakeClock final : public Clock {
public:
    explicit FakeClock(SystemTime start = SystemTime{std::chrono::seconds{1'800'000'000}});
    SystemTime now() const override;
    SteadyTime monotonic() const override;
    void advance(std::chrono::nanoseconds by);
    void set(SystemTime to);  // wall clock only; monotonic time never goes back

private:
    mutable std::mutex mu_;
    SystemTime wall_;
    SteadyTime mono_;
};

}  // namespace cargomon
