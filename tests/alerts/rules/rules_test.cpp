#include "alerts/rules/rules.h"

#include <gtest/gtest.h>

#include <sstream>

namespace cargomon::alerts::rules {
namespace {

// Every error of `yaml`, as "file:line:col: message" lines.
std::vector<std::string> errors_of(std::string_view yaml) {
    auto result = parse_rules(yaml, "bad.rules.yml");
    std::vector<std::string> out;
    if (auto* errors = std::get_if<std::vector<RuleError>>(&result))
        for (const auto& e : *errors) out.push_back(e.to_string());
    return out;
}

using Lines = std::vector<std::string>;

TEST(RuleFiles, UnknownKeysWithSuggestions) {
    EXPECT_EQ(errors_of("group:\n  - name: a\n"),
              Lines{"bad.rules.yml:1:1: unknown key \"group\" at the top of a rule file (did you mean \"groups\"?)"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    intervall: 1m\n"),
              Lines{"bad.rules.yml:3:5: unknown key \"intervall\" in a rule group (did you mean \"interval\"?)"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        exprr: up == 0\n"),
              (Lines{"bad.rules.yml:4:9: a rule needs an \"expr\"",
                     "bad.rules.yml:5:9: unknown key \"exprr\" in a rule (did you mean \"expr\"?)"}));
}

TEST(RuleFiles, ErrorsComeInFileOrder) {
    // Keys are checked before values at every level: without sorting, the unknown keys
    // of line 12 and 7 came before the problems of lines 2 to 6.
    EXPECT_EQ(errors_of("groups:\n"
                        "  - interval: 0s\n"
                        "    rules:\n"
                        "      - alert: X\n"
                        "        expr: up ==\n"
                        "        for: soon\n"
                        "        lables: {a: b}\n"
                        "  - name: b\n"
                        "    rules:\n"
                        "      - expr: up\n"
                        "        alret: Y\n"
                        "extra: 1\n"),
              (Lines{"bad.rules.yml:2:5: a rule group needs a \"name\"",
                     "bad.rules.yml:2:15: the group interval must be greater than 0",
                     "bad.rules.yml:5:20: bad expr: unexpected end of input ",
                     "bad.rules.yml:6:14: bad duration \"soon\": expected a number at \"soon\"",
                     "bad.rules.yml:7:9: unknown key \"lables\" in a rule (did you mean \"labels\"?)",
                     "bad.rules.yml:10:9: a rule needs an \"alert\" or a \"record\" name",
                     "bad.rules.yml:11:9: unknown key \"alret\" in a rule (did you mean \"alert\"?)",
                     "bad.rules.yml:12:1: unknown key \"extra\" at the top of a rule file"}));
}

// Prometheus' recording rules: a metric name, an expression, plain labels; what only an
// alert has is refused where it is written.
TEST(RuleFiles, RecordingRules) {
    auto result = parse_rules("groups:\n"
                              "  - name: a\n"
                              "    query_offset: 1m\n"
                              "    limit: 3\n"
                              "    rules:\n"
                              "      - record: workflow:cargo_runs:rate5m\n"
                              "        expr: sum by (workflow_name) (rate(cargo_runs_total[5m]))\n"
                              "        labels: {team: '{{ $labels.x }}', env: prod}\n"
                              "      - alert: Fast\n"
                              "        expr: workflow:cargo_runs:rate5m > 1\n",
                              "good.yml");
    ASSERT_TRUE(std::holds_alternative<std::vector<RuleGroup>>(result));
    const RuleGroup& g = std::get<std::vector<RuleGroup>>(result).at(0);
    EXPECT_EQ(g.query_offset, std::chrono::minutes{1});
    EXPECT_EQ(g.limit, 3);
    ASSERT_EQ(g.rules.size(), 2u);
    const auto& r = std::get<RecordingRule>(g.rules[0]);
    EXPECT_EQ(r.name, "workflow:cargo_runs:rate5m");
    EXPECT_EQ(rule_name(g.rules[0]), "workflow:cargo_runs:rate5m");
    EXPECT_NE(r.expr, nullptr);
    // Sorted, and taken as written: recording rule labels are not templates.
    EXPECT_EQ(r.labels, (metrics::Labels{{"env", "prod"}, {"team", "{{ $labels.x }}"}}));
    EXPECT_TRUE(std::holds_alternative<AlertingRule>(g.rules[1]));

    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - record: 1x\n        expr: up\n"),
              Lines{"bad.rules.yml:4:17: invalid recording rule name \"1x\" (a metric name: letters, digits, _ and :, not starting with a digit)"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up\n        for: 5m\n"
                        "        annotations: {a: b}\n"),
              (Lines{"bad.rules.yml:6:14: invalid field \"for\" in recording rule",
                     "bad.rules.yml:7:22: invalid field \"annotations\" in recording rule"}));
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: up\n        labels: {__x: a}\n"),
              Lines{"bad.rules.yml:6:18: invalid label name \"__x\" (letters, digits and _, not starting with a digit or __)"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    query_offset: soon\n"),
              Lines{"bad.rules.yml:3:19: bad duration \"soon\": expected a number at \"soon\""});
}

TEST(RuleFiles, BadDurations) {
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        for: 5 minutes\n"),
              Lines{"bad.rules.yml:6:14: bad duration \"5 minutes\": missing unit (one of ms, s, m, h, d, w, y)"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    interval: 0s\n"),
              Lines{"bad.rules.yml:3:15: the group interval must be greater than 0"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        keep_firing_for: [1m]\n"),
              Lines{"bad.rules.yml:6:26: expected a duration like 30s, got a sequence"});
}

TEST(RuleFiles, GroupProblems) {
    EXPECT_EQ(errors_of("groups:\n  - name: a\n  - name: b\n  - name: a\n"),
              Lines{"bad.rules.yml:4:11: duplicate group name \"a\" (first at line 2)"});
    EXPECT_EQ(errors_of("groups:\n  - interval: 1m\n"), Lines{"bad.rules.yml:2:5: a rule group needs a \"name\""});
    EXPECT_EQ(errors_of("groups:\n  name: a\n"), Lines{"bad.rules.yml:2:3: expected a list of rule groups, got a mapping"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    limit: many\n"), Lines{"bad.rules.yml:3:12: expected an integer, got \"many\""});
}

TEST(RuleFiles, RuleProblems) {
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - expr: up == 0\n"),
              Lines{"bad.rules.yml:4:9: a rule needs an \"alert\" or a \"record\" name"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - {alert: X, record: x, expr: up}\n"),
              Lines{"bad.rules.yml:4:9: a rule has either \"alert\" or \"record\", not both"});
    // A rule evaluates to alerts: its expression is an instant vector or a scalar.
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up[5m]\n"),
              Lines{"bad.rules.yml:5:15: bad expr: a rule's expression must be an instant vector or a scalar, not a range vector"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: '\"up\"'\n"),
              Lines{"bad.rules.yml:5:16: bad expr: a rule's expression must be an instant vector or a scalar, not a string"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: increase(up[1h]) > 3\n"), Lines{});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        labels:\n          1severity: x\n"),
              Lines{"bad.rules.yml:7:11: invalid label name \"1severity\" (letters, digits and _, not starting with a digit)"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        annotations: [a]\n"),
              Lines{"bad.rules.yml:6:22: expected a mapping of annotation names to templates, got a sequence"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: {a: b}\n"),
              Lines{"bad.rules.yml:5:15: expected a string, got a mapping"});
}

TEST(RuleFiles, YamlSyntax) {
    EXPECT_EQ(errors_of("groups:\n  - name: a\n   rules: x\n"),
              Lines{"bad.rules.yml:3:4: end of sequence not found"});
}

// Where parse_expr reports a problem, the file position follows: column of the scalar
// plus the offset on one line, the right line inside a literal block.
std::size_t expr_offset(std::string_view expr) {
    try {
        promql::parse_expr(expr);
    } catch (const promql::ExprError& e) {
        return e.offset();
    }
    ADD_FAILURE() << "promql::parse_expr accepted " << expr;
    return 0;
}

std::string expr_message(std::string_view expr) {
    try {
        promql::parse_expr(expr);
    } catch (const promql::ExprError& e) {
        return e.what();
    }
    return "";
}

TEST(RuleFiles, ExprErrorsPointIntoTheExpression) {
    const std::string bad = "sum(up) > frobnicate(up)";
    const std::string head = "groups:\n  - name: a\n    rules:\n      - alert: X\n";
    const auto col = [&](std::size_t base) { return std::to_string(base + expr_offset(bad)); };
    EXPECT_EQ(errors_of(head + "        expr: " + bad + "\n"),
              Lines{"bad.rules.yml:5:" + col(15) + ": bad expr: " + expr_message(bad)});
    EXPECT_EQ(errors_of(head + "        expr: \"" + bad + "\"\n"),
              Lines{"bad.rules.yml:5:" + col(16) + ": bad expr: " + expr_message(bad)});
    // In a literal block, the second line of the expression.
    const std::string two_lines = "sum(up)\n  > frobnicate(up)";
    std::size_t offset = expr_offset(two_lines);
    ASSERT_GT(offset, 8u);
    EXPECT_EQ(errors_of(head + "        expr: |\n          sum(up)\n            > frobnicate(up)\n"),
              Lines{"bad.rules.yml:7:" + std::to_string(11 + offset - 8) + ": bad expr: " + expr_message(two_lines)});
    // A folded scalar is not spelled as written: the error points at its start.
    EXPECT_EQ(errors_of(head + "        expr: >\n          sum(up)\n          > frobnicate(up)\n"),
              Lines{"bad.rules.yml:5:15: bad expr: " + expr_message("sum(up) > frobnicate(up)\n")});
}

TEST(RuleFiles, TemplateErrorsPointIntoTheTemplate) {
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        annotations:\n"
                        "          summary: 'at {{ $value | humanise }}'\n"),
              Lines{"bad.rules.yml:7:36: bad template in annotation \"summary\": unknown function \"humanise\" (supported: "
                    "humanize, humanize1024, humanizePercentage, humanizeDuration, printf, toUpper, toLower, title)"});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        labels:\n"
                        "          team: '{{ $labels.team'\n"),
              Lines{"bad.rules.yml:7:33: bad template in label \"team\": unclosed action: missing \"}}\""});
    EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        annotations:\n"
                        "          summary: '{{ if $value }}x{{ end }}'\n"),
              Lines{"bad.rules.yml:7:24: bad template in annotation \"summary\": \"if\" actions are not supported"});
}

