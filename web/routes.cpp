#include "web/routes.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "exporters/gzip.h"
#include "exporters/metrics_handler.h"
#include "web/api.h"
#include "web/query_api.h"
#include "web/static_assets.h"
#include "web/status_page.h"

namespace cargomon::web {
namespace {

// What every answer of the status page carries: its policy (no inline script, nothing
// from elsewhere), no sniffing of types, no framing, no Referer to where its links go.
void page_headers(Response& res) {
    res.set_header("Content-Security-Policy", std::string(kStatusPagePolicy));
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
}

// Serves the compiled-in file at `path` (web/static_assets.h), gzipped once for the
// clients that take it.
Handler asset_handler(std::string_view path) {
    const auto assets = static_assets();
    const auto it = std::find_if(assets.begin(), assets.end(), [&](const StaticAsset& a) { return a.path == path; });
    if (it == assets.end()) throw std::logic_error("no compiled-in file " + std::string(path));
    const StaticAsset& asset = *it;
    auto gzipped = std::make_shared<const std::string>(exporters::gzip_compress({asset.body}));
    return [&asset, gzipped](const Request& req, Response& res) {
        if (exporters::accepts_gzip(req.header("accept-encoding"))) {
            res.pieces = {*gzipped};
            res.owner = gzipped;
            res.set_header("Content-Encoding", "gzip");
        } else {
            res.pieces = {asset.body};
        }
        res.set_header("Content-Type", std::string(asset.content_type));
        res.set_header("Vary", "Accept-Encoding");
        // The files change only with the binary: a day in the cache, then asked again.
        res.set_header("Cache-Control", "public, max-age=86400");
        page_headers(res);
    };
}

void json(Response& res, std::string body) { res.set_content(std::move(body), "application/json"); }

void reply(Response& res, Answer answer) {
    res.status = answer.status;
    if (!answer.json.empty()) json(res, std::move(answer.json));
}

void plain(Response& res, int status, std::string text) {
    res.status = status;
    res.set_content(std::move(text), "text/plain; charset=utf-8");
}

}  // namespace

void register_routes(ApiServer& server, const Sources& sources) {
    // The status page (web/status_page.h) and its files, compiled in.
    // Compressed for the browsers that take it (all do): the page's whole transfer stays
    // small with hundreds of alerts on it.
    server.add_route(Access::read, "GET", "/", [&server, sources](const Request& req, Response& res) {
        StatusPage page = read_status_page(sources, std::chrono::system_clock::now());
        page.admin_api = server.admin_api_enabled();
        page.routes = server.routes();
        std::string html = render_status_page(page);
        if (exporters::accepts_gzip(req.header("accept-encoding"))) {
            res.set_content(exporters::gzip_compress({html}), "text/html; charset=utf-8");
            res.set_header("Content-Encoding", "gzip");
        } else {
            res.set_content(std::move(html), "text/html; charset=utf-8");
        }
        res.set_header("Vary", "Accept-Encoding");
        res.set_header("Cache-Control", "no-store");
        page_headers(res);
    });
    server.add_route(Access::read, "GET", "/static/status.js", asset_handler("/static/status.js"));
    server.add_route(Access::read, "GET", "/static/status.css", asset_handler("/static/status.css"));
    server.add_route(Access::read, "GET", "/static/favicon.svg", asset_handler("/static/favicon.svg"));
    // Metrics leave the daemon here (exporters/).
    server.add_route(Access::read, "GET", "/metrics",
                     [&metrics = sources.metrics](const Request& req, Response& res) { metrics.serve(req, res); });

    server.add_route(Access::read, "GET", "/healthz", [](const Request&, Response& res) { plain(res, 200, "OK"); });
    server.add_route(Access::read, "GET", "/readyz", [&server](const Request&, Response& res) {
        if (server.ready()) plain(res, 200, "OK");
        else plain(res, 503, "not ready\n");
    });

    // The daemon itself.
    server.add_route(Access::read, "GET", "/api/v1/status",
                     [&status = sources.status](const Request&, Response& res) {
                         json(res, status_answer(status.status()));
                     });
    server.add_route(Access::lifecycle, "POST", "/-/reload",
                     [&lifecycle = sources.lifecycle](const Request&, Response& res) {
                         if (auto error = lifecycle.reload()) plain(res, 500, "reload failed: " + *error + "\n");
                         else plain(res, 200, "OK");
                     });

    // Alerting: Prometheus' alerts and rules, Alertmanager's silences.
    server.add_route(Access::read, "GET", "/api/v1/alerts", [&alerts = sources.alerts](const Request&, Response& res) {
        json(res, alerts_answer(alerts.active_alerts()));
    });
    server.add_route(Access::read, "GET", "/api/v1/rules", [&rules = sources.rules](const Request&, Response& res) {
        json(res, rules_answer(rules.rule_groups()));
    });
    server.add_route(Access::read, "GET", "/api/v1/silences",
                     [&silences = sources.silences](const Request&, Response& res) {
                         reply(res, list_silences_answer(silences));
                     });
    server.add_route(Access::admin, "POST", "/api/v1/silences",
                     [&silences = sources.silences](const Request& req, Response& res) {
                         reply(res, create_silence_answer(silences, req.body));
                     });
    server.add_route(Access::admin, "DELETE", "/api/v1/silences/:id",
                     [&silences = sources.silences](const Request& req, Response& res) {
                         reply(res, expire_silence_answer(silences, req.path_params.at(0)));
                     });

    // Automatic actions.
    server.add_route(Access::read, "GET", "/api/v1/actions",
                     [&actions = sources.actions](const Request&, Response& res) {
                         json(res, actions_answer(actions.recent_actions()));
                     });

    // Prometheus' query API over the sample history (web/query_api.h), with the methods
    // Prometheus registers for each (POST bodies form-encoded: Grafana's and promtool's way).
    using Endpoint = Answer (*)(const QuerySource&, const QueryParams&, const Request&);
    auto query_route = [&query = sources.query](Endpoint endpoint) {
        return [&query, endpoint](const Request& req, Response& res) {
            Answer refusal;
            auto params = read_query_params(req, refusal);
            reply(res, params ? endpoint(query, *params, req) : std::move(refusal));
        };
    };
    const Endpoint instant = [](const QuerySource& q, const QueryParams& p, const Request&) {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        return query_answer(q, p, std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
    };
    const Endpoint range = [](const QuerySource& q, const QueryParams& p, const Request&) {
        return query_range_answer(q, p);
    };
    const Endpoint series = [](const QuerySource& q, const QueryParams& p, const Request&) { return series_answer(q, p); };
    const Endpoint labels = [](const QuerySource& q, const QueryParams& p, const Request&) { return labels_answer(q, p); };
    const Endpoint values = [](const QuerySource& q, const QueryParams& p, const Request& req) {
        return label_values_answer(q, p, req.path_params.at(0));
    };
    const Endpoint metadata = [](const QuerySource& q, const QueryParams& p, const Request&) {
        return metadata_answer(q, p);
    };
    server.add_route(Access::read, "GET", "/api/v1/query", query_route(instant));
    server.add_route(Access::read, "POST", "/api/v1/query", query_route(instant));
    server.add_route(Access::read, "GET", "/api/v1/query_range", query_route(range));
    server.add_route(Access::read, "POST", "/api/v1/query_range", query_route(range));
    server.add_route(Access::read, "GET", "/api/v1/series", query_route(series));
    server.add_route(Access::read, "POST", "/api/v1/series", query_route(series));
    server.add_route(Access::read, "GET", "/api/v1/labels", query_route(labels));
    server.add_route(Access::read, "POST", "/api/v1/labels", query_route(labels));
    server.add_route(Access::read, "GET", "/api/v1/label/:name/values", query_route(values));
    server.add_route(Access::read, "GET", "/api/v1/metadata", query_route(metadata));
    server.add_route(Access::read, "GET", "/api/v1/status/buildinfo",
                     [&query = sources.query](const Request&, Response& res) {
                         json(res, buildinfo_answer(query.build_info()));
                     });
}

}  // namespace cargomon::web
