#include "actions/engine.h"

#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <sstream>

#include "actions/failures.h"
#include "actions/rerun.h"
#include "cargo/errors.h"
#include "collectors/grouped_sql.h"
#include "collectors/series.h"
#include "common/text.h"
#include "metrics/self_metrics.h"

namespace cargomon::actions {
namespace {

constexpr const char* kAction = "rerun_failed_records";
// Candidates one cycle looks at (the newest finished in the lookback); the rest wait for
// the next cycle, oldest first.
constexpr int kMaxCandidates = 1000;
constexpr const char* kWhat = "actions' batches query";

std::string number_text(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

void log_decision(const Action& a) {
    auto line = fmt::format("action {} {}: rule={} mode={} batch={} workflow={} ({}) records={} estimated_credits={}",
                            a.action, a.result, a.rule, a.mode, a.batch_uuid, a.workflow_uuid,
                            printable(a.workflow_name), a.records, number_text(a.estimated_credits));
    if (!a.created_batch_uuid.empty()) line += " created_batch=" + a.created_batch_uuid;
    if (!a.reason.empty()) line += " reason=\"" + a.reason + "\"";
    // Refused, failed: someone should look.
    const bool trouble = a.state == "failed";
    spdlog::log(trouble ? spdlog::level::err : spdlog::level::info, "{}", line);
}

}  // namespace

prometheus::Counter& actions_counter(prometheus::Registry& registry, const std::string& action,
                                     const std::string& result) {
    return metrics::counter_family(registry, "cargomon_actions_total",
                                   "Automatic actions decided, by action and result (docs/actions.md).")
        .Add({{"action", action}, {"result", result}});
}

void recover_interrupted(ActionStore& store, prometheus::Registry& registry, SystemTime now) {
    for (const Action& a : store.interrupt_pending(now)) {
        spdlog::error("ACTION INTERRUPTED: {} of batch {} (workflow {}, rule {}) was recorded but cargomon stopped "
                      "before the API answered; the batch may or may not have been created. It is not retried: "
                      "check the workflow's batches",
                      a.action, a.batch_uuid, a.workflow_uuid, a.rule);
        actions_counter(registry, a.action, "interrupted").Increment();
    }
}

struct Engine::Candidate {
    cargo::Batch batch;
    std::string workflow_name;
};

namespace {

// Per rule, its compiled transient patterns (config validation compiled them once already).
std::vector<std::shared_ptr<const re2::RE2>> compile_all(const std::vector<std::string>& patterns) {
    std::vector<std::shared_ptr<const re2::RE2>> out;
    for (const auto& p : patterns) {
        auto compiled = metrics::compile_regex(p);
        if (auto* re = std::get_if<std::shared_ptr<const re2::RE2>>(&compiled)) out.push_back(*re);
    }
    return out;
}

bool transient(const std::vector<std::shared_ptr<const re2::RE2>>& patterns, const std::optional<std::string>& message) {
    if (!message) return false;
    for (const auto& re : patterns)
        if (re2::RE2::PartialMatch(*message, *re)) return true;
    return false;
}

}  // namespace

Engine::Engine(const config::Config& config, const collectors::WorkflowCatalog& catalog, ActionStore& store,
               prometheus::Registry& registry, const Clock& clock, std::shared_ptr<cargo::Pacer> pacer)
    : config_(config.actions),
      catalog_(catalog),
      store_(store),
      registry_(registry),
      clock_(clock),
      connection_(collectors::make_connection(config, registry, clock, std::move(pacer))),
      last_cycle_(metrics::gauge_family(registry, "cargomon_actions_last_cycle_timestamp_seconds",
                                        "When the automatic actions last looked at every candidate batch.")
                      .Add({})) {
    for (const auto& rule : config_.rules) patterns_.push_back(compile_all(rule.transient_errors));
}

Engine::~Engine() { stop(); }

void Engine::start() {
    if (config_.rules.empty()) return;
    thread_ = std::jthread([this](std::stop_token stop) {
        std::mutex mu;
        std::condition_variable_any wake;
        while (!stop.stop_requested()) {
            try {
                run_cycle();
            } catch (const std::exception& e) {
                // The next cycle tries again: nothing was decided for what this one missed.
                spdlog::warn("actions: cycle failed: {}", e.what());
            }
            std::unique_lock lock(mu);
            wake.wait_for(lock, stop, config_.interval, [] { return false; });
        }
    });
}

void Engine::stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    connection_.sleeper->interrupt();
    thread_.join();
}

void Engine::run_cycle() {
    auto workflows = catalog_.get();
    if (!workflows) return;  // before the first discovery nothing is known of names
    decide_candidates(*workflows);
    last_cycle_.Set(std::chrono::duration<double>(clock_.now().time_since_epoch()).count());
}

void Engine::decide_candidates(const collectors::Workflows& workflows) {
    // workflow uuid -> its name and the first rule matching it
    std::map<std::string, std::pair<std::string, const config::ActionRule*>> matched;
    for (const auto& w : workflows.covered) {
        const metrics::Labels labels{{"workflow_name", w.name}, {"workflow_uuid", w.uuid}};
        for (const auto& rule : config_.rules)
            if (metrics::matches_all(rule.matchers, labels)) {
                matched.emplace(w.uuid, std::make_pair(w.name, &rule));
                break;
            }
    }
    if (matched.empty()) return;
    std::string in;
    for (const auto& [uuid, _] : matched) in += (in.empty() ? "" : ", ") + collectors::sql_string(uuid);
    const SystemTime since = clock_.now() - config_.lookback;
    // Only `success` batches: an `error` one ran nothing, a cancelled one was stopped by someone.
    const cargo::QueryResult result = connection_.client->query(
        "SELECT uuid, workflow_uuid, runs_count, failed_runs_count, credits_used_count, "
        "toUnixTimestamp(finished_at) AS finished_unix FROM batches WHERE status = 'success' AND "
        "failed_runs_count > 0 AND finished_at >= " +
        collectors::sql_datetime(since) + " AND workflow_uuid IN (" + in +
        ") ORDER BY finished_at DESC, uuid DESC LIMIT " + std::to_string(kMaxCandidates));
    std::vector<Candidate> candidates;
    for (std::size_t r = 0; r < result.row_count(); ++r) {
        auto text = [&](const char* column) { return collectors::cell_text(result, r, column, kWhat); };
        auto number = [&](const char* column) { return collectors::cell_number(result, r, column, kWhat); };
        cargo::Batch b{.uuid = text("uuid"),
                       .workflow_uuid = text("workflow_uuid"),
                       .status = "success",
                       .runs_count = static_cast<std::int64_t>(number("runs_count")),
                       .failed_runs_count = static_cast<std::int64_t>(number("failed_runs_count")),
                       .credits_used_count = number("credits_used_count"),
                       .finished_at = SystemTime{std::chrono::seconds{static_cast<std::int64_t>(number("finished_unix"))}}};
        auto it = matched.find(b.workflow_uuid);
        if (it == matched.end()) continue;
        candidates.push_back({std::move(b), it->second.first});
    }
    std::reverse(candidates.begin(), candidates.end());  // oldest first: budgets go to batches in order
    for (const auto& c : candidates) {
        const config::ActionRule& rule = *matched.at(c.batch.workflow_uuid).second;
        if (store_.decided(c.batch.uuid, std::string(config::mode_name(config_.mode_of(rule))))) continue;
        // A re-run cargomon made is never re-run in its turn: no chain of re-runs.
        if (store_.created_by_us(c.batch.uuid)) continue;
        try {
            decide(rule, c);
        } catch (const std::exception& e) {
            // Nothing was recorded for it (reading its failed runs failed): the next cycle
            // tries again, and one batch the API cannot answer for holds back no other.
            spdlog::warn("actions: batch {} not decided this cycle: {}", c.batch.uuid, e.what());
        }
    }
}

void Engine::decide(const config::ActionRule& rule, const Candidate& c) {
    const auto& patterns = patterns_[static_cast<std::size_t>(&rule - config_.rules.data())];
    const auto& b = c.batch;
    const config::ActionMode mode = config_.mode_of(rule);
    const SystemTime now = clock_.now();
    Action a{.batch_uuid = b.uuid,
             .workflow_uuid = b.workflow_uuid,
             .workflow_name = printable(c.workflow_name),
             .rule = rule.name,
             .action = kAction,
             .mode = std::string(config::mode_name(mode)),
             .decided_at = now,
             .updated_at = now};

    // Reading stops once more runs are transient than one re-run may take: the batch is
    // skipped then, however many more there are.
    std::vector<std::string> run_uuids;
    std::size_t read = 0;
    std::optional<std::string> first_other;
    read_failed_runs(*connection_.client, b, kMaxFailedRuns, [&](const std::vector<FailedRun>& runs) {
        for (; read < runs.size(); ++read) {
            if (transient(patterns, runs[read].message)) run_uuids.push_back(runs[read].uuid);
            else if (!first_other) first_other = runs[read].message.value_or("(no message)");
        }
        return run_uuids.size() > static_cast<std::size_t>(rule.max_records_per_rerun);
    });
    const double per_run = b.runs_count > 0 ? b.credits_used_count / static_cast<double>(b.runs_count) : 0;
    a.records = static_cast<std::int64_t>(run_uuids.size());
    a.estimated_credits = per_run * static_cast<double>(run_uuids.size());

    auto record_skip = [&](std::string result, std::string reason) {
        a.state = "skipped";
        a.result = std::move(result);
        a.reason = std::move(reason);
        a = store_.decide(a, now, [](const ActionStore::Spent&) { return std::string(); });
        actions_counter(registry_, a.action, a.result).Increment();
        log_decision(a);
    };
    if (run_uuids.empty())
        return record_skip("skipped_non_transient",
                           "none of its " + std::to_string(read) + " failed runs failed with a transient error (e.g. \"" +
                               printable(first_other.value_or("")) + "\")");
    if (run_uuids.size() > static_cast<std::size_t>(rule.max_records_per_rerun))
        return record_skip("skipped_budget", "more than max_records_per_rerun (" +
                                                 std::to_string(rule.max_records_per_rerun) +
                                                 ") runs failed with a transient error");

    a.state = mode == config::ActionMode::enabled ? "pending" : "dry_run";
    a.result = a.state;
    const SystemTime day = std::chrono::floor<std::chrono::days>(now);
    a = store_.decide(a, day, [&](const ActionStore::Spent& spent) -> std::string {
        if (spent.reruns >= rule.max_reruns_per_day_per_workflow)
            return "the workflow had " + std::to_string(spent.reruns) + " re-runs today (UTC), max_reruns_per_day_per_workflow " +
                   std::to_string(rule.max_reruns_per_day_per_workflow);
        if (spent.credits + a.estimated_credits > rule.max_credits_per_day)
            return "an estimated " + number_text(a.estimated_credits) + " credits on top of " + number_text(spent.credits) +
                   " spent today (UTC) by the rule's re-runs exceeds max_credits_per_day " +
                   number_text(rule.max_credits_per_day);
        return "";
    });
    if (a.state == "skipped" || a.state == "dry_run") {
        actions_counter(registry_, a.action, a.result).Increment();
        log_decision(a);
        return;
    }

    // Recorded as pending: from here a crash leaves it interrupted, never re-tried.
    const std::string data = rerun_data({.kind = Rerun::Kind::runs, .batch_uuid = b.uuid, .reset = rule.reset,
                                         .run_uuids = run_uuids});
    try {
        const cargo::Batch created = connection_.client->create_batch(b.workflow_uuid, data);
        a.state = "done", a.result = "created", a.created_batch_uuid = created.uuid;
    } catch (const cargo::ApiError& e) {
        a.state = "failed";
        const bool answered = e.status() >= 400 && e.status() < 500;
        a.result = answered ? "refused" : "failed";
        a.reason = printable(e.reason().empty() ? e.what() : e.reason() + ": " + e.error_message());
        // No answer, or a server error: the request may have reached Cargo.
        if (!answered) a.reason += " (the batch may still have been created: look before re-running by hand)";
    } catch (const std::exception& e) {
        // An answer cargomon cannot read: the batch was probably created.
        a.state = "failed", a.result = "failed";
        a.reason = printable(e.what()) + " (the batch may still have been created: look before re-running by hand)";
    }
    a.updated_at = clock_.now();
    store_.finish(a.id, a.state, a.result, a.created_batch_uuid, a.reason, a.updated_at);
    actions_counter(registry_, a.action, a.result).Increment();
    log_decision(a);
}

}  // namespace cargomon::actions
