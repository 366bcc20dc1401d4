#pragma once
// What MetricStore tells one observer (the sample history, tsdb/history.h) about each
// change: a collector's new snapshot, and a collector's series leaving the store.
#include <string>

namespace cargomon::metrics {

struct CollectorSnapshot;

// Thread-safety: the store calls it with its writer lock held (metric_store.h), so calls
// never overlap and come in the order the changes happened; an implementation must not
// call back into the store, and should be quick (other publishes wait meanwhile).
class StoreObserver {
public:
    virtual ~StoreObserver() = default;
    // `snapshot` replaced its collector's previous one (publish()).
    virtual void published(const CollectorSnapshot& snapshot) = 0;
    // The collector's series left the store (remove(), expire_older_than()).
    virtual void removed(const std::string& collector) = 0;
};

}  // namespace cargomon::metrics
