// `cargomon check-config|check-rules|check-web-config` (daemon/cli/check.h) in process:
// one line per good file on out, each error on err, exit 0, 1 or 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "daemon/cli/check.h"
#include "tests/support/temp_dir.h"
#include "tests/web/certs.h"

namespace cargomon::cli {
namespace {

using testing::TempDir;

TEST(CheckConfig, ReportsEachFile) {
    TempDir dir;
    std::string good = dir.write("good.yml", "token: t\n");
    std::string bad = dir.write("bad.yml", "token: t\ndefaults:\n  intervall: 1m\n");
    std::ostringstream out, err;
    EXPECT_EQ(check_config_main({good}, out, err), 0);
    EXPECT_EQ(out.str(), good + ": OK, 7 collectors\n" + good + ": rules OK, 0 groups, 0 rules, 0 receivers\n");
    EXPECT_EQ(err.str(), "");

    out.str("");
    EXPECT_EQ(check_config_main({good, bad}, out, err), 1);
    EXPECT_EQ(out.str(), good + ": OK, 7 collectors\n" + good + ": rules OK, 0 groups, 0 rules, 0 receivers\n");
    EXPECT_EQ(err.str(), bad + ":3:3: unknown key \"intervall\" in defaults (did you mean \"interval\"?)\n");

    std::ostringstream err2;
    EXPECT_EQ(check_config_main({}, out, err2), 2);
    EXPECT_EQ(err2.str(), "usage: cargomon check-config FILE...\n");
}

TEST(CheckRules, ReportsEachFile) {
    std::ostringstream out, err;
    EXPECT_EQ(check_rules_main({CARGOMON_SHIPPED_RULES, "/nonexistent/x.yml"}, out, err), 1);
    EXPECT_EQ(out.str(), std::string(CARGOMON_SHIPPED_RULES) + ": OK, 3 groups, 15 rules\n");
    EXPECT_EQ(err.str(), "/nonexistent/x.yml: cannot read: No such file or directory\n");
    std::ostringstream out2, err2;
    EXPECT_EQ(check_rules_main({}, out2, err2), 2);
    EXPECT_EQ(err2.str(), "usage: cargomon check-rules FILE...\n");
}

TEST(CheckWebConfig, ReportsEachFile) {
    constexpr const char* kSecretHash = "$2y$04$hSr5aWBCaiLq6TJBSmdqduh2AEKXghHQ6.oLR.95fU1spLJcKoB7W";
    const std::string dir = test::test_certs().dir + "/check-web-config";
    std::filesystem::create_directories(dir);
    for (const auto& [from, to] : {std::pair{test::test_certs().server_crt, "server.crt"},
                                   std::pair{test::test_certs().server_key, "server.key"}})
        std::filesystem::copy_file(from, dir + "/" + to, std::filesystem::copy_options::overwrite_existing);
    const std::string ok = test::write_file(dir, "ok.yml",
                                            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                            "basic_auth_users:\n  alice: " + std::string(kSecretHash) + "\n");
    const std::string bad = test::write_file(dir, "bad.yml", "basic_auth_users:\n  alice: secret\n");
    std::ostringstream out, err;
    EXPECT_EQ(check_web_config_main({ok}, out, err), 0);
    EXPECT_EQ(out.str(), ok + ": OK (TLS on, 1 user)\n");
    EXPECT_EQ(err.str(), "");
    out.str("");
    EXPECT_EQ(check_web_config_main({ok, bad}, out, err), 1);
    EXPECT_EQ(out.str(), ok + ": OK (TLS on, 1 user)\n");
    EXPECT_TRUE(err.str().starts_with(bad + ":2:10: the password of user \"alice\" is not a bcrypt hash")) << err.str();
    EXPECT_EQ(err.str().find(": secret"), std::string::npos);
    std::ostringstream err2;
    EXPECT_EQ(check_web_config_main({}, out, err2), 2);
    EXPECT_EQ(err2.str(), "usage: cargomon check-web-config FILE...\n");
}

TEST(Check, HelpAndUnknownFlags) {
    std::ostringstream out, err;
    EXPECT_EQ(check_rules_main({"--help"}, out, err), 0);
    EXPECT_TRUE(out.str().starts_with("usage: cargomon check-rules FILE...\n")) << out.str();
    EXPECT_EQ(check_config_main({"--bogus", "x.yml"}, out, err), 2);
    EXPECT_NE(err.str().find("unknown flag --bogus"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace cargomon::cli
