#include "exporters/http_server.h"

#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <stdexcept>

#include "common/net.h"
#include "exporters/gzip.h"
#include "metrics/exposition.h"

namespace cargomon::exporters {
namespace {

// An idle keep-alive connection holds stop() until it times out, so keep that short.
constexpr time_t keep_alive_timeout_seconds = 1;
constexpr time_t read_timeout_seconds = 2;

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

}  // namespace

HttpServer::HttpServer(const metrics::MetricStore& store, prometheus::Registry& registry, Callbacks callbacks)
    : store_(store),
      registry_(registry),
      requests_(prometheus::BuildCounter()
                    .Name("cargomon_http_requests_total")
                    .Help("HTTP requests served by cargomon, by handler and status code.")
                    .Register(registry)),
      callbacks_(std::move(callbacks)) {
    if (!callbacks_.status || !callbacks_.reload)
        throw std::invalid_argument("HttpServer needs both a status and a reload callback");
    // httplib's default adds SO_REUSEPORT, which would let a second daemon share our port.
    server_.set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server_.set_keep_alive_timeout(keep_alive_timeout_seconds);
    server_.set_read_timeout(read_timeout_seconds, 0);
    server_.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) { return answer_unrouted(req, res); }));

    add_route("GET", "/", [this](const httplib::Request&, httplib::Response& res) { serve_root(res); });
    add_route("GET", "/metrics", [this](const httplib::Request& req, httplib::Response& res) { serve_metrics(req, res); });
    add_route("GET", "/healthz", [](const httplib::Request&, httplib::Response& res) {
        res.set_content("OK", "text/plain; charset=utf-8");
    });
    add_route("GET", "/readyz", [this](const httplib::Request&, httplib::Response& res) {
        if (ready_) {
            res.set_content("OK", "text/plain; charset=utf-8");
        } else {
            res.status = 503;
            res.set_content("not ready\n", "text/plain; charset=utf-8");
        }
    });
    add_route("GET", "/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(callbacks_.status(), "application/json");
    });
    add_route("POST", "/-/reload", [this](const httplib::Request&, httplib::Response& res) {
        if (auto error = callbacks_.reload()) {
            res.status = 500;
            res.set_content("reload failed: " + *error + "\n", "text/plain; charset=utf-8");
        } else {
            res.set_content("OK", "text/plain; charset=utf-8");
        }
    });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::add_route(const std::string& method, const std::string& pattern, httplib::Server::Handler handler) {
    if (thread_.joinable()) throw std::logic_error("add_route after start: " + pattern);
    auto counted = [this, pattern, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
        try {
            handler(req, res);
        } catch (const std::exception& e) {
            spdlog::error("HTTP handler {} failed: {}", pattern, e.what());
            res.status = 500;
            res.set_content("internal error\n", "text/plain; charset=utf-8");
        }
        count(pattern, res.status == -1 ? 200 : res.status);
    };
    if (method == "GET") server_.Get(pattern, std::move(counted));
    else if (method == "POST") server_.Post(pattern, std::move(counted));
    else if (method == "PUT") server_.Put(pattern, std::move(counted));
    else if (method == "DELETE") server_.Delete(pattern, std::move(counted));
    else throw std::invalid_argument("add_route: unsupported method " + method);
    routes_.push_back({method, pattern, std::regex(pattern)});
}

void HttpServer::start(const std::string& listen_address) {
    if (thread_.joinable()) throw std::logic_error("HttpServer already started");
    auto address = parse_host_port(listen_address);
    if (!address)
        throw std::invalid_argument("invalid listen address \"" + listen_address +
                                    "\": want host:port, :port or [ipv6]:port");
    // ":9464" means every interface, IPv6 and IPv4 alike when the host has IPv6.
    std::vector<std::string> hosts = address->host.empty() ? std::vector<std::string>{"::", "0.0.0.0"}
                                                           : std::vector<std::string>{address->host};
    bool bound = false;
    for (const auto& host : hosts) {
        if (address->port == 0) {
            port_ = server_.bind_to_any_port(host);
            bound = port_ > 0;
        } else {
            bound = server_.bind_to_port(host, address->port);
            port_ = address->port;
        }
        if (bound) break;
    }
    if (!bound) throw std::runtime_error("cannot listen on " + listen_address);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the loop runs would be lost, so wait until it does.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void HttpServer::stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
}

void HttpServer::serve_metrics(const httplib::Request& req, httplib::Response& res) {
    auto format = metrics::negotiate_format(req.get_header_value("Accept"));
    auto exposition = std::make_shared<const metrics::Exposition>(registry_.Collect(), store_.view(), format);
    std::string type(metrics::content_type(format));
    res.set_header("Vary", "Accept, Accept-Encoding");
    if (accepts_gzip(req.get_header_value("Accept-Encoding"))) {
        res.set_header("Content-Encoding", "gzip");
        // Set as the body, this would be gzipped again by httplib (it compresses text/*).
        auto body = std::make_shared<const std::string>(gzip_compress(exposition->pieces()));
        res.set_content_provider(body->size(), type,
                                 [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                                     return sink.write(body->data() + offset, length);
                                 });
        return;
    }
    if (exposition->size() == 0) return res.set_content("", type);  // httplib refuses a zero-length provider
    // Streams the pieces: the store's sample lines go out without being copied.
    res.set_content_provider(exposition->size(), type,
                             [exposition](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                 for (auto piece : exposition->pieces()) {
                                     if (offset >= piece.size()) {
                                         offset -= piece.size();
                                         continue;
                                     }
                                     if (!sink.write(piece.data() + offset, piece.size() - offset)) return false;
                                     offset = 0;
                                 }
                                 return true;
                             });
}

void HttpServer::serve_root(httplib::Response& res) const {
    std::string html =
        "<!DOCTYPE html>\n<html><head><title>cargomon</title></head><body>\n<h1>cargomon</h1>\n<ul>\n";
    for (const auto& route : routes_) {
        if (route.pattern == "/") continue;
        auto path = html_escape(route.pattern);
        html += route.method == "GET" ? "<li><a href=\"" + path + "\">" + path + "</a></li>\n"
                                      : "<li>" + route.method + " " + path + "</li>\n";
    }
    html += "</ul>\n</body></html>\n";
    res.set_content(html, "text/html; charset=utf-8");
}

// httplib calls this for every answer of 400 and above; routed handlers have already set
// a body, so only requests no route took arrive here with an empty one.
httplib::Server::HandlerResponse HttpServer::answer_unrouted(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string allowed;
    for (const auto& route : routes_) {
        if (route.method == req.method || !std::regex_match(req.path, route.regex)) continue;
        if (!allowed.empty()) allowed += ", ";
        allowed += route.method;
    }
    if (allowed.empty()) {
        res.status = 404;
        res.set_content("404 page not found\n", "text/plain; charset=utf-8");
    } else {
        res.status = 405;
        res.set_header("Allow", allowed);
        res.set_content("405 method not allowed, use " + allowed + "\n", "text/plain; charset=utf-8");
    }
    count("other", res.status);
    return httplib::Server::HandlerResponse::Handled;
}

void HttpServer::count(std::string_view handler, int status) {
    requests_.Add({{"handler", std::string(handler)}, {"code", std::to_string(status)}}).Increment();
}

}  // namespace cargomon::exporters
