#pragma once
// The daemon's API server on web::HttpEngine: the routes (all added by web/routes.h's
// register_routes), their access levels, and who may do what:
//  - reads are open unless the web config asks for basic auth (then every endpoint,
//    /metrics included, wants it, as in exporter-toolkit);
//  - state changes are off unless a flag turns them on, as in Prometheus:
//    Access::lifecycle (POST /-/reload) needs --web.enable-lifecycle and Access::admin
//    (creating and expiring silences) --web.enable-admin-api; otherwise 403;
//  - a request that changes state (a lifecycle or admin route) must come from no
//    browser or from a page of this server: a cross-site Origin or Sec-Fetch-Site is
//    refused 403, and what it sends must be JSON (Content-Type: application/json, or no
//    body and no Content-Type), 415 otherwise; a browser cannot send that cross-site
//    without a CORS preflight, which cargomon never grants. A POST to a read route (the
//    query API's, form-encoded as Prometheus takes them) changes nothing and is served
//    like a GET: a cross-site page can send either but read neither's answer;
//  - a failed login closes the connection; each client's failed logins are limited
//    (ServerOptions::auth_failures_per_minute, 429 beyond, without a password check);
//  - the web config's rate limit applies per client, after authentication, so anonymous
//    requests never spend an authenticated client's budget.
//
// Thread-safety: add_route() before start(); set_security(), set_ready() any time.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "web/client_buckets.h"
#include "web/http_engine.h"

namespace cargomon::web {

enum class Access { read, lifecycle, admin };

struct ServerOptions {
    bool enable_lifecycle = false;  // --web.enable-lifecycle
    bool enable_admin_api = false;  // --web.enable-admin-api
    // Failed logins one client may make: a burst of this many, then this many a minute
    // (--web.auth-failures-per-minute). Beyond it: 429, with no password check run.
    int auth_failures_per_minute = 10;
    Limits limits;
};

// What the web config (--web.config.file) asks of every request. Empty: plain HTTP,
// no authentication, no extra headers.
struct Security {
    std::shared_ptr<SSL_CTX> tls;
    // Which client certificates `tls` accepts (web/tls.h's client_policy()): a change
    // closes the kept-alive connections admitted under the old one (HttpEngine::set_tls).
    std::string tls_client_policy;
    // Given the Authorization header ("" when absent) and the question to ask before a
    // costly password check (web/auth.h's BasicAuth::verify). Empty: no authentication.
    using Authenticate = std::function<AuthVerdict(std::string_view authorization,
                                                   const std::function<bool()>& may_check_password)>;
    Authenticate authenticate;
    std::vector<std::pair<std::string, std::string>> headers;
    // exporter-toolkit's rate_limit: one request per interval on average, bursts of up
    // to `burst`, for each client once authenticated; beyond it 429. Interval 0: no limit.
    std::chrono::milliseconds rate_limit_interval{0};
    int rate_limit_burst = 0;
};

// Handlers run on the engine's connection threads: security_mu_ guards authenticate_ and
// the rate limit (rate_interval_, rate_burst_, rate_).
class ApiServer {
public:
    // Counts its answers in `registry` (cargomon_http_requests_total), which must outlive it.
    explicit ApiServer(prometheus::Registry& registry, ServerOptions options = {});
    ~ApiServer();
    ApiServer(const ApiServer&) = delete;
    ApiServer& operator=(const ApiServer&) = delete;

    // Adds an endpoint (see HttpEngine::route for patterns) that `access` may call. Call
    // before start(). Handler exceptions are answered 500 and logged.
    void add_route(Access access, const std::string& method, const std::string& pattern, Handler handler);
    // The routes added, in order (the root page lists them).
    std::vector<HttpEngine::RouteInfo> routes() const { return engine_.routes(); }

    // Applies to requests from now on (TLS: to connections accepted from now on).
    void set_security(Security security);

    // See HttpEngine::start and HttpEngine::stop.
    void start(const std::string& listen_address);
    void stop();
    int port() const { return engine_.port(); }

    // Whether --web.enable-admin-api lets Access::admin routes be called (the status page
    // offers its silence forms only then).
    bool admin_api_enabled() const { return options_.enable_admin_api; }

    // What /readyz answers: 503 until this is set.
    void set_ready(bool ready) { ready_ = ready; }
    bool ready() const { return ready_; }

private:
    bool admit(const Request& req, const std::string& route, Response& res);
    void count(const std::string& route, int status);

    prometheus::Family<prometheus::Counter>& requests_;
    ServerOptions options_;
    HttpEngine engine_;
    std::map<std::string, Access> access_;  // "METHOD pattern" -> who may call it
    mutable std::mutex security_mu_;
    Security::Authenticate authenticate_;
    std::chrono::milliseconds rate_interval_{0};
    int rate_burst_ = 0;
    std::shared_ptr<ClientBuckets> rate_;  // the rate limit's buckets; null when none
    ClientBuckets failed_logins_;
    std::atomic<bool> ready_{false};
};

}  // namespace cargomon::web
