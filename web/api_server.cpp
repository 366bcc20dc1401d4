#include "web/api_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "common/text.h"
#include "metrics/self_metrics.h"
#include "web/api.h"

namespace cargomon::web {
namespace {

// Prometheus' API error shape, so clients that read its errors read ours.
void json_refusal(Response& res, int status, std::string_view type, std::string_view message) {
    res = Response{};
    res.status = status;
    res.set_content(error_answer(type, message), "application/json");
}

// host:port, lower-cased, with `default_port` made explicit when it has none.
std::string with_port(std::string_view authority, std::string_view default_port) {
    std::string out = to_lower(authority);
    const auto bracket = out.rfind(']');  // an IPv6 literal's colons are not a port's
    const auto colon = out.rfind(':');
    if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket))
        out += ":" + std::string(default_port);
    return out;
}

// Why a state-changing request is refused as coming from another site's page, if it is:
// browsers send Sec-Fetch-Site on every request and Origin on every cross-origin POST
// (as Go 1.25's http.CrossOriginProtection reads them). A request without either comes
// from no browser (curl, cargomon silence, Prometheus' own tools) and passes.
std::optional<std::string> cross_site(const Request& req) {
    const std::string site = to_lower(trim(req.header("Sec-Fetch-Site")));
    if (site == "cross-site" || site == "same-site")
        return "cross-site request refused (Sec-Fetch-Site: " + site + "): state changes are not taken from other sites' pages";
    if (!req.has_header("Origin")) return std::nullopt;
    const std::string_view origin = trim(req.header("Origin"));
    // The Host header has no scheme: a port it leaves out is the Origin scheme's default.
    for (auto [scheme, port] : {std::pair{"http://", "80"}, std::pair{"https://", "443"}}) {
        const std::string_view prefix = scheme;
        if (origin.size() > prefix.size() && iequals(origin.substr(0, prefix.size()), prefix) &&
            with_port(origin.substr(prefix.size()), port) == with_port(trim(req.header("Host")), port))
            return std::nullopt;
    }
    return "cross-site request refused: Origin " + printable(origin, 100) + " is not this server (Host " +
           printable(req.header("Host"), 100) + ")";
}

// Why a state-changing request is refused for what it sends, if it is: JSON, or nothing.
std::optional<std::string> not_json(const Request& req) {
    const std::string_view type = req.header("Content-Type");
    if (type.empty()) {
        const bool body = req.has_header("Transfer-Encoding") ||
                          (req.has_header("Content-Length") && trim(req.header("Content-Length")) != "0");
        if (!body) return std::nullopt;
        return std::string("a request body needs Content-Type: application/json");
    }
    if (iequals(trim(type.substr(0, type.find(';'))), "application/json")) return std::nullopt;
    return "write requests take Content-Type: application/json (or no body), not " + printable(type, 100);
}

}  // namespace

