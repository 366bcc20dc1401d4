#include "alerts/rules/rules.h"

#include <glob.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "config/yaml_reader.h"
#include "metrics/labels.h"
#include "metrics/names.h"

namespace cargomon::alerts::rules {
namespace {

using config::describe;
using config::quote;
using config::YamlReader;

const std::vector<std::string_view> kFileKeys{"groups"};
const std::vector<std::string_view> kGroupKeys{"name", "interval", "query_offset", "limit", "rules"};
const std::vector<std::string_view> kRuleKeys{"alert", "expr", "for", "keep_firing_for", "labels", "annotations", "record"};

class RuleFileParser {
public:
    RuleFileParser(std::string_view text, std::string_view file, Millis default_interval)
        : text_(text), file_(file), default_interval_(default_interval), reader_(std::string(file), env_) {
        std::size_t start = 0;
        for (std::size_t nl; (nl = text.find('\n', start)) != std::string_view::npos; start = nl + 1)
            lines_.push_back(text.substr(start, nl - start));
        lines_.push_back(text.substr(start));
    }

    RulesResult parse() {
        YAML::Node root;
        try {
            root = YAML::Load(std::string(text_));
        } catch (const YAML::ParserException& e) {
            reader_.error(e.mark, e.msg);
            return reader_.take_errors();
        }
        std::vector<RuleGroup> groups;
        if (!root.IsNull() && reader_.check_map(root, kFileKeys, "at the top of a rule file")) {
            if (auto list = root["groups"]) {
                if (auto items = reader_.sequence(list, "a list of rule groups"))
                    for (const YAML::Node& item : *items) groups.push_back(group(item));
            }
        }
        if (reader_.error_count() > 0) return reader_.take_errors();
        return groups;
    }

private:
    RuleGroup group(const YAML::Node& node) {
        RuleGroup g{.file = std::string(file_), .interval = default_interval_};
        if (!reader_.check_map(node, kGroupKeys, "in a rule group")) return g;
        if (auto name = node["name"]) {
            if (auto text = reader_.non_empty_string(name, "the group name")) {
                g.name = *text;
                if (auto [first, inserted] = group_lines_.emplace(g.name, name.Mark().line + 1); !inserted)
                    reader_.error(name, "duplicate group name " + quote(g.name) + " (first at line " +
                                            std::to_string(first->second) + ")");
            }
        } else {
            reader_.error(node, "a rule group needs a \"name\"");
        }
        if (auto interval = node["interval"])
            if (auto d = reader_.positive_duration(interval, "the group interval")) g.interval = *d;
        if (auto offset = node["query_offset"])
            if (auto d = reader_.duration(offset)) g.query_offset = *d;
        if (auto limit = node["limit"])
            if (auto n = reader_.integer_in(limit, "limit", 0, 1'000'000'000)) g.limit = *n;
        if (auto rules = node["rules"]) {
            if (auto items = reader_.sequence(rules, "a list of rules"))
                for (const YAML::Node& item : *items)
                    if (auto r = rule(item)) g.rules.push_back(std::move(*r));
        }
        return g;
    }

    std::optional<Rule> rule(const YAML::Node& node) {
        if (!reader_.check_map(node, kRuleKeys, "in a rule")) return std::nullopt;
        auto record = node["record"];
        auto alert = node["alert"];
        auto [expr_text, expr] = expression(node);
        if (record && alert) {
            reader_.error(node, "a rule has either \"alert\" or \"record\", not both");
            return std::nullopt;
        }
        if (!record && !alert) {
            reader_.error(node, "a rule needs an \"alert\" or a \"record\" name");
            return std::nullopt;
        }
        if (record) {
            RecordingRule r{.expr_text = std::move(expr_text), .expr = std::move(expr)};
            if (auto name = reader_.non_empty_string(record, "the recorded metric name")) {
                if (metrics::is_valid_metric_name(*name))
                    r.name = *name;
                else
                    reader_.error(record, "invalid recording rule name " + quote(*name) +
                                              " (a metric name: letters, digits, _ and :, not starting with a digit)");
            }
            // As Prometheus refuses them: a recording rule makes series, not alerts.
            for (std::string_view key : {"for", "keep_firing_for", "annotations"})
                if (auto field = node[std::string(key)])
                    reader_.error(field, "invalid field " + quote(key) + " in recording rule");
            if (auto labels = node["labels"]) r.labels = plain_labels(labels);
            return r;
        }
        AlertingRule r{.expr_text = std::move(expr_text), .expr = std::move(expr)};
        if (auto name = reader_.non_empty_string(alert, "the alert name")) r.name = *name;
        if (auto d = node["for"])
            if (auto value = reader_.duration(d)) r.for_duration = *value;
        if (auto d = node["keep_firing_for"])
            if (auto value = reader_.duration(d)) r.keep_firing_for = *value;
        if (auto labels = node["labels"]) r.labels = templates(labels, "label");
        if (auto annotations = node["annotations"]) r.annotations = templates(annotations, "annotation");
        return r;
    }

    std::pair<std::string, std::shared_ptr<const promql::Expr>> expression(const YAML::Node& node) {
        auto expr = node["expr"];
        if (!expr) {
            reader_.error(node, "a rule needs an \"expr\"");
            return {};
        }
        auto text = raw_string(expr);
        if (!text) return {};
        try {
            auto parsed = promql::parse_expr(*text);
            // As Prometheus' rule evaluation requires ("rule result is not a vector or scalar").
            auto type = promql::expr_type(*parsed);
            if (type != promql::ValueType::vector && type != promql::ValueType::scalar)
                throw promql::ExprError(0, "a rule's expression must be an instant vector or a scalar, not a " +
                                               std::string(promql::type_name(type)));
            return {*text, std::move(parsed)};
        } catch (const promql::ExprError& e) {
            error_in_scalar(expr, e.offset(), std::string("bad expr: ") + e.what());
        }
        return {*text, nullptr};
    }

    metrics::Labels plain_labels(const YAML::Node& node) {
        metrics::Labels out;
        if (!node.IsMap()) {
            reader_.error(node, "expected a mapping of label names to values, got " + describe(node));
            return out;
        }
        for (const auto& entry : node) {
            const YAML::Node& key = entry.first;
            if (!key.IsScalar() || !metrics::is_valid_label_name(key.Scalar())) {
                reader_.error(key, "invalid label name " + describe(key) +
                                       " (letters, digits and _, not starting with a digit or __)");
                continue;
            }
            if (metrics::find_label(out, key.Scalar())) {
                reader_.error(key, "duplicate label " + quote(key.Scalar()));
                continue;
            }
            if (auto value = raw_string(entry.second)) out.emplace_back(key.Scalar(), *value);
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    std::vector<std::pair<std::string, Template>> templates(const YAML::Node& node, std::string_view what) {
        std::vector<std::pair<std::string, Template>> out;
        if (!node.IsMap()) {
            reader_.error(node, "expected a mapping of " + std::string(what) + " names to templates, got " + describe(node));
            return out;
        }
        for (const auto& entry : node) {
            const YAML::Node& key = entry.first;
            if (!key.IsScalar() || !metrics::is_label_name(key.Scalar())) {
                reader_.error(key, "invalid " + std::string(what) + " name " + describe(key) +
                                       " (letters, digits and _, not starting with a digit)");
                continue;
            }
            const std::string& name = key.Scalar();
            if (std::any_of(out.begin(), out.end(), [&](const auto& t) { return t.first == name; })) {
                reader_.error(key, "duplicate " + std::string(what) + " " + quote(name));
                continue;
            }
            auto text = raw_string(entry.second);
            if (!text) continue;
            try {
                out.emplace_back(name, Template::parse(*text));
            } catch (const TemplateError& e) {
                error_in_scalar(entry.second, e.offset(),
                                "bad template in " + std::string(what) + " " + quote(name) + ": " + e.what());
            }
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        return out;
    }

    // Rule texts are taken as written: Prometheus expands no ${ENV} in rule files.
    std::optional<std::string> raw_string(const YAML::Node& node) {
        if (!node.IsScalar()) {
            reader_.error(node, "expected a string, got " + describe(node));
            return std::nullopt;
        }
        return node.Scalar();
    }

    // Reports at byte `offset` of the scalar's value where the file spells the value out
    // unchanged up to there (plain, quoted without escapes, literal block "|"); at the
    // scalar's start otherwise (folded or escaped text).
    void error_in_scalar(const YAML::Node& node, std::size_t offset, std::string message) {
        YAML::Mark at = node.Mark();
        const std::string& value = node.Scalar();
        offset = std::min(offset, value.size());
        if (at.line >= 0 && static_cast<std::size_t>(at.line) < lines_.size()) {
            std::string_view line = lines_[static_cast<std::size_t>(at.line)];
            auto column = static_cast<std::size_t>(at.column);
            char style = column < line.size() ? line[column] : ' ';
            std::string_view before = std::string_view(value).substr(0, offset);
            if (style == '|') {
                std::size_t row = static_cast<std::size_t>(at.line) + 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
                std::size_t line_start = before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1;
                if (row < lines_.size()) {
                    std::string_view source = lines_[row];
                    // The block's indentation is its first line's; later lines may be indented more.
                    std::size_t indent = lines_[static_cast<std::size_t>(at.line) + 1].find_first_not_of(' ');
                    std::string_view written = std::string_view(value).substr(line_start, offset - line_start);
                    if (indent != std::string_view::npos && source.substr(indent, written.size()) == written) {
                        at.line = static_cast<int>(row);
                        at.column = static_cast<int>(indent + written.size());
                    }
                }
            } else {
                std::size_t start = column + (style == '"' || style == '\'' ? 1 : 0);
                if (before.find('\n') == std::string_view::npos && line.substr(start, offset) == before)
                    at.column = static_cast<int>(start + offset);
            }
        }
        reader_.error(at, std::move(message));
    }

    std::string_view text_;
    std::string_view file_;
    Millis default_interval_;
    config::Environment env_;  // empty: durations and numbers carry no ${ENV}
    YamlReader reader_;
    std::vector<std::string_view> lines_;
    std::map<std::string, int> group_lines_;  // group name -> line of its first definition
};

}  // namespace

const std::string& rule_name(const Rule& rule) {
    return std::visit([](const auto& r) -> const std::string& { return r.name; }, rule);
}
const promql::Expr& rule_expr(const Rule& rule) {
    return std::visit([](const auto& r) -> const promql::Expr& { return *r.expr; }, rule);
}
const std::string& rule_expr_text(const Rule& rule) {
    return std::visit([](const auto& r) -> const std::string& { return r.expr_text; }, rule);
}

RulesResult parse_rules(std::string_view yaml_text, std::string_view file_name, Millis default_interval) {
    RulesResult result = RuleFileParser(yaml_text, file_name, default_interval).parse();
    // The parser checks a mapping's keys before its values, so its errors come out of
    // order; they are reported in file order, like the config's.
    if (auto* errors = std::get_if<std::vector<RuleError>>(&result))
        std::stable_sort(errors->begin(), errors->end(), [](const RuleError& a, const RuleError& b) {
            return std::pair(a.line, a.column) < std::pair(b.line, b.column);
        });
    return result;
}

RulesResult load_rule_files(const std::vector<std::string>& files, Millis default_interval) {
    std::vector<RuleGroup> groups;
    std::vector<RuleError> errors;
    for (const std::string& file : files) {
        std::ifstream in(file, std::ios::binary);
        std::stringstream text;
        if (in) text << in.rdbuf();
        if (!in || in.bad()) {
            errors.push_back({file, 0, 0, std::string("cannot read: ") + std::strerror(errno)});
            continue;
        }
        auto result = parse_rules(text.str(), file, default_interval);
        if (auto* bad = std::get_if<std::vector<RuleError>>(&result)) {
            errors.insert(errors.end(), bad->begin(), bad->end());
        } else {
            auto& good = std::get<std::vector<RuleGroup>>(result);
            std::move(good.begin(), good.end(), std::back_inserter(groups));
        }
    }
    if (!errors.empty()) return errors;
    return groups;
}

RulesResult load_rule_globs(const std::vector<std::string>& globs, Millis default_interval) {
    std::vector<std::string> files;
    for (const std::string& pattern : globs) {
        glob_t found{};
        int rc = ::glob(pattern.c_str(), 0, nullptr, &found);
        if (rc == 0)
            for (std::size_t i = 0; i < found.gl_pathc; ++i) files.emplace_back(found.gl_pathv[i]);
        globfree(&found);
        if (rc != 0 && rc != GLOB_NOMATCH)
            return std::vector<RuleError>{{pattern, 0, 0, "cannot expand the rule file glob"}};
    }
    return load_rule_files(files, default_interval);
}

}  // namespace cargomon::alerts::rules
