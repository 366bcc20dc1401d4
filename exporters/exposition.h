#pragma once
// The answer to a scrape: prometheus-cpp families (the self-metrics Registry) and a
// StoreView in the Prometheus text format 0.0.4 or OpenMetrics 1.0.0, straight from the
// sample lines the store rendered once per snapshot (metrics/text_format.h).
#include <prometheus/metric_family.h>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_store.h"
#include "metrics/text_format.h"

namespace cargomon::exporters {

// The format a scraper's Accept header prefers (q-values honoured); text when in doubt.
metrics::Format negotiate_format(std::string_view accept);
std::string_view content_type(metrics::Format format);

// One scrape's answer: registry families first, then the store. The two must not share
// metric names (the daemon's own metrics are `cargomon_*`, the store's `cargo_*`).
// Held as pieces: headers it renders and owns, and the store's pre-rendered sample lines,
// borrowed from the snapshots it keeps alive, so 100,000 series cost no copy.
//
// An answer can also be built in two parts that join into the same bytes: the registry
// alone with `end` false, then the store alone (empty registry) with `end` true. The
// store part changes only when a collector publishes, so it can be kept (and compressed)
// once per change.
class Exposition {
public:
    // `store` may be null (no store families); `end` writes OpenMetrics' "# EOF" line.
    Exposition(const std::vector<prometheus::MetricFamily>& registry, std::shared_ptr<const metrics::StoreView> store,
               metrics::Format format, bool end = true);
    Exposition(const Exposition&) = delete;
    Exposition& operator=(const Exposition&) = delete;

    const std::vector<std::string_view>& pieces() const { return pieces_; }
    std::size_t size() const { return size_; }
    std::string str() const;  // the pieces joined

private:
    void add(std::string_view piece);
    void flush();  // turns what was rendered since the last piece into an owned piece

    std::shared_ptr<const metrics::StoreView> store_;
    std::deque<std::string> owned_;  // a deque: pieces point into it, so elements never move
    std::string rendering_;
    std::vector<std::string_view> pieces_;
    std::size_t size_ = 0;
};

}  // namespace cargomon::exporters
