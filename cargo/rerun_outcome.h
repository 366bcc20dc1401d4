#pragma once
// What a re-run achieved, read from the batch it created once that batch has finished:
// shared by `cargomon batch rerun --wait`, the automatic actions (which record it) and the
// batches collector (which lets the shipped alert on the re-run batch's source resolve).
#include <cstdint>
#include <optional>
#include <string_view>

#include "cargo/types.h"

namespace cargomon::cargo {

struct RerunOutcome {
    // recovered: every run it re-ran ended well; still_failing: some did not (an `error`
    // or `skipped` batch ran none); cancelled: someone stopped it, nothing is concluded.
    std::string_view result;
    std::int64_t recovered = 0;      // runs that ended well
    std::int64_t still_failing = 0;  // failed runs, and runs that never reached an end
};

// nullopt while the batch is not finished (any status but success, error, skipped,
// cancelled).
std::optional<RerunOutcome> rerun_outcome(const Batch& rerun);

}  // namespace cargomon::cargo
