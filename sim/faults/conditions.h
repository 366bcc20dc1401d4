#pragma once
// What scenarios do to the workload: per-workflow overrides the live generator reads
// when it creates batches, runs and spans. Thread-safe; written by the scenario runner
// and the control API, read by the live generator.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"

namespace cargomon::sim {

// "*" as a workflow uuid means every workflow.
struct WorkflowEffects {
    std::optional<double> error_rate;            // run error probability overriding the nodes' own
    bool silent = false;                         // no new batches at all
    double credit_factor = 1.0;                  // multiplies credits of every execution
    std::optional<double> next_batch_failed_fraction;  // the next batch ends `success` with this share of failed runs
};

// Thread-safe: any method from any thread; mu_ guards the four maps of effects and the stuck batches asked for.
class Conditions {
public:
    void error_spike(const std::string& workflow, double error_rate, SystemTime until);
    void silence(const std::string& workflow, SystemTime until);
    void credit_spike(const std::string& workflow, double factor, SystemTime until);
    void fail_next_batch(const std::string& workflow, double failed_fraction);
    // A batch of `workflow` (or of any workflow, "*") created `age` ago that stops
    // progressing: the live generator opens it at its next tick.
    void stuck_batch(const std::string& workflow, Millis age);
    void clear();

    // The effects in force for `workflow` at `now` (expired ones dropped).
    WorkflowEffects effects(const std::string& workflow, SystemTime now) const;
    // Consumes a pending fail_next_batch for `workflow` (or "*"), if any.
    std::optional<double> take_next_batch_failure(const std::string& workflow);
    // Consumes every stuck batch asked for: (workflow, age).
    std::vector<std::pair<std::string, Millis>> take_stuck_batches();

private:
    struct Timed {
        double value = 0;
        SystemTime until;
    };
    mutable std::mutex mu_;
    std::map<std::string, Timed> error_spikes_;
    std::map<std::string, Timed> silences_;
    std::map<std::string, Timed> credit_spikes_;
    std::map<std::string, double> next_batch_failures_;
    std::vector<std::pair<std::string, Millis>> stuck_batches_;
};

}  // namespace cargomon::sim
