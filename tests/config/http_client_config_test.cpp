// The HTTP client config file (`cargomon silence --http.config.file`) read into the one
// client-config type, common/http_client.h's HttpClientConfig.
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "config/http_client_config.h"

namespace cargomon::config {
namespace {

std::string errors_of(const HttpClientConfigResult& result) {
    std::string text;
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&result))
        for (const auto& e : *errors) text += e.to_string() + "\n";
    return text;
}

TEST(HttpClientConfigFile, ReadsEveryKeyIntoTheClientConfig) {
    const auto result = parse_http_client_config(R"(
authorization: {type: Token, credentials: abc}
tls_config: {server_name: cargomon.test, insecure_skip_verify: true}
proxy_url: http://proxy.test:3128
)", "http.yml");
    ASSERT_TRUE(std::holds_alternative<HttpClientConfig>(result)) << errors_of(result);
    const auto& c = std::get<HttpClientConfig>(result);
    EXPECT_EQ(c.authorization, (HttpAuthorization{.type = "Token", .credentials = "abc"}));
    EXPECT_FALSE(c.basic_auth);
    EXPECT_EQ(c.tls.server_name, "cargomon.test");
    EXPECT_TRUE(c.tls.insecure_skip_verify);
    EXPECT_EQ(c.proxy_url, "http://proxy.test:3128");
    // The file sets no timeouts: the client's defaults hold.
    EXPECT_EQ(c.connect_timeout, HttpClientConfig{}.connect_timeout);
    EXPECT_EQ(c.timeout, HttpClientConfig{}.timeout);
}

TEST(HttpClientConfigFile, RefusesAProxyItCannotUseWithoutQuotingCredentials) {
    for (const char* proxy : {"https://proxy.test", "proxy.test:3128", "http://"}) {
        const auto result = parse_http_client_config(std::string("proxy_url: ") + proxy + "\n", "http.yml");
        EXPECT_NE(errors_of(result).find("http.yml:1:12: proxy_url: expected http://HOST[:PORT]"), std::string::npos)
            << proxy << ": " << errors_of(result);
    }
    const auto result = parse_http_client_config("proxy_url: http://bob:hunter2@proxy.test\n", "http.yml");
    EXPECT_NE(errors_of(result).find("without credentials"), std::string::npos) << errors_of(result);
    EXPECT_EQ(errors_of(result).find("hunter2"), std::string::npos) << errors_of(result);
}

}  // namespace
}  // namespace cargomon::config
