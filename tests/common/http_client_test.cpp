// make_http_client (common/http_client.h) against real peers on 127.0.0.1: credentials
// reach them as headers, TLS settings decide whom the client trusts and what it presents,
// a redirect comes back unfollowed, a proxy gets the request, and errors name no secret.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/http_client.h"
#include "tests/web/certs.h"

namespace cargomon {
namespace {

using test::test_certs;

// A server on a free loopback port answering every GET: /redirect with a 302 to /target,
// anything else 200 "ok". It records the last request's target and Authorization header.
class Peer {
public:
    explicit Peer(std::unique_ptr<httplib::Server> server) : server_(std::move(server)) {
        server_->Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(mu_);
            ++requests_;
            target_ = req.target;
            authorization_ = req.get_header_value("Authorization");
            if (req.path == "/redirect") {
                res.status = 302;
                res.set_header("Location", "/target");
                return;
            }
            res.set_content("ok", "text/plain");
        });
        port_ = server_->bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_->listen_after_bind(); });
        while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    ~Peer() {
        server_->stop();
        thread_.join();
    }
    std::string origin(const std::string& scheme = "http") const {
        return scheme + "://127.0.0.1:" + std::to_string(port_);
    }
    int port() const { return port_; }
    int requests() {
        std::lock_guard lock(mu_);
        return requests_;
    }
    std::string target() {
        std::lock_guard lock(mu_);
        return target_;
    }
    std::string authorization() {
        std::lock_guard lock(mu_);
        return authorization_;
    }

private:
    std::unique_ptr<httplib::Server> server_;
    int port_ = 0;
    std::thread thread_;
    std::mutex mu_;
    int requests_ = 0;
    std::string target_;
    std::string authorization_;
};

std::unique_ptr<httplib::Server> tls_server(bool require_client_cert = false) {
    const auto& certs = test_certs();
    auto server = require_client_cert ? std::make_unique<httplib::SSLServer>(certs.server_crt.c_str(),
                                                                             certs.server_key.c_str(),
                                                                             certs.ca_crt.c_str())
                                      : std::make_unique<httplib::SSLServer>(certs.server_crt.c_str(),
                                                                             certs.server_key.c_str());
    if (!server->is_valid()) throw std::runtime_error("cannot start the TLS peer");
    return server;
}

TEST(HttpClient, BearerAndOtherAuthorizationTypesGoInTheHeader) {
    Peer peer(std::make_unique<httplib::Server>());
    HttpClientConfig config;
    config.authorization = HttpAuthorization{.credentials = "tok-123"};
    ASSERT_TRUE(make_http_client(peer.origin(), config)->Get("/a"));
    EXPECT_EQ(peer.authorization(), "Bearer tok-123");

    config.authorization = HttpAuthorization{.type = "Token", .credentials = "t"};
    ASSERT_TRUE(make_http_client(peer.origin(), config)->Get("/a"));
    EXPECT_EQ(peer.authorization(), "Token t");
}

TEST(HttpClient, BasicAuthGoesInTheHeader) {
    Peer peer(std::make_unique<httplib::Server>());
    HttpClientConfig config;
    config.basic_auth = HttpBasicAuth{.username = "alice", .password = "s3cret"};
    ASSERT_TRUE(make_http_client(peer.origin(), config)->Get("/a"));
    EXPECT_EQ(peer.authorization(), "Basic YWxpY2U6czNjcmV0");  // alice:s3cret

    ASSERT_TRUE(make_http_client(peer.origin(), HttpClientConfig{})->Get("/a"));
    EXPECT_EQ(peer.authorization(), "") << "no credentials configured, none sent";
}

TEST(HttpClient, RedirectsAreNotFollowed) {
    Peer peer(std::make_unique<httplib::Server>());
    HttpClientConfig config;
    config.authorization = HttpAuthorization{.credentials = "tok"};
    auto result = make_http_client(peer.origin(), config)->Get("/redirect");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 302);
    EXPECT_EQ(peer.requests(), 1) << "the client went on to the Location";
    EXPECT_EQ(peer.target(), "/redirect");
}

TEST(HttpClient, TlsTrustsTheConfiguredCaUnderTheConfiguredName) {
    Peer peer(tls_server());
    HttpClientConfig config;
    // The peer's certificate names cargomon.test only, and the system CAs do not know it.
    EXPECT_FALSE(make_http_client(peer.origin("https"), config)->Get("/a")) << "trusted an unknown CA";
    config.tls.ca_file = test_certs().ca_crt;
    EXPECT_FALSE(make_http_client(peer.origin("https"), config)->Get("/a")) << "accepted a name the certificate lacks";
    config.tls.server_name = "cargomon.test";
    auto result = make_http_client(peer.origin("https"), config)->Get("/a");
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    EXPECT_EQ(result->body, "ok");

    HttpClientConfig insecure;
    insecure.tls.insecure_skip_verify = true;
    EXPECT_TRUE(make_http_client(peer.origin("https"), insecure)->Get("/a"));
}

TEST(HttpClient, TlsPresentsTheConfiguredClientCertificate) {
    Peer peer(tls_server(/*require_client_cert=*/true));
    HttpClientConfig config;
    config.tls = {.ca_file = test_certs().ca_crt, .server_name = "cargomon.test"};
    EXPECT_FALSE(make_http_client(peer.origin("https"), config)->Get("/a")) << "served without a client certificate";
    config.tls.cert_file = test_certs().client_crt;
    config.tls.key_file = test_certs().client_key;
    auto result = make_http_client(peer.origin("https"), config)->Get("/a");
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    EXPECT_EQ(result->status, 200);
}

TEST(HttpClient, AnUnusableClientCertificateIsRefusedByFileName) {
    HttpClientConfig config;
    config.tls.cert_file = test_certs().client_crt;
    config.tls.key_file = test_certs().other_key;  // not the certificate's key
    try {
        make_http_client("https://127.0.0.1:1", config);
        FAIL() << "accepted a key that is not the certificate's";
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(test_certs().client_crt), std::string::npos) << what;
        EXPECT_EQ(what.find("PRIVATE KEY"), std::string::npos) << what;
    }
}

TEST(HttpClient, AProxyGetsEveryRequest) {
    Peer proxy(std::make_unique<httplib::Server>());
    HttpClientConfig config;
    config.proxy_url = proxy.origin();
    auto result = make_http_client("http://upstream.test:8080", config)->Get("/a");
    ASSERT_TRUE(result);
    EXPECT_EQ(proxy.requests(), 1);
    EXPECT_EQ(proxy.target(), "http://upstream.test:8080/a");
}

TEST(HttpClient, BadUrlsAreRefusedWithoutQuotingThem) {
    const HttpClientConfig none;
    for (const char* url : {"ftp://host", "host:80", "http://", "http://h:0", "http://h:99999", "http://[::1"}) {
        EXPECT_THROW(make_http_client(url, none), std::invalid_argument) << url;
    }
    try {
        make_http_client("http://user:pw@host", none);
        FAIL() << "accepted credentials in the URL";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos) << e.what();
    }
    HttpClientConfig https_proxy;
    https_proxy.proxy_url = "https://proxy.test";
    EXPECT_THROW(make_http_client("http://h", https_proxy), std::invalid_argument);
}

}  // namespace
}  // namespace cargomon
