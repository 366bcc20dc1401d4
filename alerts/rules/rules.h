#pragma once
// Rule files in Prometheus' format (groups of alerting and recording rules), loaded and
// validated whole with file:line:col errors like the config.
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "alerts/promql/promql.h"
#include "alerts/rules/template.h"
#include "common/duration.h"
#include "config/config.h"
#include "metrics/labels.h"

namespace cargomon::alerts::rules {

// Prometheus' global evaluation_interval default, for groups without `interval`.
inline constexpr Millis kDefaultEvaluationInterval{std::chrono::minutes{1}};

struct AlertingRule {
    std::string name;  // `alert:`, the alertname label
    std::string expr_text;
    std::shared_ptr<const promql::Expr> expr;
    Millis for_duration{0};
    Millis keep_firing_for{0};
    std::vector<std::pair<std::string, Template>> labels;  // sorted by name
    std::vector<std::pair<std::string, Template>> annotations;
};

// `record:`: the expression's series under a new name, with `labels` set (plain values:
// Prometheus does not expand templates in recording rules).
struct RecordingRule {
    std::string name;  // `record:`, the output's metric name
    std::string expr_text;
    std::shared_ptr<const promql::Expr> expr;
    metrics::Labels labels;  // sorted by name
};

using Rule = std::variant<AlertingRule, RecordingRule>;
const std::string& rule_name(const Rule& rule);
const promql::Expr& rule_expr(const Rule& rule);
const std::string& rule_expr_text(const Rule& rule);

struct RuleGroup {
    std::string file;  // as given to the loader
    std::string name;
    Millis interval = kDefaultEvaluationInterval;
    // Each rule's series (a recording rule's output) or alerts (firing+pending of an
    // alerting rule) at most this many, else the rule fails; 0: no limit.
    long long limit = 0;
    // The group's rules are evaluated this long before the evaluation time (Prometheus'
    // query_offset): for data that arrives late.
    Millis query_offset{0};
    std::vector<Rule> rules;  // evaluated in this order

    // "file;name", unique across files, like Prometheus' rule_group label.
    std::string key() const { return file + ";" + name; }
};

using RuleError = config::ConfigError;
using RulesResult = std::variant<std::vector<RuleGroup>, std::vector<RuleError>>;

// One rule file's text; `file_name` names it in errors and in RuleGroup::file.
RulesResult parse_rules(std::string_view yaml_text, std::string_view file_name,
                        Millis default_interval = kDefaultEvaluationInterval);
// Reads every file; all groups, or every error of every file.
RulesResult load_rule_files(const std::vector<std::string>& files, Millis default_interval = kDefaultEvaluationInterval);
// Config::rule_files: each glob expanded (sorted; a glob matching nothing is no error,
// as in Prometheus), then load_rule_files.
RulesResult load_rule_globs(const std::vector<std::string>& globs, Millis default_interval = kDefaultEvaluationInterval);

}  // namespace cargomon::alerts::rules
