#pragma once
// Durable state of query collectors with counters: for each collector, the end of the
// range already counted (the watermark) and the running total of every series, in one
// SQLite file (WAL mode) under the daemon's --storage.path. Both change in one
// transaction, so a restart never counts a range twice nor loses a total.
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/sqlite.h"
#include "metrics/model.h"

namespace cargomon::collectors {

struct CounterState {
    std::string fingerprint;  // of the query and its mapping; totals of another query are not reused
    SystemTime watermark;
    std::map<std::pair<std::string, metrics::Labels>, double> totals;  // (metric, labels) -> total
};

// Thread-safe: load() and save() may be called from any collector thread.
class WatermarkStore {
public:
    // Opens or creates the file; throws std::runtime_error naming the path on failure.
    explicit WatermarkStore(const std::string& path);
    WatermarkStore(const WatermarkStore&) = delete;
    WatermarkStore& operator=(const WatermarkStore&) = delete;

    std::optional<CounterState> load(const std::string& collector) const;
    // Replaces the collector's state whole, atomically.
    void save(const std::string& collector, const CounterState& state);

private:
    mutable std::mutex mu_;  // guards db_
    mutable sqlite::Database db_;
};

}  // namespace cargomon::collectors
