#pragma once
// GET /metrics: cargomon's own metrics (the prometheus-cpp Registry) followed by the
// store, in the format the scraper's Accept header prefers (text 0.0.4 or OpenMetrics
// 1.0.0), gzip when Accept-Encoding allows it.
//
// Rendered once per change: the registry (self-metrics, which change with every request)
// is rendered for each scrape, but the store part only changes when a collector
// publishes, so its rendering and its compressed form are kept per view and format until
// the next change, and a scrape of 100,000 series copies none of their lines.
//
// Thread-safe: serve() from any number of connection threads; cache_mu_ guards parts_.
#include <prometheus/registry.h>

#include <memory>
#include <mutex>

#include "exporters/exposition.h"
#include "exporters/gzip.h"
#include "metrics/metric_store.h"
#include "web/http.h"

namespace cargomon::exporters {

class MetricsHandler {
public:
    // Both must outlive the handler.
    MetricsHandler(const metrics::MetricStore& store, prometheus::Registry& registry)
        : store_(store), registry_(registry) {}
    MetricsHandler(const MetricsHandler&) = delete;
    MetricsHandler& operator=(const MetricsHandler&) = delete;

    void serve(const web::Request& req, web::Response& res);

private:
    struct StorePart {
        std::shared_ptr<const metrics::StoreView> view;  // what it was rendered from
        std::shared_ptr<const Exposition> exposition;
        std::shared_ptr<const GzipTail> gzip;  // made on the first gzip scrape of this view
    };

    const metrics::MetricStore& store_;
    prometheus::Registry& registry_;
    std::mutex cache_mu_;
    std::shared_ptr<const StorePart> parts_[2];  // text, OpenMetrics
};

}  // namespace cargomon::exporters
