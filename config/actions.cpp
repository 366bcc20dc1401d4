// Reads the `actions:` section through the config file's own YamlReader (positioned
// errors, ${ENV}, unknown keys with suggestions).
#include "config/actions.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "config/config.h"
#include "config/detail/sections.h"
#include "config/yaml_reader.h"

namespace cargomon::config {
namespace {

const Keys kActionsKeys{"mode", "interval", "lookback", "reconcile_after", "rules"};
const Keys kActionRuleKeys{"name",
                           "action",
                           "mode",
                           "matchers",
                           "transient_errors",
                           "max_records_per_rerun",
                           "max_reruns_per_day_per_workflow",
                           "max_credits_per_day",
                           "min_credits_per_run",
                           "reset"};
const std::vector<std::string_view> kModes{"enabled", "dry_run"};
// Labels an action rule may match on: what the daemon knows of a batch's workflow.
const std::set<std::string> kMatchLabels{"workflow_uuid", "workflow_name"};
// The API's own cap on the runs one request may name (tooManyRuns past it).
constexpr long long kMaxRecords = 10'000;
// Transient-error patterns per rule: each one runs over every failed run's message.
constexpr std::size_t kMaxPatterns = 64;
// Messages no two of which a pattern for some particular error would all match: one that
// matches each of them (`.`, `\S|\s`) matches about every message there is.
const std::vector<std::string> kProbes{"a", "Z", "7", "-", " "};

// Why `re` would call about every failure transient, or "".
std::string matches_everything(const re2::RE2& re) {
    if (re2::RE2::PartialMatch("", re)) return "it matches the empty message, so it matches every message";
    for (const auto& probe : kProbes)
        if (!re2::RE2::PartialMatch(probe, re)) return "";
    return "it matches any one character, so it matches every message";
}

class ActionsReader {
public:
    explicit ActionsReader(YamlReader& reader) : r_(reader) {}

    ActionsConfig read(const YAML::Node& node) {
        ActionsConfig config;
        if (!r_.check_map(node, kActionsKeys, "in actions")) return config;
        if (auto n = node["mode"])
            if (auto i = r_.choice(n, kModes)) config.mode = static_cast<ActionMode>(*i);
        if (auto n = node["interval"]) config.interval = r_.positive_duration(n, "interval").value_or(config.interval);
        if (auto n = node["lookback"]) config.lookback = r_.positive_duration(n, "lookback").value_or(config.lookback);
        if (auto n = node["reconcile_after"])
            config.reconcile_after = r_.positive_duration(n, "reconcile_after").value_or(config.reconcile_after);
        if (auto n = node["rules"]) {
            std::set<std::string> names;
            if (auto items = r_.sequence(n, "a list of action rules"))
                for (const YAML::Node& item : *items) {
                    auto rule = read_rule(item);
                    if (!rule) continue;
                    if (!names.insert(rule->name).second)
                        r_.error(item["name"], "duplicate action rule name " + quote(rule->name));
                    config.rules.push_back(std::move(*rule));
                }
        }
        return config;
    }

private:
    std::optional<ActionRule> read_rule(const YAML::Node& node) {
        if (!r_.check_map(node, kActionRuleKeys, "in an action rule")) return std::nullopt;
        ActionRule rule;
        if (auto n = node["name"]) rule.name = r_.non_empty_string(n, "name").value_or("");
        else r_.error(node, "an action rule needs a name");
        if (auto n = node["action"]) {
            r_.choice(n, {"rerun_failed_records"});
        } else {
            r_.error(node, "an action rule needs an action (rerun_failed_records)");
        }
        if (auto n = node["mode"])
            if (auto i = r_.choice(n, kModes)) rule.mode = static_cast<ActionMode>(*i);
        if (auto n = node["matchers"]) {
            rule.matchers = r_.matchers(n);
            // No matcher matches every workflow: a rule acts only on those it names.
            if (n.IsSequence() && n.size() == 0)
                r_.error(n, "matchers must name at least one matcher (on workflow_uuid or workflow_name): an empty "
                            "list would act on every workflow");
            for (std::size_t i = 0; i < rule.matchers.size(); ++i)
                if (!kMatchLabels.count(rule.matchers[i].name()))
                    r_.error(n, "an action rule matches on workflow_uuid or workflow_name, not " +
                                       quote(rule.matchers[i].name()));
        } else {
            r_.error(node, "an action rule needs matchers (on workflow_uuid or workflow_name): it acts only on "
                           "the workflows it names");
        }
        if (auto n = node["transient_errors"]) read_patterns(n, rule);
        else r_.error(node, "an action rule needs transient_errors: the error messages worth a re-run");
        if (auto n = node["max_records_per_rerun"])
            rule.max_records_per_rerun = static_cast<int>(
                r_.integer_in(n, "max_records_per_rerun", 1, kMaxRecords).value_or(rule.max_records_per_rerun));
        if (auto n = node["max_reruns_per_day_per_workflow"])
            rule.max_reruns_per_day_per_workflow =
                static_cast<int>(r_.integer_in(n, "max_reruns_per_day_per_workflow", 1, 1000)
                                     .value_or(rule.max_reruns_per_day_per_workflow));
        if (auto n = node["max_credits_per_day"]) {
            if (auto v = r_.number(n)) {
                if (*v >= 0 && *v < 1e12) rule.max_credits_per_day = *v;
                else r_.error(n, "max_credits_per_day must be between 0 and 1e12");
            }
        }
        if (auto n = node["min_credits_per_run"]) {
            if (auto v = r_.number(n)) {
                if (*v > 0 && *v < 1e9) rule.min_credits_per_run = *v;
                else r_.error(n, "min_credits_per_run must be greater than 0 and less than 1e9");
            }
        }
        if (auto n = node["reset"]) {
            const std::vector<std::string_view> from{"firstNode", "lastNode", "nextNode"};
            if (auto i = r_.choice(n, from)) rule.reset = std::string(from[*i]);
        }
        return rule;
    }

    void read_patterns(const YAML::Node& node, ActionRule& rule) {
        auto items = r_.sequence(node, "a list of regexes");
        if (!items) return;
        if (items->empty()) return r_.error(node, "transient_errors must name at least one error message pattern");
        if (items->size() > kMaxPatterns)
            return r_.error(node, "transient_errors has " + std::to_string(items->size()) + " patterns; at most " +
                                      std::to_string(kMaxPatterns));
        for (const YAML::Node& item : *items) {
            auto text = r_.string(item);
            if (!text) continue;
            if (text->empty()) {
                r_.error(item, "an empty pattern would call every error transient");
                continue;
            }
            auto compiled = metrics::compile_regex(*text);
            if (auto* why = std::get_if<std::string>(&compiled)) {
                r_.error(item, *why);
            } else if (std::string why = matches_everything(**std::get_if<std::shared_ptr<const re2::RE2>>(&compiled));
                       !why.empty()) {
                r_.error(item, "transient error pattern " + quote(*text) + " would call every failure transient: " + why);
            } else {
                rule.transient_errors.push_back(std::move(*text));
            }
        }
    }

    YamlReader& r_;
};

}  // namespace

std::string_view mode_name(ActionMode mode) { return mode == ActionMode::enabled ? "enabled" : "dry_run"; }

namespace detail {
ActionsConfig read_actions(YamlReader& reader, const YAML::Node& node) { return ActionsReader(reader).read(node); }

std::vector<KnownKeys> actions_known_keys() { return {{"actions", kActionsKeys}, {"actions.rules[]", kActionRuleKeys}}; }
}  // namespace detail

}  // namespace cargomon::config
