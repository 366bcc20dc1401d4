// The web configuration file in exporter-toolkit's format: every key read through
// YamlReader (positioned errors, unknown keys refused as toolkit's strict YAML does),
// then the referenced certificates loaded with OpenSSL to prove the server could use them.
#include "config/web_config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <memory>

#include "config/yaml_reader.h"

namespace cargomon::config {
namespace {

const Keys kTopKeys{"tls_server_config", "http_server_config", "rate_limit", "basic_auth_users"};
const Keys kTlsKeys{"cert",           "key",           "client_ca",     "cert_file",
                    "key_file",       "client_auth_type", "client_ca_file", "cipher_suites",
                    "curve_preferences", "min_version", "max_version",   "prefer_server_cipher_suites",
                    "client_allowed_sans"};
const Keys kHttpKeys{"http2", "headers"};
const Keys kRateLimitKeys{"burst", "interval"};
const Keys kVersionNames{"TLS10", "TLS11", "TLS12", "TLS13"};
// RequireClientCert is exporter-toolkit's old name of RequireAnyClientCert.
const Keys kClientAuthNames{"NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
                            "RequireAndVerifyClientCert", "RequireClientCert"};
const std::map<std::string_view, std::string_view> kCurves{
    {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}};

// Go's tls.CipherSuites() (the ones it deems secure), by Go's name, with OpenSSL's.
struct Suite {
    std::string_view go;
    std::string_view openssl;
    bool tls13;
};
constexpr Suite kSuites[] = {
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA", false},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA", false},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", false},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384", false},
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", true},
    {"TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", true},
    {"TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", true},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", false},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", false},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", false},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", false},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", false},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", false},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", false},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", false},
};

bool is_bcrypt_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
}

// --- OpenSSL checks of the referenced PEM ------------------------------------------------

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

// The first reason in OpenSSL's queue, which is then cleared; never any key material.
std::string openssl_reason() {
    unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    if (code == 0) return "no PEM data found";
    const char* reason = ERR_reason_error_string(code);
    return reason ? reason : "unreadable PEM";
}

Bio memory_bio(const std::string& pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

std::unique_ptr<X509, X509Free> first_certificate(const std::string& pem, std::string* why) {
    ERR_clear_error();
    Bio bio = memory_bio(pem);
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) *why = "no certificate in it (" + openssl_reason() + ")";
    return cert;
}

std::unique_ptr<EVP_PKEY, KeyFree> private_key(const std::string& pem, std::string* why) {
    ERR_clear_error();
    Bio bio = memory_bio(pem);
    // An empty passphrase callback: an encrypted key fails instead of prompting.
    auto no_pass = [](char*, int, int, void*) { return 0; };
    std::unique_ptr<EVP_PKEY, KeyFree> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass, nullptr));
    if (!key) *why = "no unencrypted private key in it (" + openssl_reason() + ")";
    return key;
}

class Loader : public DocumentReader {
public:
    using DocumentReader::DocumentReader;

