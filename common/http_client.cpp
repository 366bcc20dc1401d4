#include "common/http_client.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace cargomon {
namespace {

struct Origin {
    std::string scheme;  // "http" or "https"
    std::string host;    // without the brackets of an IPv6 address
    int port = 0;
};

// scheme://host[:port][/...]; `what` names the setting in errors. The text is not quoted
// back: a URL may carry a token in its path (Slack's do).
Origin parse_origin(const std::string& url, const std::string& what) {
    const std::size_t scheme_end = url.find("://");
    Origin o;
    o.scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
    if (o.scheme != "http" && o.scheme != "https") throw std::invalid_argument(what + ": expected http:// or https://");
    const std::size_t host_start = scheme_end + 3;
    std::string authority = url.substr(host_start, url.find_first_of("/?#", host_start) - host_start);
    if (authority.find('@') != std::string::npos) throw std::invalid_argument(what + ": credentials in the URL");
    std::string port;
    if (authority.starts_with('[')) {
        const std::size_t close = authority.find(']');
        if (close == std::string::npos) throw std::invalid_argument(what + ": unclosed '[' in the host");
        o.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') throw std::invalid_argument(what + ": bad host");
            port = authority.substr(close + 2);
        }
    } else if (const std::size_t colon = authority.rfind(':'); colon != std::string::npos) {
        o.host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    } else {
        o.host = authority;
    }
    if (o.host.empty()) throw std::invalid_argument(what + ": no host");
    o.port = o.scheme == "https" ? 443 : 80;
    if (!port.empty()) {
        const bool digits =
            port.size() <= 5 && std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
        if (!digits || std::stoi(port) == 0 || std::stoi(port) > 65535) throw std::invalid_argument(what + ": bad port");
        o.port = std::stoi(port);
    }
    return o;
}

std::string bracketed(const std::string& host) {
    return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

// The first address of `host`, numeric, for connecting to it under another TLS name.
std::string numeric_address(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || !found)
        throw std::runtime_error("cannot resolve \"" + host + "\"");
    char text[NI_MAXHOST] = {};
    const int rc = getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
    freeaddrinfo(found);
    if (rc != 0) throw std::runtime_error("cannot resolve \"" + host + "\"");
    return text;
}

}  // namespace

std::unique_ptr<httplib::Client> make_http_client(const std::string& origin, const HttpClientConfig& config) {
    const Origin o = parse_origin(origin, "URL");
    const HttpTlsConfig& tls = config.tls;
    const bool https = o.scheme == "https";
    // tls.server_name is both what the certificate must name and the SNI sent: the client
    // is made for that name, and the name mapped to the origin host's address.
    const bool renamed = https && !tls.server_name.empty() && tls.server_name != o.host;
    const std::string host = renamed ? tls.server_name : o.host;
    const std::string scheme_host_port = o.scheme + "://" + bracketed(host) + ":" + std::to_string(o.port);
    auto client = https && !tls.cert_file.empty()
                      ? std::make_unique<httplib::Client>(scheme_host_port, tls.cert_file, tls.key_file)
                      : std::make_unique<httplib::Client>(scheme_host_port);
    if (!client->is_valid()) {
        if (https && !tls.cert_file.empty())
            throw std::invalid_argument("cannot use the client certificate \"" + tls.cert_file + "\" with key \"" +
                                        tls.key_file + "\"");
        throw std::invalid_argument("URL: cannot make a client for it");
    }
    if (renamed) client->set_hostname_addr_map({{host, numeric_address(o.host)}});
    if (https) {
        if (!tls.ca_file.empty()) client->set_ca_cert_path(tls.ca_file);
        if (tls.insecure_skip_verify) client->enable_server_certificate_verification(false);
    }

    client->set_connection_timeout(config.connect_timeout);
    client->set_read_timeout(config.timeout);
    client->set_write_timeout(config.timeout);
    client->set_follow_location(false);
    client->set_decompress(false);
    // Headers and body go out as separate writes; Nagle would hold the body until the
    // headers' delayed ACK (~40 ms) on a kept-alive connection.
    client->set_tcp_nodelay(true);

    if (config.basic_auth) client->set_basic_auth(config.basic_auth->username, config.basic_auth->password);
    if (config.authorization) {
        client->set_default_headers(
            {{"Authorization", config.authorization->type + " " + config.authorization->credentials}});
    }
    if (!config.proxy_url.empty()) {
        const Origin proxy = parse_origin(config.proxy_url, "proxy_url");
        if (proxy.scheme != "http") throw std::invalid_argument("proxy_url: expected http://");
        client->set_proxy(proxy.host, proxy.port);
    }
    return client;
}

}  // namespace cargomon
