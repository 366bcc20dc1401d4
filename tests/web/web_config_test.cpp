// config::load_web_config: exporter-toolkit's format, every error at FILE:LINE:COL.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "config/web_config.h"
#include "tests/support/predicate.h"
#include "tests/web/certs.h"

namespace cargomon::config {
namespace {

using test::test_certs;
using test::write_file;

// From htpasswd -nbBC 4 "" secret (apache2-utils).
constexpr const char* kSecretHash = "$2y$04$hSr5aWBCaiLq6TJBSmdqduh2AEKXghHQ6.oLR.95fU1spLJcKoB7W";

class WebConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        // A folder of its own holding copies of the certificates, to test relative paths.
        dir_ = test_certs().dir + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
        std::filesystem::create_directories(dir_);
        for (const auto& [from, to] : {std::pair{test_certs().server_crt, "server.crt"},
                                       std::pair{test_certs().server_key, "server.key"},
                                       std::pair{test_certs().ca_crt, "ca.crt"},
                                       std::pair{test_certs().other_key, "other.key"}})
            std::filesystem::copy_file(from, dir_ + "/" + to, std::filesystem::copy_options::overwrite_existing);
    }

    WebConfigResult load(const std::string& yaml) { return load_web_config(write_file(dir_, "web.yml", yaml)); }

    WebConfig good(const std::string& yaml) {
        WebConfigResult result = load(yaml);
        if (auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
            for (const auto& e : *errors) ADD_FAILURE() << e.to_string();
            return {};
        }
        return std::get<WebConfig>(result);
    }

    // The errors as "LINE:COL: message" (the file name checked once here).
    std::vector<std::string> errors(const std::string& yaml) {
        WebConfigResult result = load(yaml);
        std::vector<std::string> out;
        auto* errors = std::get_if<std::vector<ConfigError>>(&result);
        if (!errors) {
            ADD_FAILURE() << "loaded:\n" << yaml;
            return out;
        }
        for (const auto& e : *errors) {
            EXPECT_EQ(e.file, dir_ + "/web.yml");
            out.push_back(std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message);
        }
        return out;
    }

    std::string dir_;
};

TEST_F(WebConfigTest, EmptyFileIsPlainHttpWithoutAuth) {
    WebConfig c = good("");
    EXPECT_FALSE(c.tls);
    EXPECT_TRUE(c.basic_auth_users.empty());
    EXPECT_TRUE(c.http2);
    EXPECT_EQ(good("tls_server_config:\nbasic_auth_users:\n"), WebConfig{});
}

