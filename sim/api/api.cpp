#include "sim/api/api.h"

#include <spdlog/spdlog.h>

#include "sim/api/accepted_keys.h"
#include "sim/api/internal.h"

namespace cargomon::sim {
namespace {

using Handler = std::string (*)(const Call&);

std::string error_body(std::string_view message, std::string_view reason) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("errorMessage");
    w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
    if (!reason.empty()) {  // the service leaves it out where the typings name none
        w.Key("reason");
        w.String(reason.data(), static_cast<rapidjson::SizeType>(reason.size()));
    }
    w.EndObject();
    return buf.GetString();
}

// Compares without an early exit so the answer time says nothing about the token's bytes.
bool same_secret(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

const Workspace& select_workspace(const ApiContext& ctx, const httplib::Request& req) {
    const std::string wanted = req.get_header_value("selected-workspace-uuid");
    if (wanted.empty()) return ctx.workspaces->front();
    for (const Workspace& ws : *ctx.workspaces)
        if (ws.uuid == wanted) return ws;
    // 403, not 404: the token is valid but grants no access to that workspace, and a
    // client must not take it for a missing resource it could create or wait for.
    throw ApiError(403, "workspaceNotAccessible", "this token has no access to workspace " + wanted);
}

void dispatch(const ApiContext& ctx, FileStore& files, Handler handler, const Shape& shape, const httplib::Request& req,
              httplib::Response& res) {
    try {
        if (!same_secret(req.get_header_value("authorization"), "Bearer " + ctx.token))
            throw ApiError(401, "unauthorized", "missing or invalid bearer token");
        const Workspace& workspace = select_workspace(ctx, req);
        const Payload payload = req.method == "GET" ? Payload::from_params(req.params) : Payload::from_body(req.body);
        // Before any field is read, as the service's strict schemas refuse them.
        if (auto found = unrecognized_keys(shape, payload.object()); !found.empty())
            throw ApiError(400, "unrecognized_keys", unrecognized_keys_message(found));
        res.set_content(handler(Call{ctx, workspace, files, req, payload}), "application/json");
    } catch (const ApiError& e) {
        res.status = e.status;
        res.set_content(error_body(e.what(), e.reason), "application/json");
    } catch (const ClickHouseError& e) {
        spdlog::warn("{} {}: ClickHouse: {}", req.method, req.path, e.what());
        res.status = 500;
        res.set_content(error_body(std::string("ClickHouse: ") + e.what(), "internalError"), "application/json");
    } catch (const std::exception& e) {
        spdlog::warn("{} {}: {}", req.method, req.path, e.what());
        res.status = 500;
        res.set_content(error_body(e.what(), "internalError"), "application/json");
    }
}

}  // namespace

Api::Api(ApiContext context)
    : ctx_(std::move(context)), files_(std::make_unique<FileStore>(ctx_.public_base_url, *ctx_.clock)) {
    if (!ctx_.clickhouse || !ctx_.workspaces || ctx_.workspaces->empty() || !ctx_.clock)
        throw std::invalid_argument("Api needs a ClickHouse client, a clock and at least one workspace");
}

Api::~Api() = default;

void Api::register_routes(httplib::Server& server) {
    // `pattern` names the route as docs/cargo-api.md does ({uuid} for a path segment) and
    // picks the keys its body or parameters may hold (sim/api/accepted_keys.h).
    auto route = [this, &server](const char* method, const std::string& pattern, Handler h) {
        const Shape& shape = route_shape(method, pattern);
        std::string regex = pattern;
        for (auto at = regex.find("{uuid}"); at != std::string::npos; at = regex.find("{uuid}"))
            regex.replace(at, 6, "([^/]+)");
        auto serve = [this, h, &shape](const httplib::Request& req, httplib::Response& res) {
            dispatch(ctx_, *files_, h, shape, req, res);
        };
        if (std::string_view(method) == "GET") server.Get(regex, serve);
        else server.Post(regex, serve);
    };
    const std::string o = "/v1/orchestration";
    route("POST", o + "/query", handle_query);
    route("POST", o + "/runs/count", handle_runs_count);
    route("POST", o + "/runs/metrics", handle_runs_metrics);
    route("POST", o + "/runs/list", handle_runs_list);
    route("POST", o + "/runs/download", handle_runs_download);
    route("POST", o + "/runs/download-outputs", handle_runs_download_outputs);
    route("POST", o + "/spans/count", handle_spans_count);
    route("GET", o + "/batches/list", handle_batches_list);
    route("GET", o + "/batches/{uuid}", handle_batch_get);
    route("POST", o + "/batches/{uuid}/download", handle_batch_download);
    route("POST", o + "/batches", handle_batch_create);
    route("GET", o + "/workflows/list", handle_workflows_list);
    route("GET", o + "/releases/{uuid}", handle_release_get);
    route("GET", o + "/plays/list", handle_plays_list);
    route("GET", o + "/tools/list", handle_tools_list);
    route("GET", "/v1/billing/usage/metrics", handle_usage_metrics);
    route("GET", "/v1/billing/subscriptions", handle_subscription);
    route("POST", "/v1/segmentation/segments/download", handle_segments_download);
    server.Get(R"(/_files/([0-9a-f]+))",
               [this](const httplib::Request& req, httplib::Response& res) { files_->serve(req, res); });
    server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        const bool no_route = res.status == 404;
        res.set_content(error_body(no_route ? "no such route: " + req.method + " " + req.path
                                            : "request failed with HTTP " + std::to_string(res.status),
                                   no_route ? "routeNotFound" : "badRequest"),
                        "application/json");
    });
}

}  // namespace cargomon::sim
