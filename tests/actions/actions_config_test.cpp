// The `actions:` section read with the rest of the config file: off without it, defaults
// safe (dry run), every mistake a file:line:column error, and a bad section refused whole.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/config.h"

using namespace cargomon::config;

namespace {

const Environment kEnv(std::map<std::string, std::string>{{"CARGO_API_TOKEN", "t"}});

std::vector<std::string> errors_of(const std::string& yaml) {
    std::vector<std::string> out;
    LoadResult result = parse_config(yaml, "cargomon.yml", kEnv);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&result))
        for (const ConfigError& e : *errors) out.push_back(e.to_string());
    return out;
}

Config parse_ok(const std::string& yaml) {
    LoadResult result = parse_config(yaml, "cargomon.yml", kEnv);
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&result))
        for (const ConfigError& e : *errors) ADD_FAILURE() << e.to_string();
    return std::holds_alternative<Config>(result) ? std::get<Config>(result) : Config{};
}

const std::string kRule = R"(actions:
  rules:
    - name: rerun-transient
      action: rerun_failed_records
      matchers: ['workflow_name=~"Enrich.*"']
      transient_errors: ["rate limit", "(?i)timeout"]
)";

TEST(ActionsConfig, OffWithoutTheSection) {
    const Config c = parse_ok("token: t\n");
    EXPECT_TRUE(c.actions.rules.empty());
}

TEST(ActionsConfig, ASectionWithoutModeOnlyDryRunsWithSafeBudgets) {
    const Config c = parse_ok(kRule);
    ASSERT_EQ(c.actions.rules.size(), 1u);
    const ActionRule& r = c.actions.rules[0];
    EXPECT_EQ(c.actions.mode_of(r), ActionMode::dry_run);
    EXPECT_EQ(r.name, "rerun-transient");
    ASSERT_EQ(r.matchers.size(), 1u);
    EXPECT_TRUE(r.matchers[0].matches("Enrich inbound leads"));
    EXPECT_EQ(r.transient_errors, (std::vector<std::string>{"rate limit", "(?i)timeout"}));
    EXPECT_EQ(r.max_records_per_rerun, 500);
    EXPECT_EQ(r.max_reruns_per_day_per_workflow, 3);
    EXPECT_EQ(r.max_credits_per_day, 1000);
    EXPECT_EQ(r.reset, "firstNode");
    EXPECT_EQ(c.actions.interval, std::chrono::minutes{1});
    EXPECT_EQ(c.actions.lookback, std::chrono::hours{1});
}

TEST(ActionsConfig, EveryKeyIsRead) {
    const Config c = parse_ok(R"(actions:
  mode: enabled
  interval: 30s
  lookback: 6h
  rules:
    - name: a
      action: rerun_failed_records
      mode: dry_run
      matchers: ['workflow_uuid="u-1"']
      transient_errors: ["503"]
      max_records_per_rerun: 20
      max_reruns_per_day_per_workflow: 1
      max_credits_per_day: 12.5
      reset: lastNode
    - {name: b, action: rerun_failed_records, matchers: ['workflow_name="x"'], transient_errors: [x]}
)");
    ASSERT_EQ(c.actions.rules.size(), 2u);
    const ActionRule& a = c.actions.rules[0];
    EXPECT_EQ(c.actions.mode, ActionMode::enabled);
    EXPECT_EQ(c.actions.mode_of(a), ActionMode::dry_run);
    EXPECT_EQ(c.actions.mode_of(c.actions.rules[1]), ActionMode::enabled);
    EXPECT_EQ(c.actions.interval, std::chrono::seconds{30});
    EXPECT_EQ(c.actions.lookback, std::chrono::hours{6});
    EXPECT_EQ(a.max_records_per_rerun, 20);
    EXPECT_EQ(a.max_reruns_per_day_per_workflow, 1);
    EXPECT_EQ(a.max_credits_per_day, 12.5);
    EXPECT_EQ(a.reset, "lastNode");
}

