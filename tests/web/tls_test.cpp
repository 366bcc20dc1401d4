// web::make_server_tls_context: what it sets, what it refuses, and handshakes in memory
// (no sockets) against it with and without client certificates.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>

#include "config/web_config.h"
#include "tests/web/certs.h"
#include "web/tls.h"

namespace cargomon::web {
namespace {

using config::ClientAuthType;
using config::TlsServerConfig;
using config::TlsVersion;
using test::test_certs;

TlsServerConfig server_config() {
    TlsServerConfig t;
    t.cert_file = test_certs().server_crt;
    t.key_file = test_certs().server_key;
    return t;
}

std::string error_of(const TlsServerConfig& t) {
    try {
        make_server_tls_context(t);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

// Runs a TLS handshake between a client context and `server` through memory BIOs; true if
// both sides complete it.
bool handshake(SSL_CTX* server, const std::string& client_cert = "", const std::string& client_key = "",
               int client_max_version = 0) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> client_ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    SSL_CTX_load_verify_locations(client_ctx.get(), test_certs().ca_crt.c_str(), nullptr);
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (client_max_version) SSL_CTX_set_max_proto_version(client_ctx.get(), client_max_version);
    if (!client_cert.empty()) {
        EXPECT_EQ(SSL_CTX_use_certificate_file(client_ctx.get(), client_cert.c_str(), SSL_FILETYPE_PEM), 1);
        EXPECT_EQ(SSL_CTX_use_PrivateKey_file(client_ctx.get(), client_key.c_str(), SSL_FILETYPE_PEM), 1);
    }
    std::unique_ptr<SSL, decltype(&SSL_free)> c(SSL_new(client_ctx.get()), SSL_free);
    std::unique_ptr<SSL, decltype(&SSL_free)> s(SSL_new(server), SSL_free);
    SSL_set_tlsext_host_name(c.get(), "cargomon.test");
    SSL_set1_host(c.get(), "cargomon.test");
    BIO *client_side = nullptr, *server_side = nullptr;
    BIO_new_bio_pair(&client_side, 0, &server_side, 0);
    SSL_set_bio(c.get(), client_side, client_side);
    SSL_set_bio(s.get(), server_side, server_side);
    SSL_set_connect_state(c.get());
    SSL_set_accept_state(s.get());
    bool client_done = false, server_done = false;
    for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
        if (!client_done) {
            int rc = SSL_do_handshake(c.get());
            if (rc == 1) client_done = true;
            else if (SSL_get_error(c.get(), rc) != SSL_ERROR_WANT_READ) break;
        }
        if (!server_done) {
            int rc = SSL_do_handshake(s.get());
            if (rc == 1) server_done = true;
            else if (SSL_get_error(s.get(), rc) != SSL_ERROR_WANT_READ) break;
        }
    }
    // TLS 1.3: the server's verdict on a client certificate reaches the client after its
    // handshake; a read makes the client see an alert.
    if (client_done && server_done) {
        char byte;
        SSL_write(s.get(), "x", 1);
        client_done = SSL_read(c.get(), &byte, 1) == 1;
    }
    ERR_clear_error();
    return client_done && server_done;
}

TEST(ServerTlsContext, LoadsCertificateAndHandshakes) {
    auto ctx = make_server_tls_context(server_config());
    ASSERT_TRUE(ctx);
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx.get()), TLS1_3_VERSION);
    EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_NONE);
    EXPECT_TRUE(SSL_CTX_get_options(ctx.get()) & SSL_OP_CIPHER_SERVER_PREFERENCE);
    EXPECT_TRUE(handshake(ctx.get()));
}

TEST(ServerTlsContext, VersionsAndCiphersAreApplied) {
    TlsServerConfig t = server_config();
    t.min_version = TlsVersion::tls13;
    auto tls13_only = make_server_tls_context(t);
    EXPECT_EQ(SSL_CTX_get_min_proto_version(tls13_only.get()), TLS1_3_VERSION);
    EXPECT_TRUE(handshake(tls13_only.get()));
    EXPECT_FALSE(handshake(tls13_only.get(), "", "", TLS1_2_VERSION));

    t = server_config();
    t.max_version = TlsVersion::tls12;
    t.cipher_suites_tls12 = {"ECDHE-ECDSA-AES256-GCM-SHA384"};
    t.prefer_server_cipher_suites = false;
    auto tls12 = make_server_tls_context(t);
    EXPECT_FALSE(SSL_CTX_get_options(tls12.get()) & SSL_OP_CIPHER_SERVER_PREFERENCE);
    std::unique_ptr<SSL, decltype(&SSL_free)> probe(SSL_new(tls12.get()), SSL_free);
    STACK_OF(SSL_CIPHER)* ciphers = SSL_get_ciphers(probe.get());
    std::vector<std::string> tls12_names;
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
        const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
        if (std::string(SSL_CIPHER_get_version(cipher)) != "TLSv1.3") tls12_names.push_back(SSL_CIPHER_get_name(cipher));
    }
    EXPECT_EQ(tls12_names, (std::vector<std::string>{"ECDHE-ECDSA-AES256-GCM-SHA384"}));
    EXPECT_TRUE(handshake(tls12.get()));

    t.cipher_suites_tls12 = {"ECDHE-RSA-AES128-GCM-SHA256"};  // an RSA suite for an EC key: no handshake
    EXPECT_FALSE(handshake(make_server_tls_context(t).get()));

    t = server_config();
    t.cipher_suites_tls13 = {"TLS_CHACHA20_POLY1305_SHA256"};
    t.curve_preferences = {"X25519", "P-256"};
    EXPECT_TRUE(handshake(make_server_tls_context(t).get()));
}

