#pragma once
// A collector turns Cargo API answers into one complete metrics::Snapshot per run. The
// Scheduler decides when it runs; the collector only knows how.
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "metrics/model.h"

namespace cargomon::collectors {

struct CollectContext {
    SteadyTime deadline;  // the run is abandoned after this; pass it down to every API call
    std::stop_token stop;  // the scheduler is stopping: give up between API calls
};

class Collector {
public:
    virtual ~Collector() = default;
    virtual const std::string& name() const = 0;
    virtual std::string_view kind() const = 0;  // "discovery", "run_counts", ...
    // Every metric family a collection may publish (as exposed: counters with _total), so
    // `rules preview` runs only the collectors its rules read.
    virtual std::vector<std::string> metric_names() const = 0;
    // Throws on failure (cargo::ApiError, CollectorError, ...); a partial result is never returned.
    virtual metrics::Snapshot collect(const CollectContext& context) = 0;
};

// A failure found by the collector itself rather than by the API client.
class CollectorError : public std::runtime_error {
public:
    CollectorError(std::string reason, const std::string& what)
        : std::runtime_error(what), reason_(std::move(reason)) {}
    const std::string& reason() const { return reason_; }  // "mapping", "timeout", "not_ready", ...

private:
    std::string reason_;
};

// The `reason` label of cargomon_collector_errors_total for a failed run: network,
// authorization, request, server, parse (cargo errors), the CollectorError's own reason,
// state (the state database refused a save), or "internal" for anything else.
std::string error_reason(const std::exception& error);

}  // namespace cargomon::collectors
