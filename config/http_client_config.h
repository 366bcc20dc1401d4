#pragma once
// The HTTP client settings of cargomon's command-line clients (`cargomon silence
// --http.config.file=FILE`): a subset of Prometheus' common HTTP client configuration,
// as amtool takes it (docs/security.md, "Clients").
//
//   basic_auth:    {username, password | password_file}
//   authorization: {type (default Bearer), credentials | credentials_file}
//   tls_config:    {ca_file, cert_file, key_file, server_name, insecure_skip_verify}
//
// Relative files resolve against the config file's folder; secret files are read (and
// trimmed of surrounding whitespace) when the file is loaded. No error quotes a secret.
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace cargomon::config {

struct HttpBasicAuth {
    std::string username;
    std::string password;  // secret; from password_file when that was given
    bool operator==(const HttpBasicAuth&) const = default;
};

struct HttpAuthorization {
    std::string type = "Bearer";
    std::string credentials;  // secret; from credentials_file when that was given
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
    HttpTlsConfig tls;
    bool operator==(const HttpClientConfig&) const = default;
};

using HttpClientConfigResult = std::variant<HttpClientConfig, std::vector<ConfigError>>;

HttpClientConfigResult load_http_client_config(const std::string& path, const Environment& env = Environment{});
HttpClientConfigResult parse_http_client_config(std::string_view yaml_text, std::string_view file_name,
                                                const Environment& env = Environment{});

}  // namespace cargomon::config
