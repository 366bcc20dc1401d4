#pragma once
// The daemon's sample history: a Head fed by the metric store (as its StoreObserver: each
// published series at its collection time, a stale marker for each series that leaves a
// collector's snapshot or the store, as Prometheus does on scrape), by cargomon's own
// cargomon_* families every self_metrics_interval, and by append() (recording rules);
// kept within the retention and the byte cap, checkpointed to a file in the state
// directory every checkpoint_interval and on stop, and read back from it at start.
//
// Thread-safety: the observer calls come serialized from the store (store_observer.h),
// append() and the Head's readers from any thread, load()/start()/stop() from the owner.
// sources_mu_ guards sources_ (held only to swap a source's list); retention_ is atomic;
// the maintenance thread alone truncates, appends self-metrics and writes checkpoints
// (and stop(), after joining it).
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "metrics/store_observer.h"
#include "tsdb/head.h"

namespace cargomon::tsdb {

// Prometheus' default lookback: an instant selector sees samples this far back.
inline constexpr std::chrono::milliseconds kLookbackDelta{5 * 60 * 1000};
inline constexpr std::size_t kDefaultMaxBytes = std::size_t{256} << 20;
// The checkpoint's name in the state directory (beside daemon/storage.h's kStateFile).
inline constexpr const char* kCheckpointFile = "history.ckpt";

// What the rules need when --storage.history.retention is unset: their longest range
// plus offset, the lookback, and two evaluation intervals (of the slowest group), so a
// rule evaluated late still finds its whole window.
std::chrono::milliseconds derived_retention(std::chrono::milliseconds longest_range_and_offset,
                                            std::chrono::milliseconds longest_interval);

struct HistoryOptions {
    std::optional<std::chrono::milliseconds> retention;  // --storage.history.retention; unset: the rules'
    std::size_t max_bytes = kDefaultMaxBytes;             // --storage.history.max-bytes
    std::chrono::milliseconds checkpoint_interval{60'000};  // --storage.history.checkpoint-interval
    // How often the cargomon_* families are appended, truncation runs and the
    // cargomon_history_* gauges are set: the default rule evaluation interval's quarter,
    // Prometheus' usual scrape interval.
    std::chrono::milliseconds self_metrics_interval{15'000};
    std::filesystem::path checkpoint_path;  // empty: never checkpointed
};

class History final : public metrics::StoreObserver {
public:
    using SelfMetrics = std::function<std::vector<prometheus::MetricFamily>()>;

    // `self_metrics` gives the families to append (those named cargomon_* are); it is
    // called on the maintenance thread.
    History(HistoryOptions options, prometheus::Registry& registry, const Clock& clock, SelfMetrics self_metrics);
    ~History() override;

    Head& head() { return head_; }
    const Head& head() const { return head_; }

    // Reads the checkpoint, if there is one, then applies the retention. A file that is
    // not a complete, intact checkpoint is logged (naming it and what is wrong), moved
    // aside as <file>.corrupt-<unix seconds> and counted; the series read before the
    // damage are kept. Never throws.
    void load();
    void start();
    // Ends the maintenance thread and writes a last checkpoint.
    void stop();

    // The retention the rules need (derived_retention), used while the options set none.
    void set_rules_retention(std::chrono::milliseconds retention);
    std::chrono::milliseconds retention() const;

    // What the maintenance thread does, callable at once (tests, stop()).
    bool checkpoint();
    void maintain();
    void append_self_metrics();

    void published(const metrics::CollectorSnapshot& snapshot) override;
    void removed(const std::string& collector) override;

private:
    using Emit = std::function<void(std::string_view name, const metrics::Labels& labels, double v)>;
    // Appends what `each` emits as the source's series at `t_ms`; its series that were
    // in the last call and are not in this one get a stale marker at `t_ms`.
    void append_source(const std::string& source, std::int64_t t_ms, const std::function<void(const Emit&)>& each);
    void count(Head::Appended appended);
    void loop(std::stop_token stop);

    HistoryOptions options_;
    const Clock& clock_;
    SelfMetrics self_metrics_;
    Head head_;
    std::atomic<std::int64_t> rules_retention_ms_;

    std::mutex sources_mu_;
    std::unordered_map<std::string, std::vector<SeriesRef>> sources_;  // each source's series, last time

    prometheus::Gauge& series_;
    prometheus::Gauge& samples_;
    prometheus::Gauge& bytes_;
    prometheus::Gauge& chunk_bytes_;
    prometheus::Gauge& oldest_;
    prometheus::Gauge& retention_;
    prometheus::Counter& dropped_out_of_order_;
    prometheus::Counter& dropped_duplicate_;
    prometheus::Counter& dropped_max_bytes_;
    prometheus::Gauge& checkpoint_success_;
    prometheus::Gauge& checkpoint_duration_;
    prometheus::Counter& checkpoint_failures_;
    prometheus::Counter& checkpoint_corruptions_;

    std::mutex wake_mu_;
    std::condition_variable_any wake_;
    std::jthread thread_;
};

}  // namespace cargomon::tsdb
