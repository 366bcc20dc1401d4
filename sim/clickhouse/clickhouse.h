#pragma once
// ClickHouse over its HTTP interface: the engine behind the simulated Cargo API.
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/process.h"

namespace cargomon::sim {

// An error ClickHouse reported. what() is ClickHouse's own text ("Code: 396, e.displayText() = ...").
class ClickHouseError : public std::runtime_error {
public:
    ClickHouseError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
    int code() const { return code_; }  // 0 when the server could not be reached or answered garbage

private:
    int code_;
};

using Settings = std::vector<std::pair<std::string, std::string>>;

namespace detail {
struct Connection;
}

// Thread-safe: any thread may query at once; idle_mu_ guards only idle_, the pool of idle
// keep-alive connections kept for reuse (a TCP handshake per query would cost more than
// the small counts the API runs).
class ClickHouseClient {
public:
    explicit ClickHouseClient(std::string url);  // "http://127.0.0.1:8123"
    ~ClickHouseClient();
    const std::string& url() const { return url_; }

    // Runs `sql` (with FORMAT in it if an answer is wanted) and returns the body.
    // `settings` go in the URL in order (so a trailing readonly=1 locks those before it).
    std::string query(std::string_view sql, const Settings& settings = {}) const;
    // INSERT INTO `table` FORMAT `format` with `data` as the body.
    void insert(std::string_view table, std::string_view format, std::string data) const;
    bool ping() const;

private:
    std::unique_ptr<detail::Connection> acquire() const;  // nullptr when none is idle
    void release(std::unique_ptr<detail::Connection> connection) const;
    // `idempotent`: a request that failed on a reused connection (the server may have
    // closed it while idle) is sent again once on a fresh one.
    std::string post(const std::string& path, const std::string& body, int read_timeout_s, bool idempotent) const;

    std::string url_;
    std::string host_;
    int port_ = 0;
    mutable std::mutex idle_mu_;
    mutable std::vector<std::unique_ptr<detail::Connection>> idle_;
};

// Whether `name` has the shape of an IANA zone name ("UTC", "Asia/Kolkata", "Etc/GMT+5"):
// letters, digits, '/', '_', '+', '-', at most 64. Whether the zone exists is the server's call.
bool plain_timezone_name(std::string_view name);

// A private clickhouse-server (the Debian package's binary) on a free loopback port,
// with a generated config under `data_dir`; stopped when this object goes away.
// `timezone` is the server's zone (an IANA name such as "Asia/Kolkata"): what it reads
// a DateTime text without a zone in, and writes DateTime columns in. Real ClickHouse
// servers are not all in UTC, and cargomon's SQL must mean the same instants on any.
class ClickHouseServer {
public:
    // Throws when it does not answer within 30 s, or on a zone name that is not a plain
    // IANA name (letters, digits, '/', '_', '+', '-').
    explicit ClickHouseServer(std::string data_dir, std::string timezone = "UTC");
    ~ClickHouseServer();
    std::string url() const;

private:
    std::string data_dir_;
    int http_port_ = 0;
    std::unique_ptr<Process> process_;
};

}  // namespace cargomon::sim
