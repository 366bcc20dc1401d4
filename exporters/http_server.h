#pragma once
// The daemon's one HTTP server: /metrics, /healthz, /readyz, /api/v1/status, /-/reload,
// a root page, and whatever routes later parts of the daemon add.
#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metric_store.h"

namespace cargomon::exporters {

class HttpServer {
public:
    struct Callbacks {
        std::function<std::string()> status;                  // JSON body of /api/v1/status
        std::function<std::optional<std::string>()> reload;  // nullopt on success, else why it failed
    };

    // /metrics serves `registry` (where this server also counts its requests as
    // cargomon_http_requests_total) followed by `store`. Both must outlive the server.
    // Throws std::invalid_argument when a callback is missing.
    HttpServer(const metrics::MetricStore& store, prometheus::Registry& registry, Callbacks callbacks);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Adds an endpoint; `pattern` is an httplib path regex, `method` "GET" or "POST".
    // Call before start(). Listed on the root page; other methods get 405.
    void add_route(const std::string& method, const std::string& pattern, httplib::Server::Handler handler);

    // Listens on a Prometheus-style address (":9464", "127.0.0.1:9464", "[::1]:9464";
    // port 0 picks a free one) and serves from a background thread. Throws
    // std::invalid_argument on a malformed address, std::runtime_error when binding fails.
    void start(const std::string& listen_address);
    // Returns once the listener is closed and in-flight requests are done (about a second
    // at most with idle keep-alive connections). Idempotent.
    void stop();
    int port() const { return port_; }

    // /readyz answers 503 until this is set.
    void set_ready(bool ready) { ready_ = ready; }

private:
    struct Route {
        std::string method;
        std::string pattern;
        std::regex regex;
    };
    void serve_metrics(const httplib::Request& req, httplib::Response& res);
    void serve_root(httplib::Response& res) const;
    httplib::Server::HandlerResponse answer_unrouted(const httplib::Request& req, httplib::Response& res);
    void count(std::string_view handler, int status);

    const metrics::MetricStore& store_;
    prometheus::Registry& registry_;
    prometheus::Family<prometheus::Counter>& requests_;
    Callbacks callbacks_;
    httplib::Server server_;
    std::vector<Route> routes_;
    std::atomic<bool> ready_{false};
    std::thread thread_;
    int port_ = 0;
};

}  // namespace cargomon::exporters
