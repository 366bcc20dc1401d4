#pragma once
// The `actions:` section of the config file: automatic actions the daemon may take on
// what it sees, off unless the section has rules. Today one action exists,
// rerun_failed_records (docs/actions.md): re-run the runs of a finished batch that failed
// with an error the rule calls transient, at most once per batch, within daily budgets.
// Read with the rest of the file (config/loader.cpp), so errors are positioned and a bad
// section on reload keeps the running config. Regexes are checked to compile (RE2,
// metrics::compile_regex's bounds); the engine (actions/) compiles them again.
#include <optional>
#include <string>
#include <vector>

#include "common/duration.h"
#include "metrics/labels.h"

namespace cargomon::config {

// enabled: act; dry_run: decide, log, count and list what it would do, create nothing.
enum class ActionMode { enabled, dry_run };

struct ActionRule {
    std::string name;                        // unique; in logs, metrics' rows and the API
    std::optional<ActionMode> mode;          // unset: the section's
    std::vector<metrics::Matcher> matchers;  // on workflow_uuid and workflow_name; all must match
    std::vector<std::string> transient_errors;  // RE2, unanchored, on a failed run's error message
    int max_records_per_rerun = 500;            // more transient failures: the batch is skipped
    int max_reruns_per_day_per_workflow = 3;    // UTC day
    double max_credits_per_day = 1000;          // estimated, UTC day, over the rule's workflows
    // The estimate's floor per re-run run: a batch whose counts say nothing (no credits
    // used, no runs) or next to nothing cannot make the credit budget free.
    double min_credits_per_run = 1;
    std::string reset = "firstNode";            // firstNode, lastNode or nextNode
    bool operator==(const ActionRule&) const = default;
};

struct ActionsConfig {
    ActionMode mode = ActionMode::dry_run;  // a section without `mode:` only says what it would do
    Millis interval{std::chrono::minutes{1}};
    Millis lookback{std::chrono::hours{1}};  // batches finished longer ago are left alone
    // How long a create whose answer never came may take to show in the batches' list
    // before it is taken as not created (docs/actions.md, "uncertain").
    Millis reconcile_after{std::chrono::minutes{2}};
    std::vector<ActionRule> rules;           // first match wins; none: no action is ever taken

    ActionMode mode_of(const ActionRule& rule) const { return rule.mode.value_or(mode); }
    bool operator==(const ActionsConfig&) const = default;
};

std::string_view mode_name(ActionMode mode);

}  // namespace cargomon::config
