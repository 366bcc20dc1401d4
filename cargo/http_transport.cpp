#include <httplib.h>

#include <memory>
#include <mutex>
#include <vector>

#include "cargo/errors.h"
#include "cargo/transport.h"

namespace cargomon::cargo {

namespace {

// httplib::Client serialises its requests, so concurrency needs one client (and one
// keep-alive connection) per request in flight; idle ones wait here to be reused.
class HttpTransport final : public Transport {
public:
    explicit HttpTransport(const ClientOptions& options)
        : origin_(split_base_url(options.base_url).origin), connect_timeout_(options.connect_timeout) {}

    Response send(const Request& request, Millis timeout) override {
        std::unique_ptr<httplib::Client> client = checkout();
        client->set_read_timeout(timeout);
        client->set_write_timeout(timeout);
        httplib::Request req;
        req.method = request.method;
        req.path = request.target;
        for (const auto& [key, value] : request.headers) req.headers.emplace(key, value);
        req.body = request.body;
        httplib::Result result = client->send(req);
        if (!result) {
            // The connection is in an unknown state: drop it rather than reuse it.
            throw NetworkError(request.method + " " + request.target.substr(0, request.target.find('?')) +
                               ": no answer (" + httplib::to_string(result.error()) + ")");
        }
        Response response{.status = result->status, .body = std::move(result->body)};
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
