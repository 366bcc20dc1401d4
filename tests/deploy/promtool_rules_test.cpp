// The shipped alerting rules (config/rules/cargo.rules.yml, linked from
// deploy/prometheus/rules) under Prometheus' own tools: `promtool check rules` on the
// file and `promtool test rules` on deploy/prometheus/tests/cargo.rules.test.yml, which
// holds, for every shipped alert, a case where it fires and cases where it must not.
// By hand:  promtool test rules deploy/prometheus/tests/cargo.rules.test.yml
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

#include "common/process.h"
#include "tests/deploy/deploy_files.h"
#include "tests/support/tools.h"

namespace cargomon::deploy_test {
namespace {

const char* kRules = "config/rules/cargo.rules.yml";
const char* kRuleTests = "deploy/prometheus/tests/cargo.rules.test.yml";

std::vector<std::string> shipped_alerts() {
    std::vector<std::string> names;
    for (const auto& group : YAML::LoadFile(source_path(kRules).string())["groups"])
        for (const auto& rule : group["rules"])
            if (rule["alert"]) names.push_back(rule["alert"].as<std::string>());
    return names;
}

class Promtool : public ::testing::Test {
protected:
    void SetUp() override {
        CARGOMON_REQUIRE_TOOL(!find_executable("promtool").empty(), "promtool not installed");
    }
};

TEST_F(Promtool, ChecksTheShippedRules) {
    const auto alerts = shipped_alerts();
    ASSERT_EQ(alerts.size(), 15u);
    auto run = run_tool({"promtool", "check", "rules", source_path(kRules).string()});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("SUCCESS: " + std::to_string(alerts.size()) + " rules found"), std::string::npos)
        << run.output;
}

TEST_F(Promtool, UnitTestsOfTheShippedRulesPass) {
    auto run = run_tool({"promtool", "test", "rules", source_path(kRuleTests).string()});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("SUCCESS"), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find("FAILED"), std::string::npos) << run.output;
}

// Both sides of every alert: an evaluation expecting it and one expecting it silent.
TEST_F(Promtool, UnitTestsCoverEveryShippedAlertFiringAndNot) {
    std::map<std::string, std::pair<int, int>> cases;  // alert -> (firing, silent) evaluations
    for (const auto& test : YAML::LoadFile(source_path(kRuleTests).string())["tests"])
        for (const auto& eval : test["alert_rule_test"]) {
            auto& [firing, silent] = cases[eval["alertname"].as<std::string>()];
            ++(eval["exp_alerts"].size() > 0 ? firing : silent);
        }
    for (const auto& alert : shipped_alerts()) {
        EXPECT_GT(cases[alert].first, 0) << alert << " is never expected to fire";
        EXPECT_GT(cases[alert].second, 0) << alert << " is never expected to stay silent";
    }
}

// promtool compares labels and annotations exactly: a wrong expectation fails the run.
TEST_F(Promtool, AWrongExpectationFails) {
    auto tests = YAML::LoadFile(source_path(kRuleTests).string());
    tests["rule_files"][0] = source_path(kRules).string();
    tests["tests"][0]["alert_rule_test"][1]["exp_alerts"][0]["exp_annotations"]["summary"] = "something else";
    TempDir dir;
    const std::string file = dir.write("wrong.test.yml", YAML::Dump(tests));
    auto run = run_tool({"promtool", "test", "rules", file});
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_NE(run.output.find("FAILED"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("something else"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace cargomon::deploy_test
