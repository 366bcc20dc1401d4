#pragma once
// The HTTP client settings of cargomon's command-line clients (`cargomon silence
// --http.config.file=FILE`): a subset of Prometheus' common HTTP client configuration,
// as amtool takes it (docs/security.md, "Clients").
//
//   basic_auth:    {username, password | password_file}
//   authorization: {type (default Bearer), credentials | credentials_file}
//   tls_config:    {ca_file, cert_file, key_file, server_name, insecure_skip_verify}
//   proxy_url:     http://HOST[:PORT]
//
// Relative files resolve against the config file's folder; secret files are read (and
// trimmed of surrounding whitespace) when the file is loaded. No error quotes a secret.
// The result is the one client-config type, common/http_client.h's HttpClientConfig
// (its timeouts keep their defaults: this file does not set them).
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/http_client.h"
#include "config/config.h"

namespace cargomon::config {

using HttpClientConfigResult = std::variant<HttpClientConfig, std::vector<ConfigError>>;

HttpClientConfigResult load_http_client_config(const std::string& path, const Environment& env = Environment{});
HttpClientConfigResult parse_http_client_config(std::string_view yaml_text, std::string_view file_name,
                                                const Environment& env = Environment{});

}  // namespace cargomon::config
