#pragma once
// The HTTP/1.1 engine: connections (plain or TLS), limits and deadlines, and routing to
// handlers; what the endpoints are and who may call them is web/api_server.h's job.
// Written for a port that hostile clients can reach. Each connection has its own thread,
// up to Limits::max_connections; every read and write has a deadline, so a slow client
// is dropped and never holds up another one.
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
#include <map>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "web/http.h"
#include "web/request_parser.h"

namespace cargomon::web {

using Deadline = std::chrono::steady_clock::time_point;
using Handler = std::function<void(const Request&, Response&)>;

class HttpEngine {
public:
    explicit HttpEngine(Limits limits = {});
    ~HttpEngine();
    HttpEngine(const HttpEngine&) = delete;
    HttpEngine& operator=(const HttpEngine&) = delete;

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
    // `client_policy` says which client certificates the context accepts (any text that
    // changes when they change: web/tls.h's client_policy()). When it changes, or TLS is
    // turned on or off, connections admitted before are closed: those waiting for their
    // next request at once, a busy one after its answer, so no kept-alive connection
    // outlives the trust it was admitted under.
    void set_tls(std::shared_ptr<SSL_CTX> ctx, std::string client_policy = {});

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

    // One open connection, as the accept loop and set_tls() see it (under mu_).
    struct Open {
        std::string client;
        bool waiting = false;  // kept alive, waiting for its next request: may be closed
        std::chrono::steady_clock::time_point waiting_since;
        bool evicted = false;   // shut down to make room: no longer counted against the caps
        std::uint64_t generation = 0;  // tls_generation_ when it was accepted
    };

    // One request's answer so far, as serve()'s steps pass it on.
    struct Exchange {
        Request req;
        Response res;
        std::string matched;  // the route pattern, "" when none matched
        bool close_after = false;
    };
    // What a step of serve() leaves to do: go on to the next step, read the next request,
    // close the connection (TLS close_notify first), or drop it as it is.
    enum class Next { step, request, close, drop };

    void accept_loop();
    // A connection's life, in steps: open_connection() (TLS handshake), then for each
    // request await_request() (the keep-alive wait), read_head(), route_and_guard(),
    // admit_body(), read_body(), handle(), answer(); a refusal goes through
    // refuse_and_close() (the lingering close). Each read and write keeps the deadlines of
    // Limits.
    void serve(int fd, std::string remote, std::string client, std::uint64_t generation);
    std::unique_ptr<Connection> open_connection(int fd, std::uint64_t generation, const std::string& remote,
                                                Deadline deadline);
    Next await_request(Connection& conn, bool first, Deadline first_deadline);
    Next serve_request(Connection& conn, const std::string& remote, const std::string& client);
    Next read_head(Connection& conn, Exchange& ex, Deadline deadline, Framing& framing);
    Next route_and_guard(Connection& conn, Exchange& ex, const Framing& framing, const Route*& found);
    Next admit_body(Connection& conn, Exchange& ex, const Framing& framing, Deadline deadline);
    Next read_body(Connection& conn, Exchange& ex, const Framing& framing, Deadline deadline);
    void handle(const Route& route, Exchange& ex);
    // Writes `res` (headers only for a HEAD); sets ex.close_after when the connection must
    // end after it.
    void answer(Connection& conn, Exchange& ex, const Response& res, bool head);
    // Answers a refusal, then ends the connection without reading on.
    Next refuse_and_close(Connection& conn, Exchange& ex, int status, std::string_view why);
    // Under mu_: shuts down the connection of `among` (any client when empty) that has waited
    // longest for its next request, and frees its place; false when none is waiting.
    bool evict_waiting(const std::string& among);
    // Marks a connection waiting (or not); false when it must end instead (stopping,
    // evicted, or admitted under an older TLS client policy).
    bool set_waiting(int fd, bool waiting);
    const Route* find_route(const Request& req, std::string& allowed, std::vector<std::string>& params) const;

    Limits limits_;
    std::vector<Route> routes_;
    Guard guard_;
    Observer observer_;
    // Guards tls_, tls_policy_, tls_generation_, extra_headers_, open_, per_client_,
    // counted_, threads_.
    mutable std::mutex mu_;
    std::shared_ptr<SSL_CTX> tls_;
    std::string tls_policy_ = "plain";
    std::uint64_t tls_generation_ = 0;
    std::vector<std::pair<std::string, std::string>> extra_headers_;
    std::map<int, Open> open_;  // by socket; shut down by stop()
    std::map<std::string, std::size_t> per_client_;  // connections counted, by client
    std::size_t counted_ = 0;  // connections counted against max_connections (not evicted)
    std::size_t threads_ = 0;  // connection threads running; stop() waits for none
    std::condition_variable drained_;
    std::atomic<bool> stopping_{false};
    int listener_ = -1;
    int wake_[2] = {-1, -1};  // stop() writes here to end accept_loop's poll
    int port_ = 0;
    std::thread acceptor_;
};

}  // namespace cargomon::web
