#include "tests/support/recording_proxy.h"

#include <stdexcept>

#include "common/net.h"

namespace cargomon::testing {

RecordingProxy::RecordingProxy(std::string upstream) : upstream_(std::move(upstream)), port_(free_loopback_port()) {
    auto forward = [this](const httplib::Request& req, httplib::Response& res) {
        // A client per request: httplib's client is not safe to share between the
        // server's threads, and a new connection costs nothing on loopback.
        httplib::Client client(upstream_);
        client.set_connection_timeout(5);
        client.set_read_timeout(10);
        httplib::Headers headers;
        for (const auto& [name, value] : req.headers)
            // httplib sets these itself from what it sends and where (the server has
            // already inflated a compressed body), or added them as the receiving end.
            if (name != "Host" && name != "Content-Length" && name != "Content-Type" && name != "Content-Encoding" &&
                name != "REMOTE_ADDR" && name != "REMOTE_PORT" && name != "LOCAL_ADDR" && name != "LOCAL_PORT")
                headers.emplace(name, value);
        const std::string type = req.get_header_value("Content-Type");
        httplib::Result result = req.method == "GET" ? client.Get(req.target, headers)
                                                     : client.Post(req.target, headers, req.body, type);
        res.status = result ? result->status : 502;
        if (result) res.set_content(result->body, result->get_header_value("Content-Type"));
        std::lock_guard lock(mu_);
        received_.push_back({req.path, req.body, req.headers, res.status});
    };
    server_.Post(".*", forward);
    server_.Get(".*", forward);
    // Bound before the thread starts, so it accepts as soon as the constructor returns.
    if (!server_.bind_to_port("127.0.0.1", port_)) throw std::runtime_error("proxy cannot bind its port");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() does nothing to a server not yet listening, which would leave join() hanging.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

RecordingProxy::~RecordingProxy() {
    server_.stop();
    thread_.join();
}

std::string RecordingProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<Received> RecordingProxy::received() const {
    std::lock_guard lock(mu_);
    return received_;
}

}  // namespace cargomon::testing
