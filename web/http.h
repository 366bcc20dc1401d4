#pragma once
// The request and response of cargomon's own HTTP/1.1 server (web/http_engine.h). Plain
// values: handlers read a Request and fill a Response; nothing here touches a socket.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cargomon::web {

struct Request {
    std::string method;  // "GET", "POST", ... as sent (HEAD is served by GET routes)
    std::string target;  // as sent: path and query
    std::string path;    // percent-decoded, without the query (for logs: routes match path_segments)
    // The path's segments, each percent-decoded alone after splitting, as Go's ServeMux
    // matches them: "/a%2Fb" is one segment "a/b", never two.
    std::vector<std::string> path_segments;
    std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
    std::string body;    // Content-Encoding undone, at most Limits::max_body_bytes
    std::vector<std::string> path_params;  // what a route's ":name" segments matched, in order
    std::string remote_address;            // "ip:port", for logs
    // Who the per-client limits count this request against: the peer's IPv4 address, or
    // the /64 of its IPv6 address ("2001:db8:1:2::/64"), as one host usually holds a /64.
    std::string client;

    // The first value of a header (name in any case), or "" when absent.
    std::string_view header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    // The first value of a query parameter, or "" when absent.
    std::string_view param(std::string_view name) const;
};

struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Length and Connection
    std::string body;
    // A body served without copying: `pieces` stay valid while `owner` lives. Used instead
    // of `body` when not empty.
    std::vector<std::string_view> pieces;
    std::shared_ptr<const void> owner;
    // Close the connection after this answer (a failed login, for one: a client guessing
    // passwords must open a new connection for each guess).
    bool close_connection = false;

    void set_header(std::string name, std::string value);
    void set_content(std::string content, std::string content_type);
    std::size_t body_size() const;
};

// What one connection may ask of the server. The defaults follow what Prometheus' own
// server tolerates for an API of small JSON bodies; each is a daemon flag.
struct Limits {
    std::size_t max_body_bytes = 1 << 20;     // after decompression; over it: 413
    std::size_t max_header_bytes = 64 << 10;  // request line and headers; over it: 431 (414 for the line)
    std::size_t max_header_count = 100;       // over it: 431
    // From the first byte of a request (or the accept, for a TLS handshake) to its last
    // body byte: a client slower than this is answered 408 and dropped.
    std::chrono::milliseconds read_timeout{10'000};
    std::chrono::milliseconds write_timeout{30'000};  // for a whole response
    std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
    // Open at once. When all are taken, a new connection first closes the connection that
    // has waited longest for its next request; with none waiting, it is answered 503.
    std::size_t max_connections = 256;
    // Open at once from one client (Request::client); over it, the client's own longest
    // waiting kept-alive connection is closed, or the new one answered 503.
    std::size_t max_connections_per_client = 64;
};

// What a check of a request's credentials found (web/auth.h does Basic auth).
enum class AuthVerdict {
    pass,     // known user, right password
    fail,     // anything else: missing, malformed, unknown user, wrong password
    limited,  // not checked: the client's budget of failed logins is spent
    busy,     // not checked: as many password checks as allowed are running or queued
};

// The reason phrase of a status code ("Not Found"); "Unknown" when not one we send.
std::string_view reason_phrase(int status);

}  // namespace cargomon::web
