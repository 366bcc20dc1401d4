#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cargo/errors.h"
#include "cargo/transport.h"

namespace cargomon::cargo {

namespace {

// NetworkError's kinds. A failed read or write is a timeout when the attempt used up its
// time (httplib reports both a reset and a read timeout as Read); a receiver that stopped
// the body (Canceled) did so at the deadline.
std::string failure_kind(httplib::Error error, bool late) {
    switch (error) {
    case httplib::Error::Connection:
        return late ? "timeout" : "connect";
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::Canceled:
        return "timeout";
    case httplib::Error::Read:
    case httplib::Error::Write:
        return late ? "timeout" : "closed";
    default:
        return "other";
    }
}

// httplib::Client serialises its requests, so concurrency needs one client (and one
// keep-alive connection) per request in flight; idle ones wait here to be reused.
class HttpTransport final : public Transport {
public:
    explicit HttpTransport(const ClientOptions& options)
        : origin_(split_base_url(options.base_url).origin), connect_timeout_(options.connect_timeout) {}

    Response send(const Request& request, Millis timeout) override {
        std::unique_ptr<httplib::Client> client = checkout();
        // httplib's read timeout bounds each read, not the answer: a body trickling a few
        // bytes at a time would keep a request going for ever. The receiver ends it once
        // the whole attempt has taken `timeout`.
        const auto started = std::chrono::steady_clock::now();
        const auto deadline = started + timeout;
        client->set_read_timeout(timeout);
        client->set_write_timeout(timeout);
        httplib::Request req;
        req.method = request.method;
        req.path = request.target;
        for (const auto& [key, value] : request.headers) req.headers.emplace(key, value);
        req.body = request.body;
        std::string body;
        req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            body.append(data, size);
            return true;
        };
        httplib::Result result = client->send(req);
        if (!result) {
            // The connection is in an unknown state: drop it rather than reuse it.
            const bool late = std::chrono::steady_clock::now() >= deadline;
            std::string kind = failure_kind(result.error(), late);
            std::string detail = kind == "timeout" ? ", timed out after " + std::to_string(timeout.count()) + "ms"
                                 : kind == "closed" ? ", connection closed before a whole answer"
                                                    : "";
            throw NetworkError(request.method + " " + request.target.substr(0, request.target.find('?')) +
                                   ": no answer (" + httplib::to_string(result.error()) + detail + ")",
                               std::move(kind));
        }
        Response response{.status = result->status, .body = body.empty() ? std::move(result->body) : std::move(body)};
        for (auto& [key, value] : result->headers) response.headers.emplace_back(key, value);
        checkin(std::move(client));
        return response;
    }

private:
    std::unique_ptr<httplib::Client> checkout() {
        {
            std::lock_guard lock(mu_);
            if (!idle_.empty()) {
                auto client = std::move(idle_.back());
                idle_.pop_back();
                return client;
            }
        }
        auto client = std::make_unique<httplib::Client>(origin_);
        client->set_keep_alive(true);
        client->set_tcp_nodelay(true);  // small requests on a kept-alive connection would wait on delayed ACKs
        client->set_connection_timeout(connect_timeout_);
        return client;
    }

    void checkin(std::unique_ptr<httplib::Client> client) {
        std::lock_guard lock(mu_);
        idle_.push_back(std::move(client));
    }

    std::string origin_;
    Millis connect_timeout_;
    std::mutex mu_;
    std::vector<std::unique_ptr<httplib::Client>> idle_;
};

}  // namespace

std::unique_ptr<Transport> make_http_transport(const ClientOptions& options) {
    return std::make_unique<HttpTransport>(options);
}

}  // namespace cargomon::cargo
