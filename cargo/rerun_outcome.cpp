#include "cargo/rerun_outcome.h"

#include <algorithm>

namespace cargomon::cargo {

std::optional<RerunOutcome> rerun_outcome(const Batch& rerun) {
    const std::int64_t runs = std::max<std::int64_t>(rerun.runs_count, 0);
    if (rerun.status == "cancelled") return RerunOutcome{.result = "cancelled"};
    if (rerun.status == "error" || rerun.status == "skipped")
        return RerunOutcome{.result = "still_failing", .still_failing = runs};
    if (rerun.status != "success") return std::nullopt;
    // A finished batch whose executed count falls short of its runs left records that
    // never reached a terminal state: those were not recovered either.
    const std::int64_t never_ended = std::max<std::int64_t>(runs - std::max<std::int64_t>(rerun.executed_runs_count, 0), 0);
    const std::int64_t failing = std::min(runs, std::max<std::int64_t>(rerun.failed_runs_count, 0) + never_ended);
    return RerunOutcome{.result = failing == 0 ? "recovered" : "still_failing",
                        .recovered = runs - failing,
                        .still_failing = failing};
}

}  // namespace cargomon::cargo
