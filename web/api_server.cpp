#include "web/api_server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "common/text.h"
#include "metrics/exposition.h"
#include "metrics/self_metrics.h"
#include "web/api.h"
#include "web/gzip.h"

namespace cargomon::web {
namespace {

std::string html_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

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

ApiServer::ApiServer(const metrics::MetricStore& store, prometheus::Registry& registry, Callbacks callbacks,
                       ServerOptions options)
    : store_(store),
      registry_(registry),
      requests_(metrics::counter_family(registry, "cargomon_http_requests_total",
                                        "HTTP requests answered by cargomon, by handler (route pattern, \"other\" "
                                        "when none matched) and status code.")),
      callbacks_(std::move(callbacks)),
      options_(options),
      engine_(options.limits),
      failed_logins_(options.auth_failures_per_minute,
                     std::chrono::milliseconds(60'000 / std::max(1, options.auth_failures_per_minute))) {
    if (!callbacks_.status || !callbacks_.reload)
        throw std::invalid_argument("ApiServer needs both a status and a reload callback");
    engine_.set_guard([this](const Request& req, const std::string& route, Response& res) {
        return admit(req, route, res);
    });
    engine_.set_observer([this](const Request&, const std::string& route, const Response& res) {
        count(route, res.status);
    });

    add_route(Access::read, "GET", "/", [this](const Request&, Response& res) { serve_root(res); });
    add_route(Access::read, "GET", "/metrics", [this](const Request& req, Response& res) { serve_metrics(req, res); });
    add_route(Access::read, "GET", "/healthz",
              [](const Request&, Response& res) { res.set_content("OK", "text/plain; charset=utf-8"); });
    add_route(Access::read, "GET", "/readyz", [this](const Request&, Response& res) {
        if (ready_) {
            res.set_content("OK", "text/plain; charset=utf-8");
        } else {
            res.status = 503;
            res.set_content("not ready\n", "text/plain; charset=utf-8");
        }
    });
    add_route(Access::read, "GET", "/api/v1/status",
              [this](const Request&, Response& res) { res.set_content(callbacks_.status(), "application/json"); });
    add_route(Access::lifecycle, "POST", "/-/reload", [this](const Request&, Response& res) {
        if (auto error = callbacks_.reload()) {
            res.status = 500;
            res.set_content("reload failed: " + *error + "\n", "text/plain; charset=utf-8");
        } else {
            res.set_content("OK", "text/plain; charset=utf-8");
        }
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
    if (method != "GET") {
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

// The registry (self-metrics, which change with every request) is rendered for each
// scrape; the store part only changes when a collector publishes, so its rendering and
// its compressed form are kept per view and format until the next change.
void ApiServer::serve_metrics(const Request& req, Response& res) {
    auto format = metrics::negotiate_format(req.header("Accept"));
    // The registry before the view: a run is published before its success is set, so the
    // scrape holds the data of every success its self-metrics show.
    auto head = std::make_shared<const metrics::Exposition>(registry_.Collect(), nullptr, format, /*end=*/false);
    auto view = store_.view();
    const bool gzip = accepts_gzip(req.header("Accept-Encoding"));
    std::shared_ptr<const StorePart> part;
    {
        std::lock_guard lock(cache_mu_);
        auto& cached = store_parts_[format == metrics::Format::openmetrics ? 1 : 0];
        if (cached && cached->view == view && (!gzip || cached->gzip)) part = cached;
    }
    if (!part) {
        auto fresh = std::make_shared<StorePart>();
        fresh->view = view;
        fresh->exposition = std::make_shared<const metrics::Exposition>(
            std::vector<prometheus::MetricFamily>{}, view, format, /*end=*/true);
        if (gzip) fresh->gzip = std::make_shared<const GzipTail>(gzip_tail(fresh->exposition->pieces()));
        std::lock_guard lock(cache_mu_);
        // A part of an older view would keep that whole view (every snapshot it
        // replaced) alive until the next scrape in its format, which may never come.
        for (auto& other : store_parts_)
            if (other && other->view != view) other.reset();
        store_parts_[format == metrics::Format::openmetrics ? 1 : 0] = fresh;
        part = fresh;
    }
    res.set_header("Content-Type", std::string(metrics::content_type(format)));
    res.set_header("Vary", "Accept, Accept-Encoding");
    if (gzip) {
        res.set_header("Content-Encoding", "gzip");
        res.body = gzip_join(head->pieces(), *part->gzip);
        return;
    }
    // The pieces go out as they are: the store's sample lines are not copied.
    res.pieces = head->pieces();
    res.pieces.insert(res.pieces.end(), part->exposition->pieces().begin(), part->exposition->pieces().end());
    res.owner = std::make_shared<std::pair<decltype(head), decltype(part)>>(head, part);
}

void ApiServer::serve_root(Response& res) const {
    std::string html =
        "<!DOCTYPE html>\n<html><head><title>cargomon</title></head><body>\n<h1>cargomon</h1>\n<ul>\n";
    for (const auto& route : engine_.routes()) {
        if (route.pattern == "/") continue;
        auto path = html_escape(route.pattern);
        html += route.method == "GET" ? "<li><a href=\"" + path + "\">" + path + "</a></li>\n"
                                      : "<li>" + route.method + " " + path + "</li>\n";
    }
    html += "</ul>\n</body></html>\n";
    res.set_content(html, "text/html; charset=utf-8");
}

void ApiServer::count(const std::string& route, int status) {
    requests_.Add({{"handler", route.empty() ? "other" : route}, {"code", std::to_string(status)}}).Increment();
}

}  // namespace cargomon::web
