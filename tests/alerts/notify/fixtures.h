#pragma once
// Shared by the delivery tests: a temp dir, alerts, configs from YAML text, and a real
// HTTP receiver on loopback that records what it gets and answers as told.
#include <gtest/gtest.h>
#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "alerts/alert.h"
#include "config/alerting.h"
#include "config/config.h"
#include "common/net.h"
#include "tests/support/http_receiver.h"
#include "tests/support/registry_sample.h"
#include "tests/support/temp_dir.h"
#include <prometheus/registry.h>

namespace cargomon::alerts::notify::testing {

using cargomon::testing::TempDir;


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

inline config::AlertingConfig config_from(const std::string& yaml) {
    auto parsed = config::parse_alerting(yaml, "test.yml", config::Environment::process());
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&parsed)) {
        std::string all;
        for (const auto& e : *errors) all += e.to_string() + "\n";
        throw std::runtime_error("bad test config:\n" + all);
    }
    return std::get<config::AlertingConfig>(std::move(parsed));
}

using cargomon::testing::HttpReceiver;
using cargomon::testing::Received;

// A webhook that accepts connections and never answers: the kernel completes them in the
// listen backlog and nothing ever reads. What a hung receiver looks like to a sender.
class HangingListener {
public:
    HangingListener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0)
            throw std::runtime_error("cannot listen on 127.0.0.1");
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
    }
    ~HangingListener() { ::close(fd_); }
    HangingListener(const HangingListener&) = delete;
    HangingListener& operator=(const HangingListener&) = delete;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

private:
    int fd_ = -1;
    int port_ = 0;
};

inline double sample(const prometheus::Registry& registry, const std::string& name,
                     const std::map<std::string, std::string>& labels = {}) {
    return cargomon::testing::sample_value(registry, name, labels).value_or(0);
}

}  // namespace cargomon::alerts::notify::testing