TEST(ActionsConfig, MistakesArePositioned) {
    const std::vector<std::string> errors = errors_of(R"(actions:
  mode: on
  interval: 0s
  rules:
    - name: a
      action: rerun_everything
      matchers: ['status="error"']
      transient_errors: ["(unclosed"]
      max_records_per_rerun: 0
      reset: middleNode
      max_retries: 3
    - name: a
      action: rerun_failed_records
      matchers: ['workflow_name="x"']
      transient_errors: []
    - {name: c, action: rerun_failed_records}
)");
    const std::vector<std::string> starts{
        "cargomon.yml:2:9: expected one of enabled, dry_run, got \"on\"",
        "cargomon.yml:3:13: interval must be greater than 0",
        "cargomon.yml:6:15: expected one of rerun_failed_records, got \"rerun_everything\"",
        "cargomon.yml:7:17: an action rule matches on workflow_uuid or workflow_name, not \"status\"",
        "cargomon.yml:8:26: bad regex \"(unclosed\": ",
        "cargomon.yml:9:30: max_records_per_rerun must be",
        "cargomon.yml:10:14: expected one of firstNode, lastNode, nextNode, got \"middleNode\"",
        "cargomon.yml:11:7: unknown key \"max_retries\" in an action rule",
        "cargomon.yml:12:13: duplicate action rule name \"a\"",
        "cargomon.yml:15:25: transient_errors must name at least one error message pattern",
        "cargomon.yml:16:7: an action rule needs matchers",
        "cargomon.yml:16:7: an action rule needs transient_errors",
    };
    ASSERT_EQ(errors.size(), starts.size()) << ::testing::PrintToString(errors);
    for (std::size_t i = 0; i < starts.size(); ++i) EXPECT_TRUE(errors[i].starts_with(starts[i])) << errors[i];
}

TEST(ActionsConfig, PatternsAreBounded) {
    const std::string huge(5000, 'x');
    auto errors = errors_of(kRule + "      max_credits_per_day: -1\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("max_credits_per_day must be between 0 and 1e12"), std::string::npos) << errors[0];
    errors = errors_of("actions:\n  rules:\n    - {name: a, action: rerun_failed_records, matchers: ['workflow_name=\"x\"'], "
                       "transient_errors: [" + huge + "]}\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("longer than 4096"), std::string::npos) << errors[0];
    errors = errors_of("actions:\n  rules:\n    - {name: a, action: rerun_failed_records, matchers: ['workflow_name=\"x\"'], "
                       "transient_errors: ['']}\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("an empty pattern would call every error transient"), std::string::npos) << errors[0];
}

// A rule that would act on every workflow, or call every failure transient, lets the
// budgets alone stand between a mistake and the customer's credits: refused, positioned.
TEST(ActionsConfig, RulesThatMatchEverythingAreRefused) {
    const std::vector<std::string> errors = errors_of(R"(actions:
  rules:
    - name: a
      action: rerun_failed_records
      matchers: []
      transient_errors: ["timeout"]
    - name: b
      action: rerun_failed_records
      matchers: ['workflow_name="x"']
      transient_errors: [".*", "(?s).*", "^", "|x", "x*", ".", "\\S|\\s", "timeout", "$"]
)");
    const std::vector<std::string> starts{
        "cargomon.yml:5:17: matchers must name at least one matcher",
        "cargomon.yml:10:26: transient error pattern \".*\" would call every failure transient: it matches the empty",
        "cargomon.yml:10:32: transient error pattern \"(?s).*\" would call every failure transient",
        "cargomon.yml:10:42: transient error pattern \"^\" would call every failure transient",
        "cargomon.yml:10:47: transient error pattern \"|x\" would call every failure transient",
        "cargomon.yml:10:53: transient error pattern \"x*\" would call every failure transient",
        "cargomon.yml:10:59: transient error pattern \".\" would call every failure transient: it matches any one",
        "cargomon.yml:10:64: transient error pattern \"\\S|\\s\" would call every failure transient",
        "cargomon.yml:10:86: transient error pattern \"$\" would call every failure transient",
    };
    ASSERT_EQ(errors.size(), starts.size()) << ::testing::PrintToString(errors);
    for (std::size_t i = 0; i < starts.size(); ++i) EXPECT_TRUE(errors[i].starts_with(starts[i])) << errors[i];
}

TEST(ActionsConfig, TheCreditEstimateHasAFloor) {
    EXPECT_EQ(parse_ok(kRule).actions.rules[0].min_credits_per_run, 1);
    EXPECT_EQ(parse_ok(kRule + "      min_credits_per_run: 0.25\n").actions.rules[0].min_credits_per_run, 0.25);
    for (const char* bad : {"0", "-1", "1e10", "nan"}) {
        const auto errors = errors_of(kRule + "      min_credits_per_run: " + bad + "\n");
        ASSERT_EQ(errors.size(), 1u) << bad;
        EXPECT_TRUE(errors[0].starts_with("cargomon.yml:7:28: ")) << errors[0];
    }
    EXPECT_EQ(parse_ok("actions:\n  reconcile_after: 10m\n").actions.reconcile_after, std::chrono::minutes{10});
    EXPECT_EQ(parse_ok(kRule).actions.reconcile_after, std::chrono::minutes{2});
}

TEST(ActionsConfig, TheSectionIsPartOfTheConfigsEquality) {
    EXPECT_FALSE(parse_ok(kRule) == parse_ok(kRule + "      reset: lastNode\n"));
    EXPECT_TRUE(parse_ok(kRule) == parse_ok(kRule));
}

}  // namespace
