#pragma once
// /metrics as the daemon serves it, for bench_metrics_http and bench_peers: the exporter's
// handler (exporters/metrics_handler.h) on the API server, on a free loopback port. The
// route is the one web/routes.cpp registers, without the rest of the API the benchmarks
// do not scrape.
#include <prometheus/registry.h>

#include "exporters/metrics_handler.h"
#include "metrics/metric_store.h"
#include "web/api_server.h"

namespace cargomon::bench {

class MetricsEndpoint {
public:
    MetricsEndpoint(metrics::MetricStore& store, prometheus::Registry& registry) : handler_(store, registry), server_(registry) {
        server_.add_route(web::Access::read, "GET", "/metrics",
                          [this](const web::Request& req, web::Response& res) { handler_.serve(req, res); });
        server_.start("127.0.0.1:0");
    }
    int port() const { return server_.port(); }

private:
    exporters::MetricsHandler handler_;
    web::ApiServer server_;
};

}  // namespace cargomon::bench
