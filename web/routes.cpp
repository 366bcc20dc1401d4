#include "web/routes.h"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "exporters/metrics_handler.h"
#include "web/api.h"
#include "web/query_api.h"

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

// The root page: a link to every GET route, the other methods listed.
std::string index_page(const std::vector<HttpEngine::RouteInfo>& routes) {
    std::string html =
        "<!DOCTYPE html>\n<html><head><title>cargomon</title></head><body>\n<h1>cargomon</h1>\n<ul>\n";
    for (const auto& route : routes) {
        if (route.pattern == "/") continue;
        auto path = html_escape(route.pattern);
        html += route.method == "GET" ? "<li><a href=\"" + path + "\">" + path + "</a></li>\n"
                                      : "<li>" + route.method + " " + path + "</li>\n";
    }
    html += "</ul>\n</body></html>\n";
    return html;
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
    // The root page, listing the others.
    server.add_route(Access::read, "GET", "/",
                     [&server](const Request&, Response& res) {
                         res.set_content(index_page(server.routes()), "text/html; charset=utf-8");
                     });
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
