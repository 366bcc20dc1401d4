// `cargomon silence add|list|expire`: the real binary as a client of the real daemon.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "common/net.h"
#include "tests/cli/cli_env.h"

namespace cargomon::testing {
namespace {

CommandResult silence(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), "silence");
    return run_cargomon(args, env);
}

std::string url_flag() { return "--url=" + shared_daemon().url(); }

// The line of `list` output that starts with `id`, or "" when there is none.
std::string row_of(const std::string& listing, const std::string& id) {
    std::istringstream lines(listing);
    for (std::string line; std::getline(lines, line);)
        if (line.starts_with(id)) return line;
    return "";
}

TEST(Silence, AddListExpire) {
    auto added = silence({"add", url_flag(), "--duration=2h", "--comment=deploying billing", "alertname=CliTest",
                          "workflow_name=~\"billing .*\""},
                         {{"USER", "cli-tester"}});
    ASSERT_EQ(added.exit_code, 0) << added.output;
    std::smatch id_match;
    ASSERT_TRUE(std::regex_match(added.output, id_match, std::regex(R"(([0-9a-f-]{36})\n)"))) << added.output;
    const std::string id = id_match[1];

    auto listed = silence({"list", url_flag()});
    ASSERT_EQ(listed.exit_code, 0) << listed.output;
    EXPECT_TRUE(listed.output.starts_with("ID ")) << listed.output;
    const std::string row = row_of(listed.output, id);
    ASSERT_FALSE(row.empty()) << listed.output;
    EXPECT_NE(row.find(R"(alertname="CliTest" workflow_name=~"billing .*")"), std::string::npos) << row;
    EXPECT_NE(row.find("cli-tester"), std::string::npos) << row;
    EXPECT_NE(row.find("deploying billing"), std::string::npos) << row;
    EXPECT_TRUE(row.ends_with("active")) << row;

    auto expired = silence({"expire", url_flag(), id});
    ASSERT_EQ(expired.exit_code, 0) << expired.output;

    auto after = silence({"list", url_flag()});
    ASSERT_EQ(after.exit_code, 0) << after.output;
    EXPECT_EQ(row_of(after.output, id), "") << after.output;

    auto all = silence({"list", url_flag(), "--all"});
    ASSERT_EQ(all.exit_code, 0) << all.output;
    EXPECT_TRUE(row_of(all.output, id).ends_with("expired")) << all.output;

    auto again = silence({"expire", url_flag(), id});
    EXPECT_EQ(again.exit_code, 1) << again.output;
    EXPECT_NE(again.output.find("no active or pending silence with that id"), std::string::npos) << again.output;
}

TEST(Silence, UrlComesFromTheEnvironment) {
    auto added = silence({"add", "--end=2099-01-01T00:00:00Z", "--comment=from env", "alertname=FromEnv"},
                         {{"CARGOMON_URL", shared_daemon().url()}});
    ASSERT_EQ(added.exit_code, 0) << added.output;
    auto listed = silence({"list"}, {{"CARGOMON_URL", shared_daemon().url()}});
    EXPECT_NE(listed.output.find("alertname=\"FromEnv\""), std::string::npos) << listed.output;
    EXPECT_NE(listed.output.find("2099-01-01 00:00:00"), std::string::npos) << listed.output;
}

TEST(Silence, BadMatcherSaysWhichAndWhy) {
    auto no_operator = silence({"add", url_flag(), "--comment=x", "alertname=A", "severity~page"});
    EXPECT_EQ(no_operator.exit_code, 1);
    EXPECT_NE(no_operator.output.find("bad matcher 'severity~page'"), std::string::npos) << no_operator.output;
    EXPECT_NE(no_operator.output.find("expected name, then =, !=, =~ or !~"), std::string::npos) << no_operator.output;

    auto bad_regex = silence({"add", url_flag(), "--comment=x", "workflow_name=~(unclosed"});
    EXPECT_EQ(bad_regex.exit_code, 1);
    EXPECT_NE(bad_regex.output.find("bad matcher 'workflow_name=~(unclosed'"), std::string::npos) << bad_regex.output;
    EXPECT_NE(bad_regex.output.find("bad regex"), std::string::npos) << bad_regex.output;
}

TEST(Silence, DaemonRefusalIsShown) {
    auto no_comment = silence({"add", url_flag(), "alertname=A"});
    EXPECT_EQ(no_comment.exit_code, 1);
    EXPECT_NE(no_comment.output.find("refused the silence: a silence needs a comment"), std::string::npos)
        << no_comment.output;

    auto matches_everything = silence({"add", url_flag(), "--comment=x", "alertname=~.*"});
    EXPECT_EQ(matches_everything.exit_code, 1);
    EXPECT_NE(matches_everything.output.find("must not match the empty string"), std::string::npos)
        << matches_everything.output;
}

TEST(Silence, BadDurationOrEnd) {
    auto bad = silence({"add", url_flag(), "--duration=2 hours", "--comment=x", "alertname=A"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.output.find("bad --duration \"2 hours\""), std::string::npos) << bad.output;

    auto zero = silence({"add", url_flag(), "--duration=0s", "--comment=x", "alertname=A"});
    EXPECT_EQ(zero.exit_code, 1);
    EXPECT_NE(zero.output.find("longer than 0s"), std::string::npos) << zero.output;

    auto bad_end = silence({"add", url_flag(), "--end=tomorrow", "--comment=x", "alertname=A"});
    EXPECT_EQ(bad_end.exit_code, 1);
    EXPECT_NE(bad_end.output.find("bad --end \"tomorrow\""), std::string::npos) << bad_end.output;
}

TEST(Silence, UnreachableDaemonIsNamed) {
    const std::string url = "http://127.0.0.1:" + std::to_string(free_loopback_port());
    auto listed = silence({"list", "--url=" + url});
    EXPECT_EQ(listed.exit_code, 1);
    EXPECT_NE(listed.output.find("cannot reach cargomon at " + url), std::string::npos) << listed.output;

    auto added = silence({"add", "--url", url, "--comment=x", "alertname=A"});
    EXPECT_EQ(added.exit_code, 1);
    EXPECT_NE(added.output.find(url), std::string::npos) << added.output;
}

TEST(Silence, UsageErrorsExitTwo) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {},
             {"mute"},
             {"add", url_flag(), "--comment=x"},
             {"add", url_flag(), "--duration=1h", "--end=2099-01-01T00:00:00Z", "--comment=x", "alertname=A"},
             {"list", "--colour"},
             {"list", "--url"},
             {"list", "--url=127.0.0.1:9464"},
             {"expire", url_flag()},
         }) {
        auto result = silence(args);
        EXPECT_EQ(result.exit_code, 2) << ::testing::PrintToString(args) << "\n" << result.output;
        EXPECT_NE(result.output.find("cargomon silence"), std::string::npos) << result.output;
    }
}

}  // namespace
}  // namespace cargomon::testing