    WebConfig load(const YAML::Node& document) {
        WebConfig c;
        // An empty file: plain HTTP, no auth, as exporter-toolkit takes it.
        const std::optional<YAML::Node> top = r_.top_level(document, kTopKeys);
        if (!top) return c;
        const YAML::Node& root = *top;
        if (auto n = root["tls_server_config"]; n && !n.IsNull()) read_tls(n, c);
        if (auto n = root["http_server_config"]; n && !n.IsNull()) read_http(n, c);
        if (auto n = root["rate_limit"]; n && !n.IsNull()) read_rate_limit(n, c);
        if (auto n = root["basic_auth_users"]; n && !n.IsNull()) read_users(n, c);
        return c;
    }

private:
    void read_tls(const YAML::Node& node, WebConfig& c) {
        if (!r_.check_map(node, kTlsKeys, "in tls_server_config")) return;
        TlsServerConfig t;
        auto text = [&](const char* key, std::string& into) {
            if (auto n = node[key]; n && !n.IsNull())
                if (auto v = r_.string(n)) into = *v;
        };
        text("cert", t.cert);
        text("key", t.key);
        text("client_ca", t.client_ca);
        text("cert_file", t.cert_file);
        text("key_file", t.key_file);
        text("client_ca_file", t.client_ca_file);
        t.cert_file = resolve(t.cert_file);
        t.key_file = resolve(t.key_file);
        t.client_ca_file = resolve(t.client_ca_file);

        if (auto n = node["client_auth_type"]; n && !n.IsNull())
            if (auto i = r_.choice(n, kClientAuthNames))
                t.client_auth = *i == 5 ? ClientAuthType::require_any_client_cert : static_cast<ClientAuthType>(*i);
        if (auto n = node["min_version"]; n && !n.IsNull())
            if (auto i = r_.choice(n, kVersionNames)) t.min_version = static_cast<TlsVersion>(*i);
        if (auto n = node["max_version"]; n && !n.IsNull())
            if (auto i = r_.choice(n, kVersionNames)) t.max_version = static_cast<TlsVersion>(*i);
        if (t.min_version > t.max_version)
            r_.error(node["min_version"] ? node["min_version"] : node["max_version"],
                     "min_version " + std::string(tls_version_name(t.min_version)) + " is above max_version " +
                         std::string(tls_version_name(t.max_version)));
        if (auto n = node["prefer_server_cipher_suites"]; n && !n.IsNull())
            if (auto b = r_.boolean(n)) t.prefer_server_cipher_suites = *b;
        if (auto n = node["cipher_suites"]; n && !n.IsNull()) read_ciphers(n, t);
        if (auto n = node["curve_preferences"]; n && !n.IsNull()) read_curves(n, t);
        if (auto n = node["client_allowed_sans"]; n && !n.IsNull())
            if (auto sans = r_.strings(n, "a list of subject alternative names")) t.client_allowed_sans = *sans;

        if (!t.enabled()) {
            // exporter-toolkit serves plain HTTP then, whatever else the section says.
            return;
        }
        check_tls(node, t);
        c.tls = std::move(t);
    }

    // A list of names (`list`: "a list of curve names"), each looked up with `find`
    // (nullopt: "unknown <item>: "name" (<known>)") and handed to `use`.
    template <typename Find, typename Use>
    void read_names(const YAML::Node& node, std::string_view list, std::string_view item_what, std::string_view known,
                    Find find, Use use) {
        auto items = r_.sequence(node, list);
        if (!items) return;
        for (const YAML::Node& item : *items) {
            auto name = r_.string(item);
            if (!name) continue;
            if (auto found = find(*name))
                use(*found);
            else
                r_.error(item, "unknown " + std::string(item_what) + ": " + quote(*name) + " (" + std::string(known) + ")");
        }
    }