ApiServer::ApiServer(prometheus::Registry& registry, ServerOptions options)
    : requests_(metrics::counter_family(registry, "cargomon_http_requests_total",
                                        "HTTP requests answered by cargomon, by handler (route pattern, \"other\" "
                                        "when none matched) and status code.")),
      options_(options),
      engine_(options.limits),
      failed_logins_(options.auth_failures_per_minute,
                     std::chrono::milliseconds(60'000 / std::max(1, options.auth_failures_per_minute))) {
    engine_.set_guard([this](const Request& req, const std::string& route, Response& res) {
        return admit(req, route, res);
    });
    engine_.set_observer([this](const Request&, const std::string& route, const Response& res) {
        count(route, res.status);
    });
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::add_route(Access access, const std::string& method, const std::string& pattern, Handler handler) {
    engine_.route(method, pattern, std::move(handler));
    access_[method + " " + pattern] = access;
}

void ApiServer::set_security(Security security) {
    engine_.set_tls(std::move(security.tls), std::move(security.tls_client_policy));
    engine_.set_extra_headers(std::move(security.headers));
    std::lock_guard lock(security_mu_);
    authenticate_ = std::move(security.authenticate);
    if (rate_interval_ != security.rate_limit_interval || rate_burst_ != security.rate_limit_burst) {
        rate_interval_ = security.rate_limit_interval;
        rate_burst_ = security.rate_limit_burst;
        rate_ = rate_interval_.count() > 0 ? std::make_shared<ClientBuckets>(rate_burst_, rate_interval_) : nullptr;
    }
}

void ApiServer::start(const std::string& listen_address) { engine_.start(listen_address); }

void ApiServer::stop() { engine_.stop(); }

bool ApiServer::admit(const Request& req, const std::string& route, Response& res) {
    Security::Authenticate authenticate;
    std::shared_ptr<ClientBuckets> rate;
    {
        std::lock_guard lock(security_mu_);
        authenticate = authenticate_;
        rate = rate_;
    }
    if (authenticate) {
        // A password check costs a failed login up front (so that concurrent guesses
        // cannot all pass the limit before the first fails); a pass, or a check not run,
        // gives it back.
        bool charged = false;
        const AuthVerdict verdict = authenticate(req.header("Authorization"), [&] {
            charged = failed_logins_.take(req.client);
            return charged;
        });
        if (charged && (verdict == AuthVerdict::pass || verdict == AuthVerdict::busy)) failed_logins_.give_back(req.client);
        // Refused logins end their connection: a client guessing must connect again.
        auto refuse = [&](int status, std::string_view header, std::string value, std::string body) {
            res = Response{};
            res.status = status;
            res.set_header(std::string(header), std::move(value));
            res.set_content(std::move(body), "text/plain; charset=utf-8");
            res.close_connection = true;
            return false;
        };
        switch (verdict) {
            case AuthVerdict::pass: break;
            case AuthVerdict::fail: return refuse(401, "WWW-Authenticate", "Basic", "Unauthorized\n");
            case AuthVerdict::limited:
                return refuse(429, "Retry-After", std::to_string(failed_logins_.retry_after_seconds(req.client)),
                              "Too Many Requests: too many failed logins from " + req.client + "\n");
            case AuthVerdict::busy:
                return refuse(429, "Retry-After", "1", "Too Many Requests: too many logins being checked, retry\n");
        }
    }
    if (rate && !rate->take(req.client)) {
        res = Response{};
        res.status = 429;
        res.set_content("Too Many Requests\n", "text/plain; charset=utf-8");
        return false;
    }
    if (route.empty()) return true;  // answered 404 or 405 by the server
    std::string method = req.method == "HEAD" ? "GET" : req.method;
    auto it = access_.find(method + " " + route);
    Access access = it == access_.end() ? Access::read : it->second;
    if (access == Access::lifecycle && !options_.enable_lifecycle) {
        json_refusal(res, 403, "forbidden", "lifecycle API is not enabled: start cargomon with --web.enable-lifecycle");
        return false;
    }
    if (access == Access::admin && !options_.enable_admin_api) {
        json_refusal(res, 403, "forbidden", "admin API is not enabled: start cargomon with --web.enable-admin-api");
        return false;
    }
    // A POST to a read route (the query API's form-encoded POSTs, as Grafana and promtool
    // send them) changes nothing, and its answer is no more readable cross-site than a
    // GET's: the write rules guard the routes that change state.
    if (method != "GET" && access != Access::read) {
        if (auto why = cross_site(req)) {
            json_refusal(res, 403, "forbidden", *why);
            return false;
        }
        if (auto why = not_json(req)) {
            json_refusal(res, 415, "bad_data", *why);
            return false;
        }
    }
    return true;
}

void ApiServer::count(const std::string& route, int status) {
    requests_.Add({{"handler", route.empty() ? "other" : route}, {"code", std::to_string(status)}}).Increment();
}

}  // namespace cargomon::web
