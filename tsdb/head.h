#pragma once
// The in-memory sample history: per series, its samples in compressed chunks (chunk.h),
// oldest first, plus the chunk being appended to; series are found by labels through
// postings (label name -> value -> series ids), as Prometheus' head index does, so a
// selector with `name="value"` matchers touches only the series that carry them.
//
// Thread-safety: any number of threads append, select and truncate at once.
// - index_mu_ (shared) guards the series map and the postings. Appending holds it shared
//   (lookup and the append itself), creating a series exclusively for the insertion only;
//   select() and the label queries hold it shared just to collect their candidates.
// - Each series' mutex guards its chunks. A reader holds it while decoding that series'
//   chunks in its window (microseconds), never while calling back: a slow reader blocks
//   no appender for long, and an appender waits at most for one series' decode.
// - truncate() removes a series under index_mu_ exclusively, after checking under its
//   mutex that nothing was appended meanwhile: appenders, holding index_mu_ shared while
//   appending, never append to a series that is gone.
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "metrics/labels.h"
#include "metrics/model.h"
#include "tsdb/chunk.h"

namespace cargomon::tsdb {

inline constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();

// One closed chunk (or a copy of the open one): its samples' time span and count.
struct StoredChunk {
    std::int64_t mint = 0;
    std::int64_t maxt = 0;
    std::uint32_t count = 0;
    std::vector<std::uint8_t> bytes;
};

// A series whole, as the checkpoint writes and reads it: labels with __name__, sorted,
// and its chunks, oldest first.
struct SeriesData {
    metrics::Labels labels;
    std::vector<StoredChunk> chunks;
};

class Series;
using SeriesRef = std::shared_ptr<Series>;

struct HeadStats {
    std::size_t series = 0;
    std::size_t samples = 0;
    std::size_t bytes = 0;                 // chunks plus an estimate of each series' labels and index
    std::size_t chunk_bytes = 0;           // the compressed samples alone (what Prometheus' ~1.3 bytes a sample counts) entries
    std::int64_t oldest_ms = kMaxTime;     // the oldest sample held; kMaxTime when none
};

struct Truncated {
    std::size_t samples = 0;  // samples dropped
    std::size_t series = 0;   // series removed (no sample left)
};

class Head {
public:
    enum class Appended { ok, same, out_of_order, duplicate };

    Head();
    ~Head();
    Head(const Head&) = delete;
    Head& operator=(const Head&) = delete;

    // The series named `name` with `labels` (no __name__, sorted), created if new. The
    // reference stays valid after truncate() removes the series; append() to it is then
    // ignored (Appended::same).
    SeriesRef series(std::string_view name, const metrics::Labels& labels);
    // Appends one sample. A sample older than the series' last is refused (out_of_order),
    // as is one at the same time with another value (duplicate); the same sample again
    // changes nothing (same), as in Prometheus.
    Appended append(const SeriesRef& series, std::int64_t t, double v);
    // `labels` with __name__, sorted: for recording rules (a set without __name__ is a
    // series without one, as an empty-valued label is no label).
    Appended append(const metrics::Labels& labels, std::int64_t t, double v);

    // Calls `fn` for each series that all `matchers` select and that has samples in
    // [mint_ms, maxt_ms], with those samples ascending (stale markers included), series
    // in label order. No lock is held while `fn` runs.
    void select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                const std::function<void(const metrics::Labels& labels, std::span<const Sample> samples)>& fn) const;
    // Label names (sorted, __name__ included) and one label's values (sorted, non-empty)
    // of the series `matchers` select that have samples in [mint_ms, maxt_ms]; without
    // matchers, of every series (as Prometheus' /api/v1/labels and label/<name>/values).
    // The labels (__name__ included) of the series `matchers` select that have samples in
    // [mint_ms, maxt_ms], sorted: Prometheus' /api/v1/series, without decoding a sample.
    std::vector<metrics::Labels> series(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                        std::int64_t maxt_ms) const;
    std::vector<std::string> label_names(const std::vector<metrics::Matcher>& matchers = {},
                                         std::int64_t mint_ms = kMinTime, std::int64_t maxt_ms = kMaxTime) const;
    std::vector<std::string> label_values(const std::string& name, const std::vector<metrics::Matcher>& matchers = {},
                                          std::int64_t mint_ms = kMinTime, std::int64_t maxt_ms = kMaxTime) const;

    // Drops every chunk whose samples are all before `mint_ms`, and series left with
    // none; then, while the head holds more than `max_bytes`, the oldest closed chunks
    // of all series until it holds at most 95% of it. Returns what each step dropped.
    struct TruncateResult {
        Truncated retention;
        Truncated max_bytes;
    };
    TruncateResult truncate(std::int64_t mint_ms, std::size_t max_bytes);

    // Visits every series for oldest_ms: for a metrics tick, not a loop.
    HeadStats stats() const;
    // HeadStats::bytes alone, without visiting the series.
    std::size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

    // Calls `fn` with a copy of each series (taken under its lock, `fn` called without).
    void for_each_series(const std::function<void(const SeriesData&)>& fn) const;
    // Adds a series read back from a checkpoint after checking it: labels sorted and
    // unique with a __name__, every chunk decodable with the count and span it claims, at
    // most kSamplesPerChunk samples, times strictly ascending across chunks. Samples at or
    // before the series' last one (when it already has some) are skipped. Returns the
    // samples added, or nullopt (nothing added) when the data fails a check.
    std::optional<std::size_t> restore(SeriesData data);

private:
    std::vector<SeriesRef> candidates(const std::vector<metrics::Matcher>& matchers) const;
    // The candidates with samples in [mint_ms, maxt_ms]: what series() and the label
    // queries read the labels of.
    std::vector<SeriesRef> overlapping(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                       std::int64_t maxt_ms) const;
    void forget(const SeriesRef& series);  // caller holds index_mu_ exclusively

    mutable std::shared_mutex index_mu_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::string_view, SeriesRef> by_key_;  // views of each Series' own key
    std::unordered_map<std::uint64_t, SeriesRef> by_id_;
    // name -> value -> ids, ascending (ids only grow, so appending keeps them sorted)
    std::map<std::string, std::map<std::string, std::vector<std::uint64_t>, std::less<>>, std::less<>> postings_;

    std::atomic<std::size_t> samples_{0};
    std::atomic<std::size_t> bytes_{0};
    std::atomic<std::size_t> overhead_bytes_{0};  // the part of bytes_ that is not chunks
};

}  // namespace cargomon::tsdb
