#include "tests/support/http_receiver.h"

#include <stdexcept>

#include "common/net.h"

namespace cargomon::testing {

std::string Received::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
}

HttpReceiver::HttpReceiver() : port_(free_loopback_port()) {}

HttpReceiver::~HttpReceiver() { stop(); }

std::string HttpReceiver::url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpReceiver::start() {
    server_ = std::make_unique<httplib::Server>();
    // A sender posting many requests at once over keep-alive connections (Alertmanager:
    // one per group, concurrently) must not queue behind threads that idle connections
    // hold: with httplib's default pool (8 threads here) requests waited out its 5 s
    // keep-alive timeout, long enough for an Alertmanager cluster to notify them twice.
    server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
    server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
        ++arrived_;
        std::this_thread::sleep_for(std::chrono::milliseconds{delay_ms_.load()});
        std::lock_guard lock(mu_);
        received_.push_back({req.path, req.body, req.headers, status_});
        res.status = status_;
    });
    // Bound before the thread starts, so it accepts as soon as start() returns.
    if (!server_->bind_to_port("127.0.0.1", port_)) throw std::runtime_error("receiver cannot bind its port");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // stop() does nothing to a server not yet listening, which would leave join() hanging.
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
}

void HttpReceiver::stop() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
}

void HttpReceiver::answer(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
}

std::vector<Received> HttpReceiver::received() const {
    std::lock_guard lock(mu_);
    return received_;
}

std::vector<Received> HttpReceiver::accepted() const {
    std::vector<Received> out;
    for (auto& r : received())
        if (r.accepted()) out.push_back(r);
    return out;
}

void HttpReceiver::clear() {
    std::lock_guard lock(mu_);
    received_.clear();
}

}  // namespace cargomon::testing
