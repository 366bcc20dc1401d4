#include "tests/support/prom_process.h"

#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/net.h"
#include "common/text.h"

namespace cargomon::testing {

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

}  // namespace

ToolServer::ToolServer(const std::string& program, std::vector<std::string> argv,
                       const std::map<std::string, std::string>& files) {
    const std::string binary = find_executable(program);
    if (binary.empty()) throw std::runtime_error(program + " is not installed");
    char tmpl[] = "/tmp/cargomon-tool-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    port_ = free_loopback_port();
    auto expand = [&](const std::string& text) {
        return replace_all(replace_all(text, "{dir}", dir_), "{port}", std::to_string(port_));
    };
    for (const auto& [name, content] : files) {
        std::filesystem::create_directories(std::filesystem::path(dir_ + "/" + name).parent_path());
        std::ofstream(dir_ + "/" + name) << expand(content);
    }
    for (auto& arg : argv) arg = expand(arg);
    argv.insert(argv.begin(), binary);
    process_ = std::make_unique<Process>(ProcessOptions{.argv = argv, .output_file = dir_ + "/output.log"});

    httplib::Client probe("127.0.0.1", port_);
    probe.set_connection_timeout(std::chrono::seconds{1});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (true) {
        auto res = probe.Get("/-/ready");
        if (res && res->status == 200) return;
        if (!process_->running() || std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error(program + " did not become ready:\n" + log());
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
}

ToolServer::~ToolServer() {
    process_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

std::string ToolServer::log() const {
    std::ifstream in(dir_ + "/output.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

rapidjson::Document ToolServer::get_json(const std::string& path) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(std::chrono::seconds{10});
    auto res = client.Get(path);
    if (!res) throw std::runtime_error("GET " + path + ": no answer");
    rapidjson::Document doc;
    if (res->status != 200 || doc.Parse(res->body.c_str()).HasParseError())
        throw std::runtime_error("GET " + path + ": " + std::to_string(res->status) + " " + res->body);
    return doc;
}

std::string ToolServer::get_text(const std::string& path) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(std::chrono::seconds{10});
    auto res = client.Get(path);
    if (!res || res->status != 200)
        throw std::runtime_error("GET " + path + ": " + (res ? std::to_string(res->status) + " " + res->body : "no answer"));
    return res->body;
}

void ToolServer::kill_hard() { process_->kill_hard(); }

namespace {

std::map<std::string, std::string> with(std::map<std::string, std::string> files, const std::string& name,
                                        const std::string& content) {
    files[name] = content;
    return files;
}

}  // namespace

PrometheusServer::PrometheusServer(const std::string& config, const std::map<std::string, std::string>& files)
    : ToolServer("prometheus",
                 {"--config.file={dir}/prometheus.yml", "--storage.tsdb.path={dir}/data",
                  "--web.listen-address=127.0.0.1:{port}"},
                 with(files, "prometheus.yml", config)) {}

std::vector<PromSample> PrometheusServer::query(const std::string& expr) const {
    auto doc = get_json("/api/v1/query?query=" + percent_encode(expr));
    const auto& data = doc["data"];
    if (std::string(data["resultType"].GetString()) != "vector")
        throw std::runtime_error("query " + expr + " is not an instant vector");
    std::vector<PromSample> out;
    for (const auto& r : data["result"].GetArray()) {
        PromSample s;
        for (const auto& [k, v] : r["metric"].GetObject()) s.labels[k.GetString()] = v.GetString();
        s.value = std::stod(r["value"][1].GetString());
        out.push_back(std::move(s));
    }
    return out;
}

namespace {

std::vector<std::string> alertmanager_args(const std::optional<AlertmanagerCluster>& cluster) {
    std::vector<std::string> args{"--config.file={dir}/alertmanager.yml", "--storage.path={dir}/data",
                                  "--web.listen-address=127.0.0.1:{port}"};
    if (!cluster) {
        args.push_back("--cluster.listen-address=");
        return args;
    }
    const std::string self = "127.0.0.1:" + std::to_string(cluster->port);
    args.push_back("--cluster.listen-address=" + self);
    args.push_back("--cluster.advertise-address=" + self);
    args.push_back("--cluster.peer-timeout=" + cluster->peer_timeout);
    // Each flush and notification in the log, for a test that fails on what a cluster sent.
    args.push_back("--log.level=debug");
    for (int peer : cluster->peers) args.push_back("--cluster.peer=127.0.0.1:" + std::to_string(peer));
    return args;
}

}  // namespace

AlertmanagerServer::AlertmanagerServer(const std::string& config, const std::map<std::string, std::string>& files,
                                       const std::optional<AlertmanagerCluster>& cluster)
    : ToolServer("prometheus-alertmanager", alertmanager_args(cluster), with(files, "alertmanager.yml", config)) {}

}  // namespace cargomon::testing
