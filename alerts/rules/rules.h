#pragma once
// Rule files in Prometheus' format (groups of alerting rules), loaded and validated whole
// with file:line:col errors like the config. Recording rules are outside the subset.
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

struct RuleGroup {
    std::string file;  // as given to the loader
    std::string name;
    Millis interval = kDefaultEvaluationInterval;
    long long limit = 0;  // 0: no limit on firing+pending alerts
    std::vector<AlertingRule> rules;

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