    void read_ciphers(const YAML::Node& node, TlsServerConfig& t) {
        read_names(node, "a list of cipher suite names", "cipher",
                   "Go's names of secure suites, such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                   openssl_cipher_name, [&](const CipherName& suite) {
                       (suite.tls13 ? t.cipher_suites_tls13 : t.cipher_suites_tls12).push_back(suite.openssl);
                   });
    }

    void read_curves(const YAML::Node& node, TlsServerConfig& t) {
        auto find = [](const std::string& name) -> std::optional<std::string_view> {
            auto found = kCurves.find(name);
            if (found == kCurves.end()) return std::nullopt;
            return found->second;
        };
        read_names(node, "a list of curve names", "curve", "CurveP256, CurveP384, CurveP521 or X25519", find,
                   [&](std::string_view curve) { t.curve_preferences.emplace_back(curve); });
    }

    // What exporter-toolkit's ConfigToTLSConfig checks, and that the PEM loads.
    void check_tls(const YAML::Node& node, TlsServerConfig& t) {
        const YAML::Node cert_node = node["cert_file"] ? node["cert_file"] : node["cert"];
        const YAML::Node key_node = node["key_file"] ? node["key_file"] : node["key"];
        if (!t.cert_file.empty() && !t.cert.empty()) r_.error(node["cert"], "give cert or cert_file, not both");
        if (!t.key_file.empty() && !t.key.empty()) r_.error(node["key"], "give key or key_file, not both");
        if (!t.client_ca_file.empty() && !t.client_ca.empty())
            r_.error(node["client_ca"], "give client_ca or client_ca_file, not both");
        if (t.cert_file.empty() && t.cert.empty()) r_.error(node, "missing one of cert or cert_file");
        if (t.key_file.empty() && t.key.empty()) r_.error(node, "missing one of key or key_file");

        const bool has_ca = !t.client_ca_file.empty() || !t.client_ca.empty();
        const bool verifies = t.client_auth == ClientAuthType::verify_client_cert_if_given ||
                              t.client_auth == ClientAuthType::require_and_verify_client_cert;
        const YAML::Node auth_node = node["client_auth_type"] ? node["client_auth_type"] : node;
        if (has_ca && t.client_auth == ClientAuthType::no_client_cert)
            r_.error(node["client_ca_file"] ? node["client_ca_file"] : node["client_ca"],
                     "client CA's have been configured without a client_auth_type");
        if (verifies && !has_ca)
            r_.error(auth_node, "client_auth_type " + std::string(client_auth_name(t.client_auth)) +
                                    " needs client_ca_file to verify client certificates against");
        if (!t.client_allowed_sans.empty() && t.client_auth != ClientAuthType::require_any_client_cert &&
            t.client_auth != ClientAuthType::require_and_verify_client_cert)
            r_.error(node["client_allowed_sans"],
                     "client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or "
                     "RequireAndVerifyClientCert");

        std::unique_ptr<X509, X509Free> cert;
        std::unique_ptr<EVP_PKEY, KeyFree> key;
        std::string why;
        if (!t.cert_file.empty() || !t.cert.empty()) {
            auto pem = t.cert.empty() ? read_key_file(cert_node, "cert_file", t.cert_file) : std::optional(t.cert);
            if (pem && !(cert = first_certificate(*pem, &why)))
                r_.error(cert_node, (t.cert.empty() ? "cert_file " + quote(t.cert_file) : std::string("cert")) +
                                        ": " + why);
        }
        if (!t.key_file.empty() || !t.key.empty()) {
            auto pem = t.key.empty() ? read_key_file(key_node, "key_file", t.key_file) : std::optional(t.key);
            // The key's reason only: its text is a secret.
            if (pem && !(key = private_key(*pem, &why)))
                r_.error(key_node, (t.key.empty() ? "key_file " + quote(t.key_file) : std::string("key")) + ": " + why);
        }
        if (cert && key && X509_check_private_key(cert.get(), key.get()) != 1) {
            ERR_clear_error();
            r_.error(key_node, "the private key does not match the certificate " +
                                   (t.cert.empty() ? quote(t.cert_file) : std::string("in cert")));
        }
        if (has_ca) {
            const YAML::Node ca_node = node["client_ca_file"] ? node["client_ca_file"] : node["client_ca"];
            auto pem = t.client_ca.empty() ? read_key_file(ca_node, "client_ca_file", t.client_ca_file)
                                           : std::optional(t.client_ca);
            if (pem && !first_certificate(*pem, &why))
                r_.error(ca_node, (t.client_ca.empty() ? "client_ca_file " + quote(t.client_ca_file)
                                                       : std::string("client_ca")) +
                                      ": " + why);
        }
    }

    void read_http(const YAML::Node& node, WebConfig& c) {
        if (!r_.check_map(node, kHttpKeys, "in http_server_config")) return;
        if (auto n = node["http2"]; n && !n.IsNull())
            if (auto b = r_.boolean(n)) c.http2 = *b;
        auto headers = node["headers"];
        if (!headers || headers.IsNull()) return;
        auto entries = r_.mapping(headers, "a mapping of header names to values", "a header name");
        if (!entries) return;
        const auto& allowed = allowed_web_headers();
        std::vector<std::string_view> names;
        for (const auto& [name, values] : allowed) names.push_back(name);
        for (const auto& [key, value_node] : *entries) {
            auto value = r_.string(value_node);
            auto rule = allowed.find(key.Scalar());
            if (rule == allowed.end()) {
                std::string message = "HTTP header " + quote(key.Scalar()) + " can not be configured";
                if (auto guess = closest(key.Scalar(), names)) message += " (did you mean " + quote(*guess) + "?)";
                r_.error(key, message);
                continue;
            }
            if (!value) continue;
            const auto& values = rule->second;
            if (!values.empty() && std::find(values.begin(), values.end(), *value) == values.end()) {
                std::string expected;
                for (const auto& v : values) expected += (expected.empty() ? "" : ", ") + quote(v);
                r_.error(value_node, "invalid value for " + key.Scalar() + ": expected one of " + expected +
                                         ", got " + quote(*value));
                continue;
            }
            if (!c.headers.emplace(key.Scalar(), *value).second)
                r_.error(key, "duplicate header " + quote(key.Scalar()));
        }
    }

    void read_rate_limit(const YAML::Node& node, WebConfig& c) {
        if (!r_.check_map(node, kRateLimitKeys, "in rate_limit")) return;
        if (auto n = node["interval"]; n && !n.IsNull())
            if (auto d = r_.duration(n)) c.rate_limit_interval = *d;
        if (auto n = node["burst"]; n && !n.IsNull())
            if (auto v = r_.integer_in(n, "burst", 0, INT_MAX)) c.rate_limit_burst = static_cast<int>(*v);
    }

    void read_users(const YAML::Node& node, WebConfig& c) {
        auto entries = r_.mapping(node, "a mapping of user names to bcrypt hashes", "a user name");
        if (!entries) return;
        for (const auto& [key, value_node] : *entries) {
            auto hash = r_.string(value_node);
            if (!hash) continue;
            // The hash stays out of the message: it is a secret too.
            if (!is_bcrypt_hash(*hash)) {
                r_.error(value_node, "the password of user " + quote(key.Scalar()) +
                                           " is not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-31, then 53 "
                                           "characters; make one with htpasswd -nBC 10 \"\")");
                continue;
            }
            if (!c.basic_auth_users.emplace(key.Scalar(), *hash).second)
                r_.error(key, "duplicate user " + quote(key.Scalar()));
        }
    }
};

}  // namespace

