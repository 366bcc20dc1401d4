#pragma once
// The web configuration file (--web.config.file) in the format of Prometheus'
// exporter-toolkit (docs/security.md, "Web configuration"): TLS for the server, extra
// response headers and basic-auth users with bcrypt hashes. Loaded whole and validated
// (files readable, certificate and key match, hashes well formed) so that a file that
// loads is one the server can use.
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/duration.h"
#include "config/config.h"

namespace cargomon::config {

enum class TlsVersion { tls10, tls11, tls12, tls13 };
// In exporter-toolkit's order and spelling (Go's tls.ClientAuthType).
enum class ClientAuthType {
    no_client_cert,                  // NoClientCert
    request_client_cert,             // RequestClientCert
    require_any_client_cert,         // RequireAnyClientCert (alias RequireClientCert)
    verify_client_cert_if_given,     // VerifyClientCertIfGiven
    require_and_verify_client_cert,  // RequireAndVerifyClientCert
};

std::string_view tls_version_name(TlsVersion v);        // "TLS12"
std::string_view client_auth_name(ClientAuthType type);  // "RequireAndVerifyClientCert"

struct TlsServerConfig {
    // Absolute paths (relative ones in the file are resolved against the file's folder),
    // or the PEM text itself when the file gave `cert`, `key` or `client_ca` inline.
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;
    std::string cert;       // inline PEM (`cert:`), instead of cert_file
    std::string key;        // inline PEM (`key:`), secret, instead of key_file
    std::string client_ca;  // inline PEM (`client_ca:`), instead of client_ca_file
    ClientAuthType client_auth = ClientAuthType::no_client_cert;
    TlsVersion min_version = TlsVersion::tls12;
    TlsVersion max_version = TlsVersion::tls13;
    // OpenSSL names of the configured suites (the file uses Go's names): TLS 1.2 and
    // below, and TLS 1.3, apart. Both empty: OpenSSL's defaults.
    std::vector<std::string> cipher_suites_tls12;  // "ECDHE-RSA-AES128-GCM-SHA256"
    std::vector<std::string> cipher_suites_tls13;  // "TLS_AES_128_GCM_SHA256"
    std::vector<std::string> curve_preferences;    // OpenSSL group names: "P-256", "X25519"
    bool prefer_server_cipher_suites = true;
    // A client certificate must carry one of these as a DNS, email, IP or URI SAN.
    std::vector<std::string> client_allowed_sans;

    // TLS is on when anything about it is set (exporter-toolkit's IsEnabled).
    bool enabled() const {
        return !cert_file.empty() || !cert.empty() || !key_file.empty() || !key.empty() ||
               !client_ca_file.empty() || !client_ca.empty() || client_auth != ClientAuthType::no_client_cert;
    }
    bool operator==(const TlsServerConfig&) const = default;
};

struct WebConfig {
    std::optional<TlsServerConfig> tls;  // none: plain HTTP
    bool http2 = true;                   // accepted for compatibility; cargomon serves HTTP/1.1
    std::map<std::string, std::string> headers;  // added to every response; names checked
    // Rate limit of the whole server (`rate_limit:`); interval 0 = none.
    Millis rate_limit_interval{0};
    int rate_limit_burst = 0;
    std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash; empty: no auth

    bool operator==(const WebConfig&) const = default;
};

using WebConfigResult = std::variant<WebConfig, std::vector<ConfigError>>;

// Reads and validates the file; every error found, FILE:LINE:COL where it has a place.
WebConfigResult load_web_config(const std::string& path, const Environment& env = Environment{});
// The same on text in memory; `file_name` names it in errors and anchors relative paths.
// Referenced certificate files are still read and checked.
WebConfigResult parse_web_config(std::string_view yaml_text, std::string_view file_name,
                                 const Environment& env = Environment{});

// The headers exporter-toolkit lets a web config set, with their allowed values (empty: any).
const std::map<std::string, std::vector<std::string>>& allowed_web_headers();

// A bcrypt hash as exporter-toolkit takes it: $2a$, $2b$ or $2y$, a two-digit cost 04-31,
// '$', then 53 characters of bcrypt's base64 (22 of salt, 31 of hash).
bool is_bcrypt_hash(std::string_view hash);

// Go's name of a cipher suite (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) to OpenSSL's, with
// whether it is a TLS 1.3 suite; nullopt for a name Go's tls.CipherSuites() does not list.
struct CipherName {
    std::string openssl;
    bool tls13 = false;
};
std::optional<CipherName> openssl_cipher_name(std::string_view go_name);

}  // namespace cargomon::config
