#include "daemon/cli/preview.h"

#include <prometheus/registry.h>

#include <algorithm>
#include <iomanip>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include "alerts/promql/promql.h"
#include "alerts/rules/rule_manager.h"
#include "alerts/rules/rules.h"
#include "alerts/promql/store_source.h"
#include "collectors/catalog.h"
#include "collectors/factory.h"
#include "collectors/run_once.h"
#include "collectors/watermarks.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/log.h"
#include "config/config.h"
#include "daemon/cli/path_flags.h"
#include "metrics/text_format.h"
#include "metrics/labels.h"
#include "metrics/metric_store.h"

namespace cargomon::cli {
namespace {

constexpr const char* kUsage = R"(usage: cargomon rules preview [FILE...] [--config.file=FILE]

Runs once, against the live Cargo API, the collectors of the config whose metrics the
rules read (discovery always), evaluates the rule files (without FILE: the config's
rule_files) over what they collected and prints, per rule and resulting series, the
alert's labels, its value and whether it would fire now.

)";

struct Options {
    std::vector<std::string> rule_files;
    std::string config_file;
};

// --help prints and returns false.
bool parse_options(const std::vector<std::string>& args, Options& options, std::ostream& out) {
    auto app = make_app(kUsage, '=', 22);
    app->add_option("FILE", options.rule_files, "rule files");
    add_config_file_flag(*app, options.config_file);
    finish(*app);
    return parse(*app, args, out, UnknownFlag::whole);
}

// The metrics the rules read; nullopt when some selector names none (then every
// collector runs).
std::optional<std::set<std::string>> metrics_read(const std::vector<alerts::rules::RuleGroup>& groups) {
    std::set<std::string> names;
    for (const auto& group : groups)
        for (const auto& rule : group.rules) {
            auto selected = alerts::promql::selected_metric_names(alerts::rules::rule_expr(rule));
            if (!selected) return std::nullopt;
            names.insert(selected->begin(), selected->end());
        }
    return names;
}

// What the rules read: one snapshot of each collector they need. Collectors run in config
// order, discovery (always, first) before the ones that need its workflows.
struct Collected {
    metrics::MetricStore store;
    prometheus::Registry registry;  // the API client's and collectors' own metrics
    std::size_t collectors = 0;
    std::size_t failed = 0;
};

// Each collector once, as the daemon's scheduler runs it (collectors/run_once.h), built
// as the daemon builds them (collectors/factory.h).
void collect_once(const config::Config& config, const std::optional<std::set<std::string>>& needed,
                  Collected& collected, std::ostream& out) {
    SystemClock clock;
    collectors::WorkflowCatalog catalog;
    // Counter totals start from nothing: a preview must not advance the daemon's watermarks.
    collectors::WatermarkStore watermarks(":memory:");
    collectors::Collection collection =
        collectors::build_collection(config, catalog, &watermarks, collected.registry, clock);
    out << "Collected once from the Cargo API:\n";
    for (auto& [collector, schedule] : collection.collectors) {
        const auto names = collector->metric_names();
        if (collector->kind() != "discovery" && needed &&
            std::none_of(names.begin(), names.end(), [&](const std::string& n) { return needed->contains(n); })) {
            out << "  " << collector->name() << " (" << collector->kind() << "): skipped, no rule reads its metrics\n";
            continue;
        }
        ++collected.collectors;
        const collectors::RunOutcome outcome = collectors::run_once(
            *collector, collectors::start_run(clock, schedule.timeout), collected.store, clock);
        out << "  " << collector->name() << " (" << collector->kind() << "): ";
        if (outcome.status == collectors::RunOutcome::Status::published) {
            out << collected.store.series_count(collector->name()) << " series\n";
        } else {
            out << "FAILED, " << outcome.reason << ": " << outcome.message << " (rules over its metrics see no series)\n";
            ++collected.failed;
        }
    }
}

// metric{a="x", b="y"}, as a series is written in PromQL.
std::string series_text(const metrics::Labels& labels) {
    return std::string(metrics::label_value(labels, "__name__")) + metrics::labels_text(metrics::without_name(labels));
}

struct Tally {
    std::size_t firing = 0, pending = 0, silent = 0, failed = 0;
};

// A multi-line expr (a YAML block) indented as a whole, without its final newline.
std::string indented(const std::string& text) {
    std::string expr = text.substr(0, text.find_last_not_of(" \n") + 1);
    for (auto at = expr.find('\n'); at != std::string::npos; at = expr.find('\n', at + 3)) expr.insert(at + 1, "  ");
    return expr;
}

// The one collection holds no history: a rule reading back further than an instant
// selector's lookback sees less than the daemon's history gives it.
void note_history(const alerts::rules::Rule& rule, std::ostream& out) {
    const alerts::promql::Limits limits;
    if (alerts::promql::lookbehind_ms(alerts::rules::rule_expr(rule), limits) > limits.lookback_ms)
        out << "  (reads back in time: this preview has one collection and no history, the daemon's answer may differ)\n";
}

// A recording rule's output goes into the collected store, as the daemon's does, so the
// rules after it read it.
void preview_recording(const alerts::rules::RuleGroup& group, const alerts::rules::RecordingRule& rule, int ordinal,
                       Collected& collected, std::shared_ptr<const alerts::promql::StoreSource>& source,
                       std::ostream& out, Tally& tally) {
    out << "\n" << rule.name << "  (recording rule, group " << group.name << " in " << group.file << ")\n  "
        << indented(rule.expr_text) << "\n";
    note_history(rule, out);
    auto recorded = alerts::rules::recorded_series(
        rule, alerts::promql::evaluate_checked(*rule.expr, *source, source->at_ms()), group.limit, source->at_ms());
    if (const auto* error = std::get_if<std::string>(&recorded)) {
        out << "  evaluation failed: " << *error << ": would record nothing\n";
        ++tally.failed;
        return;
    }
    auto series = std::get<alerts::promql::Vector>(std::move(recorded));
    for (const auto& sample : series)
        out << "  " << series_text(sample.labels) << " = " << metrics::format_value(sample.value) << "\n";
    if (series.empty()) out << "  no series: would record nothing\n";
    collected.store.publish(alerts::rules::recording_collector(group, rule, ordinal),
                            alerts::rules::recorded_snapshot(std::move(series)), std::chrono::system_clock::now());
    source = std::make_shared<alerts::promql::StoreSource>(collected.store.view(), collected.registry.Collect(), source->at_ms());
}

void preview_rule(const alerts::rules::RuleGroup& group, const alerts::rules::AlertingRule& rule, const alerts::promql::StoreSource& source,
                  std::ostream& out, Tally& tally) {
    out << "\n" << rule.name << "  (group " << group.name << " in " << group.file << ", for "
        << format_duration(rule.for_duration) << ")\n  " << indented(rule.expr_text) << "\n";
    note_history(rule, out);
    alerts::promql::Evaluation result = alerts::promql::evaluate_checked(*rule.expr, source, source.at_ms());
    if (!result.error.empty()) {
        out << "  evaluation failed: " << result.error << ": would not fire\n";
        ++tally.failed;
        return;
    }
    alerts::promql::Vector samples = alerts::rules::result_vector(std::move(result));
    if (samples.empty()) {
        out << "  no series: would not fire\n";
        ++tally.silent;
        return;
    }
    const std::string verdict = rule.for_duration.count() == 0
                                    ? "would fire"
                                    : "pending, fires after " + format_duration(rule.for_duration) + " if it holds";
    // The alert's own labels (alertname and the rule's labels added), as notifications carry them.
    for (const auto& sample : samples)
        out << "  " << series_text(alerts::rules::alert_labels(rule, sample)) << " = " << metrics::format_value(sample.value)
            << ": " << verdict << "\n";
    ++(rule.for_duration.count() == 0 ? tally.firing : tally.pending);
}

int run(const Options& options, std::ostream& out, std::ostream& err) {
    auto loaded = config::load_config(options.config_file, config::Environment::process());
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded)) {
        for (const auto& e : *errors) err << e.to_string() << "\n";
        return 1;
    }
    const auto& config = std::get<config::Config>(loaded);
    auto rules = options.rule_files.empty() ? alerts::rules::load_rule_globs(config.rule_files)
                                            : alerts::rules::load_rule_files(options.rule_files);
    if (auto* errors = std::get_if<std::vector<alerts::rules::RuleError>>(&rules)) {
        for (const auto& e : *errors) err << e.to_string() << "\n";
        return 1;
    }
    const auto& groups = std::get<std::vector<alerts::rules::RuleGroup>>(rules);
    if (groups.empty()) {
        err << "cargomon: no rules to preview (no FILE given and the config's rule_files hold none)\n";
        return 1;
    }

    Collected collected;
    try {
        collect_once(config, metrics_read(groups), collected, out);
    } catch (const std::exception& e) {  // a client option or collector spec the daemon would refuse too
        err << "cargomon: " << e.what() << "\n";
        return 1;
    }
    if (collected.failed == collected.collectors) {
        err << "cargomon: every collector failed; is the Cargo API at " << config.api_url << " reachable?\n";
        return 1;
    }

    std::shared_ptr<const alerts::promql::StoreSource> source = std::make_shared<alerts::promql::StoreSource>(
        collected.store.view(), collected.registry.Collect(),
        std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()).time_since_epoch().count());
    Tally tally;
    std::size_t total = 0;
    for (const auto& group : groups) {
        std::map<std::string, int> ordinals;  // as the daemon numbers rules of one name
        for (const auto& rule : group.rules) {
            const int ordinal = ordinals[alerts::rules::rule_name(rule)]++;
            if (const auto* recording = std::get_if<alerts::rules::RecordingRule>(&rule))
                preview_recording(group, *recording, ordinal, collected, source, out, tally);
            else
                preview_rule(group, std::get<alerts::rules::AlertingRule>(rule), *source, out, tally);
            ++total;
        }
    }
    out << "\n"
        << total << " rules: " << tally.firing << " would fire now, " << tally.pending << " would be pending, "
        << tally.silent << " have no series" << (tally.failed ? ", " + std::to_string(tally.failed) + " failed" : "")
        << "\n";
    return 0;
}

}  // namespace

int rules_preview_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    Options options;
    try {
        if (!parse_options(args, options, out)) return 0;
    } catch (const UsageError& e) {
        return usage_error(err, "cargomon rules preview", e.what());
    }
    // Collectors log retries and fallbacks; their failures are in the report already.
    setup_logging("error", "logfmt", "cargomon");
    return run(options, out, err);
}

}  // namespace cargomon::cli
