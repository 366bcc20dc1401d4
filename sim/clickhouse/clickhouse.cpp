#include "sim/clickhouse/clickhouse.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/net.h"
#include "common/text.h"

namespace cargomon::sim {
namespace {

// "Code: 396, e.displayText() = ..." -> 396
int error_code_of(const std::string& body) {
    int code = 0;
    if (body.rfind("Code: ", 0) == 0) std::from_chars(body.data() + 6, body.data() + body.size(), code);
    return code;
}

std::string trim_trailing_newlines(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

namespace detail {
struct Connection {
    httplib::Client client;
    Connection(const std::string& host, int port) : client(host, port) {
        client.set_keep_alive(true);
        client.set_tcp_nodelay(true);
        client.set_connection_timeout(5);
        client.set_write_timeout(300);
    }
};
}  // namespace detail

ClickHouseClient::~ClickHouseClient() = default;

std::unique_ptr<detail::Connection> ClickHouseClient::acquire() const {
    {
        std::lock_guard lock(idle_mu_);
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return c;
        }
    }
    return nullptr;
}

void ClickHouseClient::release(std::unique_ptr<detail::Connection> connection) const {
    constexpr std::size_t kMaxIdle = 32;
    std::lock_guard lock(idle_mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
}

std::string ClickHouseClient::post(const std::string& path, const std::string& body, int read_timeout_s,
                                   bool idempotent) const {
    auto connection = acquire();
    bool reused = connection != nullptr;
    if (!reused) connection = std::make_unique<detail::Connection>(host_, port_);
    connection->client.set_read_timeout(read_timeout_s);
    auto res = connection->client.Post(path, body, "text/plain");
    if (!res && reused && idempotent) {
        connection = std::make_unique<detail::Connection>(host_, port_);
        connection->client.set_read_timeout(read_timeout_s);
        res = connection->client.Post(path, body, "text/plain");
    }
    if (!res) throw ClickHouseError(0, "ClickHouse unreachable at " + url_ + ": " + httplib::to_string(res.error()));
    release(std::move(connection));  // only a connection that answered is worth keeping
    if (res->status != 200) {
        std::string msg = trim_trailing_newlines(res->body);
        throw ClickHouseError(error_code_of(msg), msg);
    }
    return std::move(res->body);
}

ClickHouseClient::ClickHouseClient(std::string url) : url_(std::move(url)) {
    std::string rest = url_;
    if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
    else if (rest.find("://") != std::string::npos)
        throw std::invalid_argument("ClickHouse URL must be http://host:port, got " + url_);
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    auto hp = parse_host_port(rest);
    if (!hp || hp->host.empty()) throw std::invalid_argument("ClickHouse URL must be http://host:port, got " + url_);
    host_ = hp->host;
    port_ = hp->port;
}

std::string ClickHouseClient::query(std::string_view sql, const Settings& settings) const {
    // Buffer the whole answer server-side so an error mid-result is an HTTP error,
    // not a 200 with a truncated body.
    std::string path = "/?wait_end_of_query=1";
    for (const auto& [k, v] : settings) path += "&" + percent_encode(k) + "=" + percent_encode(v);
    return post(path, std::string(sql), 120, true);
}

void ClickHouseClient::insert(std::string_view table, std::string_view format, std::string data) const {
    std::string path = "/?query=" + percent_encode("INSERT INTO " + std::string(table) + " FORMAT " + std::string(format));
    post(path, data, 300, false);
}

bool ClickHouseClient::ping() const {
    httplib::Client cli(host_, port_);
    cli.set_connection_timeout(1);
    cli.set_read_timeout(2);
    auto res = cli.Get("/ping");
    return res && res->status == 200;
}

bool plain_timezone_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (unsigned char c : name)
        if (!std::isalnum(c) && c != '/' && c != '_' && c != '+' && c != '-') return false;
    return true;
}

ClickHouseServer::ClickHouseServer(std::string data_dir, std::string timezone) : data_dir_(std::move(data_dir)) {
    namespace fs = std::filesystem;
    // It goes into the server's XML config as is.
    if (!plain_timezone_name(timezone))
        throw std::invalid_argument("ClickHouse time zone must be an IANA name like Europe/Paris, got \"" + timezone +
                                    "\"");
    fs::path dir = fs::absolute(data_dir_);
    for (const char* sub : {"data", "tmp", "user_files", "format_schemas", "log"}) fs::create_directories(dir / sub);
    http_port_ = free_loopback_port();
    int tcp_port = free_loopback_port();
    const std::string d = dir.string();
    write_file(dir / "users.xml", R"(<?xml version="1.0"?>
<yandex>
  <profiles><default><log_queries>0</log_queries></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
)");
    write_file(dir / "config.xml", R"(<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>)" + d + R"(/log/server.log</log><errorlog>)" + d +
                                       R"(/log/server.err.log</errorlog><size>50M</size><count>1</count></logger>
  <http_port>)" + std::to_string(http_port_) + R"(</http_port>
  <tcp_port>)" + std::to_string(tcp_port) + R"(</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>)" + d + R"(/data/</path>
  <tmp_path>)" + d + R"(/tmp/</tmp_path>
  <user_files_path>)" + d + R"(/user_files/</user_files_path>
  <format_schema_path>)" + d + R"(/format_schemas/</format_schema_path>
  <users_config>)" + d + R"(/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>)" + timezone + R"(</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <keep_alive_timeout>10</keep_alive_timeout>
</yandex>
)");
    process_ = std::make_unique<Process>(ProcessOptions{
        .argv = {"clickhouse-server", "--config-file=" + d + "/config.xml"},
        .env = {},
        .output_file = d + "/log/stdout.log",
        .working_dir = d,
    });
    ClickHouseClient client(url());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (!client.ping()) {
        if (!process_->running())
            throw std::runtime_error("clickhouse-server exited at start; see " + d + "/log/server.err.log");
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("clickhouse-server did not answer within 30 s; see " + d + "/log/");
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    spdlog::info("clickhouse-server {} listening on {}", process_->pid(), url());
}

ClickHouseServer::~ClickHouseServer() {
    if (process_) process_->stop(std::chrono::seconds{10});
}

std::string ClickHouseServer::url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }

}  // namespace cargomon::sim
