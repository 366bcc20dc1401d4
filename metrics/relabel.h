#pragma once
// Prometheus' relabelling (its relabel_config): a list of steps, each reading the values
// of some labels joined by a separator and matching them against a fully anchored RE2
// regex, that rewrites a label set or drops it. cargomon applies it to the alerts it
// notifies (`alerting.alert_relabel_configs`, config/alerting.h); hashmod() is the one
// hash that assigns a value to one of M buckets as Prometheus' `hashmod` action does, so
// an operator's relabel config and cargomon agree on any such assignment.
//
// Semantics follow Prometheus 2.42's model/relabel: a label set to "" is removed; a
// replacement expands $1, ${1}, $name, ${name} and $$ as Go's Regexp.Expand does ($1x
// names the group "1x"); `replace` leaves the set as it is when the regex does not match
// or the expanded target is no label name. One difference: `labelmap` skips a label whose
// new name is not a label name (Prometheus would create it, and Alertmanager refuse the
// alert). Not supported: lowercase and uppercase.
//
// Thread-safety: a RelabelConfig made by make_relabel_config may be applied from any
// number of threads at once (RE2 matching is thread-safe).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <re2/re2.h>

#include "metrics/model.h"

namespace cargomon::metrics {

enum class RelabelAction { replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep };

// The action's name in a config file ("replace", ...), and the action a name gives.
std::string_view relabel_action_name(RelabelAction action);
std::optional<RelabelAction> relabel_action(std::string_view name);

// What make_relabel_config refuses, and the field at fault ("regex", "target_label",
// "modulus", "replacement", "source_labels"; "" for the config as a whole), so a config
// file's error can point at the key.
struct RelabelError {
    std::string field;
    std::string message;
};

struct RelabelConfig {
    RelabelAction action = RelabelAction::replace;
    std::vector<std::string> source_labels;
    std::string separator = ";";
    std::string regex = "(.*)";  // as written; matched anchored at both ends
    std::uint64_t modulus = 0;   // hashmod only, then above 0
    std::string target_label;
    std::string replacement = "$1";

    // Equal when written the same (the compiled regex follows from `regex`).
    bool operator==(const RelabelConfig& other) const {
        return action == other.action && source_labels == other.source_labels && separator == other.separator &&
               regex == other.regex && modulus == other.modulus && target_label == other.target_label &&
               replacement == other.replacement;
    }

    // ^(?:regex)$ with its capture groups; set by make_relabel_config, never by hand.
    std::shared_ptr<const re2::RE2> compiled;
};

// Compiles `config.regex` (bounded as metrics::compile_regex bounds every regex) and checks
// the fields against the action as Prometheus does: the config ready to apply, or what is
// wrong with it ("hashmod needs a modulus above 0", `bad regex "(": ...`).
std::variant<RelabelConfig, RelabelError> make_relabel_config(RelabelConfig config);

// Applies `configs` in order to `labels` (sorted, and left sorted). False: a keep, drop,
// keepequal or dropequal step dropped the set (`labels` then holds what the steps before
// it made). Every config must come from make_relabel_config.
bool relabel(Labels& labels, const std::vector<RelabelConfig>& configs);

// Go's Regexp.Expand of `tmpl` with the groups of a match of `re` (index 0 the whole
// match; an unmatched group has no data): $1, ${1}, $name, ${name}; $$ is a dollar; a
// malformed $ stays as it is; a name is as long as it can be ($1x is ${1x}), a number
// with a leading zero is a name, and a group that does not exist expands to nothing.
// Relabelling and PromQL's label_replace() share it.
std::string expand_template(std::string_view tmpl, const re2::RE2& re, const std::vector<re2::StringPiece>& groups);

// Prometheus' hashmod: the MD5 of `value`, its last 8 bytes read as a big-endian unsigned
// integer, modulo `modulus` (which must be above 0).
std::uint64_t hashmod(std::string_view value, std::uint64_t modulus);

}  // namespace cargomon::metrics
