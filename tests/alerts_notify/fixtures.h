#pragma once
// Shared by the delivery tests: a temp dir, alerts, configs from YAML text, and a real
// HTTP receiver on loopback that records what it gets and answers as told.
#include <gtest/gtest.h>
#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "alerts/alert.h"
#include "alerts/notify_config.h"
#include "common/net.h"
#include <prometheus/registry.h>

namespace cargomon::alerts::testing {

class TempDir {
public:
    TempDir() {
        path_ = std::filesystem::temp_directory_path() /
                ("cargomon-notify-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

inline Alert firing_alert(const std::string& name, metrics::Labels extra, SystemTime starts_at) {
    Alert a;
    a.labels = std::move(extra);
    a.labels.emplace_back("alertname", name);
    std::sort(a.labels.begin(), a.labels.end());
    a.annotations = {{"summary", name + " is firing"}};
    a.state = AlertState::firing;
    a.value = 42;
    a.active_at = a.starts_at = starts_at;
    a.generator_url = "http://cargomon.test/rules";
    a.fingerprint.clear();
    for (const auto& [k, v] : a.labels) a.fingerprint += k + "=" + v + ";";
    return a;
}

inline Alert resolved(Alert a, SystemTime at) {
    a.state = AlertState::inactive;
    a.ends_at = at;
    return a;
}

inline AlertingConfig config_from(const std::string& yaml) {
    auto parsed = parse_alerting(YAML::Load(yaml), "test.yml");
    if (auto* errors = std::get_if<std::vector<std::string>>(&parsed)) {
        std::string all;
        for (const auto& e : *errors) all += e + "\n";
        throw std::runtime_error("bad test config:\n" + all);
    }
    return std::get<AlertingConfig>(std::move(parsed));
}

struct Received {
    std::string path;
    std::string body;
    httplib::Headers headers;
    int status = 0;  // what the receiver answered
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

// Listens on a fixed loopback port between start() and stop(), so "down" really refuses
// connections; answers every POST with `status`.
class Receiver {
public:
    Receiver() : port_(free_loopback_port()) {}
    ~Receiver() { stop(); }

    std::string url(const std::string& path = "/hook") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    void start() {
        server_ = std::make_unique<httplib::Server>();
        server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
            std::this_thread::sleep_for(delay_);
            std::lock_guard lock(mu_);
            received_.push_back({req.path, req.body, req.headers, status_});
            res.status = status_;
        });
        if (!server_->bind_to_port("127.0.0.1", port_)) throw std::runtime_error("receiver cannot bind its port");
        thread_ = std::thread([this] { server_->listen_after_bind(); });
    }
    void stop() {
        if (!server_) return;
        server_->stop();
        thread_.join();
        server_.reset();
    }
    void delay_answers(std::chrono::milliseconds by) { delay_ = by; }  // before start()
    void answer(int status) {
        std::lock_guard lock(mu_);
        status_ = status;
    }
    std::vector<Received> received() const {
        std::lock_guard lock(mu_);
        return received_;
    }
    void clear() {
        std::lock_guard lock(mu_);
        received_.clear();
    }

private:
    int port_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::vector<Received> received_;
    int status_ = 200;
    std::chrono::milliseconds delay_{0};
};

inline double sample(const prometheus::Registry& registry, const std::string& name,
                     const std::map<std::string, std::string>& labels = {}) {
    for (const auto& family : registry.Collect()) {
        if (family.name != name) continue;
        for (const auto& metric : family.metric) {
            std::map<std::string, std::string> have;
            for (const auto& l : metric.label) have[l.name] = l.value;
            if (have != labels) continue;
            return family.type == prometheus::MetricType::Counter ? metric.counter.value : metric.gauge.value;
        }
    }
    return 0;
}

}  // namespace cargomon::alerts::testing
