// Prometheus' common HTTP client configuration, the part cargomon's clients use; read
// through YamlReader for positioned errors. Secrets are never quoted in an error.
#include "common/text.h"
#include "config/http_client_config.h"

#include <algorithm>
#include <climits>
#include <filesystem>

#include "config/yaml_reader.h"

namespace cargomon::config {
namespace {

const Keys kTopKeys{"basic_auth", "authorization", "tls_config", "proxy_url"};
const Keys kBasicAuthKeys{"username", "password", "password_file"};
const Keys kAuthorizationKeys{"type", "credentials", "credentials_file"};
const Keys kTlsKeys{"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"};

class Loader : public DocumentReader {
public:
    using DocumentReader::DocumentReader;

    HttpClientConfig load(const YAML::Node& document) {
        HttpClientConfig c;
        const std::optional<YAML::Node> top = r_.top_level(document, kTopKeys);
        if (!top) return c;
        const YAML::Node& root = *top;
        if (auto n = root["basic_auth"]; n && !n.IsNull()) read_basic_auth(n, c);
        if (auto n = root["authorization"]; n && !n.IsNull()) read_authorization(n, c);
        if (auto n = root["tls_config"]; n && !n.IsNull()) read_tls(n, c.tls);
        c.proxy_url = text(root, "proxy_url");
        // Only a plain-HTTP proxy, and no credentials in its URL (they would be on show).
        if (!c.proxy_url.empty() &&
            (!c.proxy_url.starts_with("http://") || c.proxy_url.size() == 7 || c.proxy_url.find('@') != std::string::npos))
            r_.error(root["proxy_url"], "proxy_url: expected http://HOST[:PORT], without credentials");
        if (c.basic_auth && c.authorization) {
            // At the second key of the two, where the reader sees the conflict.
            YAML::Mark at = root["authorization"].Mark();
            for (const auto& entry : root)
                if (entry.first.IsScalar() && entry.first.Scalar() == "authorization") at = entry.first.Mark();
            r_.error(at, "at most one of basic_auth and authorization must be configured");
        }
        return c;
    }

private:
    std::string text(const YAML::Node& map, const char* key) {
        auto n = map[key];
        if (!n || n.IsNull()) return "";
        return r_.string(n).value_or("");
    }

    // The secret in `key`, or the trimmed content of `file_key`; never both.
    std::string secret(const YAML::Node& map, const char* key, const char* file_key) {
        std::string inline_value = text(map, key);
        std::string file = resolve(text(map, file_key));
        if (!inline_value.empty() && !file.empty()) {
            r_.error(map[file_key], std::string("at most one of ") + key + " and " + file_key + " must be configured");
            return inline_value;
        }
        if (file.empty()) return inline_value;
        auto content = read_key_file(map[file_key], file_key, file);
        return content ? std::string(trim(*content)) : "";
    }

    void read_basic_auth(const YAML::Node& node, HttpClientConfig& c) {
        if (!r_.check_map(node, kBasicAuthKeys, "in basic_auth")) return;
        HttpBasicAuth auth;
        auth.username = text(node, "username");
        auth.password = secret(node, "password", "password_file");
        if (auth.username.empty()) r_.error(node, "basic_auth needs a username");
        if (auth.username.find(':') != std::string::npos)
            r_.error(node["username"], "a basic_auth username must not contain ':'");
        c.basic_auth = std::move(auth);
    }

    void read_authorization(const YAML::Node& node, HttpClientConfig& c) {
        if (!r_.check_map(node, kAuthorizationKeys, "in authorization")) return;
        HttpAuthorization auth;
        if (std::string type = text(node, "type"); !type.empty()) auth.type = type;
        std::string lower = auth.type;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
        if (lower == "basic")
            r_.error(node["type"], "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
        if (auth.type.find_first_of(" \t\r\n") != std::string::npos)
            r_.error(node["type"], "authorization type must be one word, got " + quote(auth.type));
        auth.credentials = secret(node, "credentials", "credentials_file");
        if (auth.credentials.find_first_of("\r\n") != std::string::npos)
            r_.error(node, "authorization credentials must be on one line");
        c.authorization = std::move(auth);
    }

    void read_tls(const YAML::Node& node, HttpTlsConfig& tls) {
        if (!r_.check_map(node, kTlsKeys, "in tls_config")) return;
        tls.ca_file = resolve(text(node, "ca_file"));
        tls.cert_file = resolve(text(node, "cert_file"));
        tls.key_file = resolve(text(node, "key_file"));
        tls.server_name = text(node, "server_name");
        if (auto n = node["insecure_skip_verify"]; n && !n.IsNull())
            if (auto b = r_.boolean(n)) tls.insecure_skip_verify = *b;
        if (tls.cert_file.empty() != tls.key_file.empty())
            r_.error(node, tls.cert_file.empty() ? "key_file given without cert_file" : "cert_file given without key_file");
        const std::pair<const char*, const std::string*> files[] = {
            {"ca_file", &tls.ca_file}, {"cert_file", &tls.cert_file}, {"key_file", &tls.key_file}};
        for (const auto& [key, file] : files) {
            const std::string& path = *file;
            if (path.empty()) continue;
            read_key_file(node[key], key, path);
        }
    }
};

}  // namespace

HttpClientConfigResult parse_http_client_config(std::string_view yaml_text, std::string_view file_name,
                                                const Environment& env) {
    return read_document<HttpClientConfig>(yaml_text, file_name, env, load_with<Loader>());
}

HttpClientConfigResult load_http_client_config(const std::string& path, const Environment& env) {
    return load_document(path, "HTTP client config file", env, parse_http_client_config);
}

}  // namespace cargomon::config