std::string_view tls_version_name(TlsVersion v) { return kVersionNames[static_cast<std::size_t>(v)]; }

std::string_view client_auth_name(ClientAuthType type) { return kClientAuthNames[static_cast<std::size_t>(type)]; }

const std::map<std::string, std::vector<std::string>>& allowed_web_headers() {
    static const std::map<std::string, std::vector<std::string>> headers{
        {"Strict-Transport-Security", {}},
        {"X-Content-Type-Options", {"nosniff"}},
        {"X-Frame-Options", {"deny", "sameorigin"}},
        {"X-XSS-Protection", {}},
        {"Content-Security-Policy", {}},
    };
    return headers;
}

bool is_bcrypt_hash(std::string_view hash) {
    // "$2b$" "10" "$" + 53 = 60 characters.
    if (hash.size() != 60) return false;
    if (!(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"))) return false;
    if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' || hash[6] != '$') return false;
    const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost < 4 || cost > 31) return false;
    return std::all_of(hash.begin() + 7, hash.end(), is_bcrypt_char);
}

std::optional<CipherName> openssl_cipher_name(std::string_view go_name) {
    for (const Suite& s : kSuites)
        if (s.go == go_name) return CipherName{std::string(s.openssl), s.tls13};
    return std::nullopt;
}

WebConfigResult parse_web_config(std::string_view yaml_text, std::string_view file_name, const Environment& env) {
    return read_document<WebConfig>(yaml_text, file_name, env, load_with<Loader>());
}

WebConfigResult load_web_config(const std::string& path, const Environment& env) {
    return load_document(path, "web config file", env, parse_web_config);
}

}  // namespace cargomon::config