TEST(ServerTlsContext, RequireAndVerifyClientCert) {
    TlsServerConfig t = server_config();
    t.client_auth = ClientAuthType::require_and_verify_client_cert;
    t.client_ca_file = test_certs().ca_crt;
    auto ctx = make_server_tls_context(t);
    EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    EXPECT_EQ(sk_X509_NAME_num(SSL_CTX_get_client_CA_list(ctx.get())), 1);
    EXPECT_TRUE(handshake(ctx.get(), test_certs().client_crt, test_certs().client_key));
    EXPECT_FALSE(handshake(ctx.get()));                                                 // none
    EXPECT_FALSE(handshake(ctx.get(), test_certs().other_crt, test_certs().other_key));  // not from the CA

    t.client_allowed_sans = {"client.test"};
    EXPECT_TRUE(handshake(make_server_tls_context(t).get(), test_certs().client_crt, test_certs().client_key));
    t.client_allowed_sans = {"someone.else"};
    EXPECT_FALSE(handshake(make_server_tls_context(t).get(), test_certs().client_crt, test_certs().client_key));
}

TEST(ServerTlsContext, OtherClientAuthModes) {
    TlsServerConfig t = server_config();
    t.client_ca_file = test_certs().ca_crt;
    t.client_auth = ClientAuthType::verify_client_cert_if_given;
    auto if_given = make_server_tls_context(t);
    EXPECT_EQ(SSL_CTX_get_verify_mode(if_given.get()), SSL_VERIFY_PEER);
    EXPECT_TRUE(handshake(if_given.get()));
    EXPECT_TRUE(handshake(if_given.get(), test_certs().client_crt, test_certs().client_key));
    EXPECT_FALSE(handshake(if_given.get(), test_certs().other_crt, test_certs().other_key));

    t.client_auth = ClientAuthType::require_any_client_cert;
    auto any = make_server_tls_context(t);
    EXPECT_FALSE(handshake(any.get()));
    EXPECT_TRUE(handshake(any.get(), test_certs().other_crt, test_certs().other_key));

    t.client_auth = ClientAuthType::request_client_cert;
    auto request = make_server_tls_context(t);
    EXPECT_TRUE(handshake(request.get()));
    EXPECT_TRUE(handshake(request.get(), test_certs().other_crt, test_certs().other_key));
}

TEST(ServerTlsContext, RefusesBadFilesNamingThemButNoSecret) {
    TlsServerConfig t = server_config();
    t.cert_file = test_certs().dir + "/missing.crt";
    EXPECT_NE(error_of(t).find("cannot load cert_file \"" + t.cert_file + "\""), std::string::npos) << error_of(t);

    t = server_config();
    t.key_file = test_certs().other_key;
    std::string why = error_of(t);
    EXPECT_NE(why.find(test_certs().other_key), std::string::npos) << why;
    EXPECT_EQ(why.find("PRIVATE KEY"), std::string::npos) << why;

    t = server_config();
    t.key_file = test_certs().server_crt;
    why = error_of(t);
    EXPECT_NE(why.find("cannot load key_file \"" + test_certs().server_crt + "\""), std::string::npos) << why;

    t = server_config();
    t.client_auth = ClientAuthType::require_and_verify_client_cert;
    EXPECT_NE(error_of(t).find("needs client_ca_file"), std::string::npos);
    t.client_ca_file = test_certs().server_key;
    why = error_of(t);
    EXPECT_NE(why.find("no certificate in client_ca_file \"" + test_certs().server_key + "\""), std::string::npos)
        << why;

    t = server_config();
    t.cipher_suites_tls12 = {"NO-SUCH-CIPHER"};
    EXPECT_NE(error_of(t).find("cipher_suites"), std::string::npos);
}

TEST(ServerTlsContext, FromALoadedWebConfig) {
    const std::string file = test::write_file(
        test_certs().dir, "from-config.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n"
        "  client_auth_type: RequireAndVerifyClientCert\n");
    auto loaded = config::load_web_config(file);
    ASSERT_TRUE(std::holds_alternative<config::WebConfig>(loaded));
    auto ctx = make_server_tls_context(*std::get<config::WebConfig>(loaded).tls);
    EXPECT_TRUE(handshake(ctx.get(), test_certs().client_crt, test_certs().client_key));
}

}  // namespace
}  // namespace cargomon::web
