#pragma once
// The latest snapshot of every collector: what /metrics serves and the rule engine reads.
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "metrics/model.h"
#include "metrics/store_observer.h"

namespace cargomon::metrics {

// One collector's latest publication; immutable once published.
struct CollectorSnapshot {
    std::string collector;
    SystemTime collected_at;
    Snapshot snapshot;
    // Each family's sample lines, rendered once at publish so a scrape only copies them.
    std::vector<std::string> sample_text;  // parallel to snapshot.families
    std::size_t series = 0;
};

// The same-name families of all collectors, merged so an exposition has one HELP/TYPE
// block per name. Points into the snapshots of the StoreView that holds it.
struct MergedFamily {
    std::string_view name;
    std::string_view help;  // the first collector's (by collector name)
    MetricType type = MetricType::gauge;
    struct Part {
        std::string_view collector;
        const Family* family = nullptr;
        const std::string* sample_text = nullptr;
    };
    std::vector<Part> parts;  // in collector order
};

// A consistent, immutable picture of the whole store; cheap to take and to keep.
struct StoreView {
    std::vector<std::shared_ptr<const CollectorSnapshot>> collectors;  // sorted by collector
    std::vector<MergedFamily> families;                                  // sorted by name
    std::size_t series = 0;
};

// Thread-safe: collector threads publish, scrapes and rule evaluations read, all at once;
// writers_ serializes publish/remove/expire and guards observer_ (called under it),
// current_mu_ guards only the current_ pointer.
class MetricStore : public prometheus::Collectable {
public:
    MetricStore();

    // Replaces the collector's previous snapshot whole: a reader sees the old one or the
    // new one, and series missing from the new one vanish. Sorts each sample's labels.
    // Throws std::invalid_argument, naming the collector and family, on a bad metric or
    // label name, invalid UTF-8, a duplicate series, a counter not named `*_total` or
    // below zero, or a name another collector publishes with a different type or the
    // same labels.
    void publish(const std::string& collector, Snapshot snapshot, SystemTime collected_at);
    void remove(const std::string& collector);
    // For max_staleness: drops every snapshot collected before `cutoff`.
    void expire_older_than(SystemTime cutoff);

    // From now on `observer` (nullptr: none) hears of every publish and removal; the
    // caller keeps it alive until it is replaced.
    void set_observer(StoreObserver* observer);

    std::shared_ptr<const StoreView> view() const;
    std::size_t series_count() const;
    std::size_t series_count(const std::string& collector) const;

    // The store as prometheus-cpp families (slower than exposing the view directly).
    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    using Collectors = std::vector<std::shared_ptr<const CollectorSnapshot>>;
    void install(Collectors collectors);  // caller holds writers_

    std::mutex writers_;             // serializes changes; readers never take it
    StoreObserver* observer_ = nullptr;
    mutable std::mutex current_mu_;  // held only to copy or swap current_
    std::shared_ptr<const StoreView> current_;
};

}  // namespace cargomon::metrics