TEST_F(WebConfigTest, FullFileLoadsWithRelativePathsResolvedAgainstItsFolder) {
    WebConfig c = good(R"(tls_server_config:
  cert_file: server.crt
  key_file: ./server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
  client_allowed_sans: [client.test]
http_server_config:
  http2: false
  headers:
    Strict-Transport-Security: max-age=31536000
    X-Frame-Options: sameorigin
    X-Content-Type-Options: nosniff
rate_limit:
  interval: 1s
  burst: 20
basic_auth_users:
  alice: )" + std::string(kSecretHash) + R"(
  bob: '$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW'
)");
    ASSERT_TRUE(c.tls);
    const TlsServerConfig& t = *c.tls;
    EXPECT_EQ(t.cert_file, dir_ + "/server.crt");
    EXPECT_EQ(t.key_file, dir_ + "/server.key");
    EXPECT_EQ(t.client_ca_file, dir_ + "/ca.crt");
    EXPECT_EQ(t.client_auth, ClientAuthType::require_and_verify_client_cert);
    EXPECT_EQ(t.min_version, TlsVersion::tls13);
    EXPECT_EQ(t.max_version, TlsVersion::tls13);
    EXPECT_EQ(t.cipher_suites_tls12,
              (std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"}));
    EXPECT_EQ(t.cipher_suites_tls13, (std::vector<std::string>{"TLS_AES_256_GCM_SHA384"}));
    EXPECT_EQ(t.curve_preferences, (std::vector<std::string>{"X25519", "P-256"}));
    EXPECT_FALSE(t.prefer_server_cipher_suites);
    EXPECT_EQ(t.client_allowed_sans, (std::vector<std::string>{"client.test"}));
    EXPECT_FALSE(c.http2);
    EXPECT_EQ(c.headers, (std::map<std::string, std::string>{{"Strict-Transport-Security", "max-age=31536000"},
                                                             {"X-Frame-Options", "sameorigin"},
                                                             {"X-Content-Type-Options", "nosniff"}}));
    EXPECT_EQ(c.rate_limit_interval, Millis{1000});
    EXPECT_EQ(c.rate_limit_burst, 20);
    EXPECT_EQ(c.basic_auth_users.size(), 2u);
    EXPECT_EQ(c.basic_auth_users.at("alice"), kSecretHash);
}

TEST_F(WebConfigTest, DefaultsAreExporterToolkits) {
    WebConfig c = good("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
    ASSERT_TRUE(c.tls);
    EXPECT_EQ(c.tls->min_version, TlsVersion::tls12);
    EXPECT_EQ(c.tls->max_version, TlsVersion::tls13);
    EXPECT_EQ(c.tls->client_auth, ClientAuthType::no_client_cert);
    EXPECT_TRUE(c.tls->prefer_server_cipher_suites);
    EXPECT_TRUE(c.tls->cipher_suites_tls12.empty());
    // RequireClientCert is the toolkit's old name of RequireAnyClientCert.
    c = good("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireClientCert\n");
    EXPECT_EQ(c.tls->client_auth, ClientAuthType::require_any_client_cert);
}

TEST_F(WebConfigTest, AbsolutePathsAndInlinePemAreKept) {
    const std::string pem = test::read_text(test_certs().server_crt);
    std::string yaml = "tls_server_config:\n  cert: |\n";
    std::istringstream lines(pem);
    for (std::string line; std::getline(lines, line);) yaml += "    " + line + "\n";
    yaml += "  key_file: " + test_certs().server_key + "\n";
    WebConfig c = good(yaml);
    ASSERT_TRUE(c.tls);
    EXPECT_EQ(c.tls->key_file, test_certs().server_key);
    EXPECT_TRUE(c.tls->cert.starts_with("-----BEGIN CERTIFICATE-----")) << c.tls->cert;
}

TEST_F(WebConfigTest, UnknownKeysAreErrorsAtTheirPlace) {
    EXPECT_EQ(errors("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca: x\n"
                     "  cert_flie: y\nbasic_auth:\n  a: b\n"),
              (std::vector<std::string>{
                  "4:14: client CA's have been configured without a client_auth_type",
                  "4:14: client_ca: no certificate in it (no start line)",
                  "5:3: unknown key \"cert_flie\" in tls_server_config (did you mean \"cert_file\"?)",
                  "6:1: unknown key \"basic_auth\" at top level (did you mean \"basic_auth_users\"?)"}));
    EXPECT_EQ(errors("http_server_config:\n  headers: {}\n  http3: true\n"),
              (std::vector<std::string>{"3:3: unknown key \"http3\" in http_server_config (did you mean \"http2\"?)"}));
}

TEST_F(WebConfigTest, BadValuesAreErrorsAtTheValue) {
    EXPECT_EQ(errors(R"(tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCerts
  min_version: TLS14
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_RC4_128_SHA, ECDHE-RSA-AES128-GCM-SHA256]
  curve_preferences: [P-256]
  prefer_server_cipher_suites: yes
)"),
              (std::vector<std::string>{
                  "4:21: expected one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
                  "RequireAndVerifyClientCert, RequireClientCert, got \"RequireAndVerifyClientCerts\" (did you mean "
                  "\"RequireAndVerifyClientCert\"?)",
                  "5:16: expected one of TLS10, TLS11, TLS12, TLS13, got \"TLS14\" (did you mean \"TLS10\"?)",
                  "6:58: unknown cipher: \"TLS_RSA_WITH_RC4_128_SHA\" (Go's names of secure suites, such as "
                  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)",
                  "6:84: unknown cipher: \"ECDHE-RSA-AES128-GCM-SHA256\" (Go's names of secure suites, such as "
                  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)",
                  "7:23: unknown curve: \"P-256\" (CurveP256, CurveP384, CurveP521 or X25519)",
                  "8:32: expected true or false, got \"yes\""}));
    EXPECT_EQ(errors("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n"
                     "  max_version: TLS12\n"),
              (std::vector<std::string>{"4:16: min_version TLS13 is above max_version TLS12"}));
}

TEST_F(WebConfigTest, CertificateFilesAreCheckedWhereTheyAreNamed) {
    auto found = errors("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0], "2:14: cert_file: cannot read \"" + dir_ + "/missing.crt\": No such file or directory");

    found = errors("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0], "3:13: the private key does not match the certificate \"" + dir_ + "/server.crt\"");

    // A key where the certificate should be: named, and its text nowhere in the message.
    found = errors("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_TRUE(found[0].starts_with("2:14: cert_file \"" + dir_ + "/server.key\": no certificate in it")) << found[0];
    EXPECT_EQ(found[0].find("PRIVATE"), std::string::npos);

    found = errors("tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_TRUE(found[0].starts_with("3:13: key_file \"" + dir_ + "/server.crt\": no unencrypted private key")) << found[0];

    EXPECT_EQ(errors("tls_server_config:\n  cert_file: server.crt\n"),
              (std::vector<std::string>{"2:3: missing one of key or key_file"}));
    EXPECT_EQ(errors("tls_server_config:\n  client_auth_type: RequestClientCert\n"),
              (std::vector<std::string>{"2:3: missing one of cert or cert_file", "2:3: missing one of key or key_file"}));
}

