#pragma once
// The one way cargomon builds an HTTP client (prometheus-common's NewClientFromConfig):
// the Cargo API transport and its downloads (cargo/), the receivers (alerts/notify/) and
// the command-line clients (daemon/cli/) describe what they need in an HttpClientConfig
// and get an httplib::Client from make_http_client. Its own CMake library, common_http,
// so that common/ itself does not carry httplib and OpenSSL to every library above it.
//
// Every client it makes: follows no redirect (a 3xx comes back as it is: a redirect could
// carry credentials to another host), does not inflate bodies (httplib's inflater has no
// cap; a caller that wants a compressed body inflates it with common/inflate.h under its
// own), sends small writes at once (TCP_NODELAY). Secrets (passwords, credentials) are
// sent only in request headers, never in an error.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace httplib {
class Client;
}

namespace cargomon {

struct HttpBasicAuth {
    std::string username;
    std::string password;  // secret
    bool operator==(const HttpBasicAuth&) const = default;
};

// "Authorization: <type> <credentials>" on every request.
struct HttpAuthorization {
    std::string type = "Bearer";
    std::string credentials;  // secret
    bool operator==(const HttpAuthorization&) const = default;
};

struct HttpTlsConfig {
    std::string ca_file;    // absolute; empty: the system's CAs
    std::string cert_file;  // client certificate, absolute; with key_file
    std::string key_file;
    std::string server_name;  // the name to verify (and send as SNI) instead of the URL's host
    bool insecure_skip_verify = false;
    bool operator==(const HttpTlsConfig&) const = default;
};

struct HttpClientConfig {
    std::optional<HttpBasicAuth> basic_auth;
    std::optional<HttpAuthorization> authorization;  // at most one of the two
    HttpTlsConfig tls;                               // for https:// only
    std::string proxy_url;  // http://host[:port] to send every request through; empty: none
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds timeout{30'000};  // each read and each write
    bool operator==(const HttpClientConfig&) const = default;
};

// A client for `origin` (http://host[:port] or https://host[:port]; a path after it is
// ignored) with `config` applied. Throws std::invalid_argument on an origin or proxy URL
// it cannot use, or a client certificate and key it cannot load (naming the files, not
// their content); std::runtime_error when tls.server_name is set and the origin's host
// does not resolve.
std::unique_ptr<httplib::Client> make_http_client(const std::string& origin, const HttpClientConfig& config);

}  // namespace cargomon
