#pragma once
// cargomon's HTTP/1.1 server, plain or TLS, written for a port that hostile clients can
// reach. Each connection has its own thread, up to Limits::max_connections; every read
// and write has a deadline, so a slow client is dropped and never holds up another one.
// Request lines, headers and bodies (after decompression) are bounded; each refusal is
// answered with its true status (400, 408, 411, 413, 414, 415, 431, 501, 503).
//
// Why not cpp-httplib's server (still our HTTP client): its 0.11 worker pool is fixed,
// it has a per-read timeout but no deadline for a whole request (one header line a
// second holds a worker forever), inflates request bodies without a cap, and answers
// oversized headers 400.
//
// Thread-safety: route() and set_guard() before start(); set_tls() any time (new
// connections take the new context); stop() from any thread but a handler's.
#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "web/http.h"

namespace cargomon::web {

using Handler = std::function<void(const Request&, Response&)>;

class Server {
public:
    explicit Server(Limits limits = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // `pattern` is a path whose segments are literal or ":name" (one segment, captured
    // into Request::path_params). GET routes also answer HEAD.
    void route(std::string method, std::string pattern, Handler handler);
    struct RouteInfo {
        std::string method;
        std::string pattern;
    };
    std::vector<RouteInfo> routes() const;

    // Runs once the headers of a request are read, before its body is: returns false
    // after filling `res` to refuse the request (authentication, for one). `route` is
    // the pattern the request matched, or "" when none did.
    using Guard = std::function<bool(const Request& req, const std::string& route, Response& res)>;
    void set_guard(Guard guard) { guard_ = std::move(guard); }
    // Called after every answer (routed or refused) with the route pattern ("" when none
    // matched), for metrics and access logs. Also before start().
    using Observer = std::function<void(const Request& req, const std::string& route, const Response& res)>;
    void set_observer(Observer observer) { observer_ = std::move(observer); }
    // Headers added to every answer, refusals included (e.g. the web config's
    // Strict-Transport-Security).
    void set_extra_headers(std::vector<std::pair<std::string, std::string>> headers);

    // nullptr serves plain HTTP. Connections accepted afterwards use the new context.
    void set_tls(std::shared_ptr<SSL_CTX> ctx);

    // Listens on a Prometheus-style address (":9464", "127.0.0.1:9464", "[::1]:9464";
    // port 0 picks a free one) and serves from background threads. Throws
    // std::invalid_argument on a malformed address, std::runtime_error when binding fails
    // (another process's SO_REUSEPORT is not honoured: the port must be free).
    void start(const std::string& listen_address);
    // Closes the listener, drops idle and half-read connections, waits for the handlers
    // running now to answer. Idempotent.
    void stop();
    int port() const { return port_; }

private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        Handler handler;
    };
    class Connection;

    void accept_loop();
    void serve(int fd, std::string remote);
    const Route* find_route(const Request& req, std::string& allowed, std::vector<std::string>& params) const;
    void track(int fd, bool add);

    Limits limits_;
    std::vector<Route> routes_;
    Guard guard_;
    Observer observer_;
    mutable std::mutex mu_;  // guards tls_, extra_headers_, open_, connections_
    std::shared_ptr<SSL_CTX> tls_;
    std::vector<std::pair<std::string, std::string>> extra_headers_;
    std::set<int> open_;  // sockets of live connections, shut down by stop()
    std::size_t connections_ = 0;
    std::condition_variable drained_;
    std::atomic<bool> stopping_{false};
    int listener_ = -1;
    int wake_[2] = {-1, -1};  // stop() writes here to end accept_loop's poll
    int port_ = 0;
    std::thread acceptor_;
};

}  // namespace cargomon::web
