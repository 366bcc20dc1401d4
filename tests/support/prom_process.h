#pragma once
// The Debian `prometheus` and `prometheus-alertmanager` as servers for end-to-end tests:
// each runs from a config text in its own temp dir on a free loopback port, and is
// stopped (its files removed) when the object goes away.
#include <rapidjson/document.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"

namespace cargomon::testing {

// One sample of an instant vector.
struct PromSample {
    std::map<std::string, std::string> labels;  // __name__ included when the result has it
    double value = 0;
};

class ToolServer {
public:
    ~ToolServer();
    ToolServer(const ToolServer&) = delete;
    ToolServer& operator=(const ToolServer&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int port() const { return port_; }
    const std::string& dir() const { return dir_; }
    std::string log() const;  // what the server printed so far
    // GET `path` and parse the JSON answer; throws (with the body) unless 200 and JSON.
    rapidjson::Document get_json(const std::string& path) const;
    // GET `path`'s body (/metrics, say); throws unless 200.
    std::string get_text(const std::string& path) const;
    // kill -9, as a crash: the server is gone at once, its files stay until destruction.
    void kill_hard();

protected:
    // Writes `files` (name -> content) into a fresh temp dir, runs `argv` and waits until
    // GET /-/ready answers 200 (60 s at most). "{dir}" and "{port}" in argv and in the
    // files' contents become the temp dir and the server's port.
    ToolServer(const std::string& program, std::vector<std::string> argv,
               const std::map<std::string, std::string>& files);

private:
    std::string dir_;
    int port_ = 0;
    std::unique_ptr<Process> process_;
};

class PrometheusServer : public ToolServer {
public:
    // `config` is prometheus.yml; `files` are written beside it (rule files, ...).
    explicit PrometheusServer(const std::string& config, const std::map<std::string, std::string>& files = {});

    std::vector<PromSample> query(const std::string& expr) const;  // instant query, now
};

// One member of an Alertmanager cluster: the gossip port it listens on and advertises
// (127.0.0.1, set explicitly: Alertmanager refuses to guess an address on loopback), the
// ports of its peers, and how long each peer waits for the ones before it
// (--cluster.peer-timeout).
struct AlertmanagerCluster {
    int port = 0;
    std::vector<int> peers;
    std::string peer_timeout = "15s";
};

class AlertmanagerServer : public ToolServer {
public:
    // `config` is alertmanager.yml; `files` are written beside it (secrets, templates).
    // Without `cluster`, gossip is off (a lone Alertmanager).
    explicit AlertmanagerServer(const std::string& config, const std::map<std::string, std::string>& files = {},
                                const std::optional<AlertmanagerCluster>& cluster = std::nullopt);
};

}  // namespace cargomon::testing