TEST(RuleFiles, GoodFileLoads) {
    auto result = parse_rules(R"(groups:
  - name: workflows
    interval: 30s
    limit: 10
    rules:
      - alert: ErrorRate
        expr: cargo_workflow_error_ratio{window="1h"} > 0.1
        for: 5m
        keep_firing_for: 10m
        labels: {severity: warning, team: "{{ $labels.workflow_name }}"}
        annotations:
          summary: "{{ $value | humanizePercentage }}"
  - name: empty
)",
                              "good.yml");
    ASSERT_TRUE(std::holds_alternative<std::vector<RuleGroup>>(result));
    const auto& groups = std::get<std::vector<RuleGroup>>(result);
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].key(), "good.yml;workflows");
    EXPECT_EQ(groups[0].interval, std::chrono::seconds{30});
    EXPECT_EQ(groups[0].limit, 10);
    EXPECT_EQ(groups[1].interval, kDefaultEvaluationInterval);
    const auto& r = std::get<AlertingRule>(groups[0].rules.at(0));
    EXPECT_EQ(r.name, "ErrorRate");
    EXPECT_NE(r.expr, nullptr);
    EXPECT_EQ(r.for_duration, std::chrono::minutes{5});
    EXPECT_EQ(r.keep_firing_for, std::chrono::minutes{10});
    ASSERT_EQ(r.labels.size(), 2u);
    EXPECT_EQ(r.labels[1].first, "team");
    EXPECT_EQ(r.labels[1].second.expand({{"workflow_name", "w"}}, 0), "w");
}