TEST_F(WebConfigTest, VerifyingClientCertificatesNeedsAClientCa) {
    const std::string base = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
    for (const char* mode : {"VerifyClientCertIfGiven", "RequireAndVerifyClientCert"})
        EXPECT_EQ(errors(base + "  client_auth_type: " + mode + "\n"),
                  (std::vector<std::string>{"4:21: client_auth_type " + std::string(mode) +
                                            " needs client_ca_file to verify client certificates against"}));
    for (const char* mode : {"RequestClientCert", "RequireAnyClientCert"})
        EXPECT_TRUE(good(base + "  client_auth_type: " + mode + "\n").tls) << mode;
    EXPECT_EQ(errors(base + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: nope.crt\n"),
              (std::vector<std::string>{"5:19: client_ca_file: cannot read \"" + dir_ +
                                        "/nope.crt\": No such file or directory"}));
    EXPECT_EQ(errors(base + "  client_auth_type: VerifyClientCertIfGiven\n  client_allowed_sans: [a]\n"
                            "  client_ca_file: ca.crt\n"),
              (std::vector<std::string>{"5:24: client_allowed_sans requires client_auth_type to be one of "
                                        "RequireAnyClientCert or RequireAndVerifyClientCert"}));
}

TEST_F(WebConfigTest, OnlyExporterToolkitsHeadersMayBeSet) {
    EXPECT_EQ(errors("http_server_config:\n  headers:\n    X-Frame-Options: allow\n    Server: cargomon\n"
                     "    x-content-type-options: nosniff\n    Content-Security-Policy: default-src 'self'\n"),
              (std::vector<std::string>{
                  "3:22: invalid value for X-Frame-Options: expected one of \"deny\", \"sameorigin\", got \"allow\"",
                  "4:5: HTTP header \"Server\" can not be configured",
                  "5:5: HTTP header \"x-content-type-options\" can not be configured (did you mean "
                  "\"X-Content-Type-Options\"?)"}));
    EXPECT_EQ(allowed_web_headers().size(), 5u);
}

TEST_F(WebConfigTest, PasswordsMustBeBcryptHashesAndStayOutOfErrors) {
    auto found = errors("basic_auth_users:\n  alice: plaintext-secret\n  bob: $2x$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n"
                        "  carol: $2y$03$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n  dave: [a]\n");
    ASSERT_EQ(found.size(), 4u);
    EXPECT_TRUE(found[0].starts_with("2:10: the password of user \"alice\" is not a bcrypt hash")) << found[0];
    EXPECT_TRUE(found[1].starts_with("3:8: the password of user \"bob\" is not a bcrypt hash")) << found[1];
    EXPECT_TRUE(found[2].starts_with("4:10: the password of user \"carol\"")) << found[2];
    EXPECT_EQ(found[3], "5:9: expected a string, got a sequence");
    for (const auto& e : found) {
        EXPECT_EQ(e.find("plaintext-secret"), std::string::npos) << e;
        EXPECT_EQ(e.find("QOauhQ"), std::string::npos) << e;
    }
    EXPECT_EQ(errors("basic_auth_users: [alice]\n"),
              (std::vector<std::string>{"1:19: expected a mapping of user names to bcrypt hashes, got a sequence"}));
}

TEST_F(WebConfigTest, SyntaxErrorsAndUnreadableFilesAreReported) {
    auto found = errors("tls_server_config:\n  cert_file: [a\n");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_TRUE(found[0].starts_with("3:1: ")) << found[0];

    WebConfigResult missing = load_web_config(dir_ + "/none.yml");
    ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(missing));
    EXPECT_EQ(std::get<std::vector<ConfigError>>(missing).at(0).to_string(),
              dir_ + "/none.yml: cannot read web config file: No such file or directory");
}

TEST(BcryptHashFormat, TakesTheThreePrefixesAndCosts4To31) {
    cargomon::testing::expect_accepts(is_bcrypt_hash,
                                      {
                                          kSecretHash,
                                          "$2a$31$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
                                          "$2b$04$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
                                      },
                                      {
                                          "$2y$32$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
                                          "$2y$4$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
                                          "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeS",
                                          "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeS!",
                                          "$1$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
                                          "",
                                      });
}

TEST(CipherNames, GoNamesMapToOpenSsl) {
    EXPECT_EQ(openssl_cipher_name("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")->openssl, "ECDHE-ECDSA-AES256-GCM-SHA384");
    EXPECT_FALSE(openssl_cipher_name("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")->tls13);
    EXPECT_TRUE(openssl_cipher_name("TLS_CHACHA20_POLY1305_SHA256")->tls13);
    EXPECT_FALSE(openssl_cipher_name("TLS_RSA_WITH_3DES_EDE_CBC_SHA"));  // Go's insecure list
}

}  // namespace
}  // namespace cargomon::config
