#pragma once
// Fault injection for the sim's /v1 API: added latency, error and 429 answers, broken
// bodies, connection resets and slow trickling bodies, per endpoint, deterministic for a
// given seed and request order. Thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <httplib.h>

#include "common/clock.h"
#include "common/duration.h"

namespace cargomon::sim {

// What goes wrong on one endpoint. Each request draws at most one of the ratio faults
// (their sum is at most 1); the latency applies to every request.
struct FaultSpec {
    Millis latency{0};
    Millis jitter{0};                      // plus a uniform draw in [0, jitter]
    double error_ratio = 0;                // answer one of `statuses`
    std::vector<int> statuses{500, 502, 503};
    double throttle_ratio = 0;             // answer 429 with Retry-After
    Millis retry_after{std::chrono::seconds{1}};
    double truncate_ratio = 0;             // the real body cut in half
    double malformed_ratio = 0;            // a body that is not JSON
    double reset_ratio = 0;                // close the connection without an answer
    double slow_ratio = 0;                 // the real body, a few bytes at a time
    int slow_chunk_bytes = 16;
    Millis slow_interval{100};

    bool operator==(const FaultSpec&) const = default;
};

class FaultSpecError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// The field names shared by the --fault flag, the scenario file and the control API:
// latency, jitter, error_ratio, statuses (500|503), throttle_ratio, retry_after,
// truncate_ratio, malformed_ratio, reset_ratio, slow_ratio, slow_chunk, slow_interval.
// Throws FaultSpecError naming the field on an unknown key or a bad value.
void set_fault_field(FaultSpec& spec, std::string_view key, std::string_view value);
// Throws FaultSpecError when the ratios add up to more than 1.
void validate(const FaultSpec& spec);
// "/v1/..." or "*" (every /v1 path); throws FaultSpecError otherwise.
void validate_endpoint(std::string_view endpoint);

// The --fault flag: "endpoint=/v1/orchestration/runs/count,error_ratio=0.5,statuses=500|503".
// Throws FaultSpecError saying which part is wrong.
std::pair<std::string, FaultSpec> parse_fault_flag(std::string_view text);

// The name of the header marking an answer the injector changed ("error", "throttle",
// "truncate", "malformed", "slow"; "reset" on the never-sent answer of a reset).
inline constexpr const char* kFaultHeader = "X-Sim-Fault";

// Thread-safe: set/clear/snapshot from the control API or a scenario thread while the
// server's request threads decide; mu_ guards rng_ and entries_.
class FaultInjector {
public:
    struct Entry {
        FaultSpec spec;
        std::optional<SystemTime> until;   // none: until cleared
    };

    using Observer = std::function<void(const httplib::Request&, const httplib::Response&)>;

    FaultInjector(const Clock& clock, std::uint64_t seed);

    // Takes over the server's post-routing handler: faults replace the answer after the
    // handler ran, because an early answer would leave a POST body unread on a
    // keep-alive connection. `observer` (e.g. RequestStats::record) then sees every
    // answer before it is sent, so a client never outruns the count of its own request.
    void install(httplib::Server& server, Observer observer = {});

    // `endpoint` is a path, a collapsed pattern ("/v1/orchestration/batches/{uuid}") or
    // "*"; the most specific one applies. Throws FaultSpecError on a bad spec.
    void set(const std::string& endpoint, const FaultSpec& spec,
             std::optional<SystemTime> until = std::nullopt);
    void clear(const std::string& endpoint);
    void clear_all();
    std::map<std::string, Entry> snapshot() const;  // expired entries left out

private:
    enum class Kind { none, error, throttle, truncate, malformed, reset, slow };
    struct Decision {
        FaultSpec spec;
        Millis delay{0};
        Kind kind = Kind::none;
        int status = 0;
    };
    std::optional<Decision> decide(const std::string& path);
    // Changes the answer; returns the socket to reset after the observer saw it, if any.
    std::optional<int> apply(const httplib::Request& req, httplib::Response& res);

    const Clock& clock_;
    mutable std::mutex mu_;
    std::mt19937_64 rng_;
    std::map<std::string, Entry> entries_;
};

}  // namespace cargomon::sim