TEST(RuleFiles, ShippedRulesLoadAndAreDocumented) {
    auto result = load_rule_files({CARGOMON_SHIPPED_RULES});
    if (auto* errors = std::get_if<std::vector<RuleError>>(&result)) {
        for (const auto& e : *errors) ADD_FAILURE() << e.to_string();
        return;
    }
    std::size_t rules = 0;
    for (const RuleGroup& g : std::get<std::vector<RuleGroup>>(result)) {
        for (const Rule& rule : g.rules) {
            const auto* alerting = std::get_if<AlertingRule>(&rule);
            if (!alerting) continue;  // recording rules have no labels or annotations to check
            const AlertingRule& r = *alerting;
            ++rules;
            auto has = [](const auto& list, std::string_view name) {
                return std::any_of(list.begin(), list.end(), [&](const auto& t) { return t.first == name; });
            };
            EXPECT_TRUE(has(r.labels, "severity")) << r.name;
            for (const char* a : {"summary", "description", "runbook_url"}) EXPECT_TRUE(has(r.annotations, a)) << r.name << " " << a;
        }
    }
    EXPECT_GE(rules, 9u);
}

TEST(RuleFiles, GlobsExpandSorted) {
    auto result = load_rule_globs({std::string(CARGOMON_SHIPPED_RULES).substr(0, std::string(CARGOMON_SHIPPED_RULES).rfind('/')) + "/*.yml",
                                   "/nonexistent/*.yml"});
    ASSERT_TRUE(std::holds_alternative<std::vector<RuleGroup>>(result));
    EXPECT_EQ(std::get<std::vector<RuleGroup>>(result).at(0).file, CARGOMON_SHIPPED_RULES);
}

}  // namespace
}  // namespace cargomon::alerts::rules
