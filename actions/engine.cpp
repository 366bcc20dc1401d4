#include "actions/engine.h"

#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "actions/failures.h"
#include "actions/rerun.h"
#include "cargo/errors.h"
#include "cargo/rerun_outcome.h"
#include "collectors/grouped_sql.h"
#include "collectors/series.h"
#include "common/clock.h"
#include "common/text.h"
#include "metrics/self_metrics.h"

namespace cargomon::actions {
namespace {

constexpr const char* kAction = "rerun_failed_records";
// Candidates one cycle looks at (the newest finished in the lookback); the rest wait for
// the next cycle, oldest first.
constexpr int kMaxCandidates = 1000;
constexpr const char* kWhat = "actions' batches query";
// The look-up for an existing re-run reads the workflow's batches newest first, this many
// a page, down to the batch's end; past kMaxLookupBatches it gives up (and nothing is
// created: what cannot be checked is not spent on).
constexpr int kLookupPage = 200;
constexpr int kMaxLookupBatches = 5000;
// A re-run is created after its batch finished; the margin covers a service whose
// created_at and finished_at come from clocks a little apart.
constexpr std::chrono::minutes kLookupMargin{1};
// Re-runs whose outcome one cycle looks up (oldest first); the rest wait for the next.
constexpr std::size_t kMaxFollowed = 100;

struct LookupTooLong : std::runtime_error {
    using std::runtime_error::runtime_error;
};

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
    // Refused, failed, uncertain: someone should look.
    const bool trouble = a.state == "failed" || a.state == "uncertain";
    spdlog::log(trouble ? spdlog::level::err : spdlog::level::info, "{}", line);
}

}  // namespace

prometheus::Counter& actions_counter(prometheus::Registry& registry, const std::string& action,
                                     const std::string& result) {
    return metrics::counter_family(registry, "cargomon_actions_total",
                                   "Automatic actions decided, by action and result (docs/actions.md).")
        .Add({{"action", action}, {"result", result}});
}

prometheus::Counter& reconciled_counter(prometheus::Registry& registry, const std::string& action,
                                       const std::string& outcome) {
    return metrics::counter_family(registry, "cargomon_actions_reconciled_total",
                                   "Uncertain automatic actions settled from the API's batches, by outcome: found (the "
                                   "re-run exists) or not_found (taken as not created, never retried).")
        .Add({{"action", action}, {"outcome", outcome}});
}

prometheus::Counter& outcome_counter(prometheus::Registry& registry, const std::string& action,
                                    const std::string& result) {
    return metrics::counter_family(registry, "cargomon_actions_outcome_total",
                                   "Automatic re-runs followed to their end, by what their batch achieved: recovered "
                                   "(every run ended well), still_failing, cancelled, or not_found (the batch is gone).")
        .Add({{"action", action}, {"result", result}});
}

void recover_interrupted(ActionStore& store, prometheus::Registry& registry, SystemTime now) {
    for (const Action& a : store.interrupt_pending(now)) {
        spdlog::error("ACTION INTERRUPTED: {} of batch {} (workflow {}, rule {}) was recorded but cargomon stopped "
                      "before the API answered; the batch may or may not have been created. It is never retried: "
                      "the workflow's batches will tell (the actions look them up on their next cycles)",
                      a.action, a.batch_uuid, a.workflow_uuid, a.rule);
        actions_counter(registry, a.action, "interrupted").Increment();
    }
}

struct Engine::Candidate {
    cargo::Batch batch;
    std::string workflow_name;
    std::string bad_counts;  // why its counts are not counts; "" when they are
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
    reconcile();
    follow_outcomes();
    auto workflows = catalog_.get();
    if (!workflows) return;  // before the first discovery nothing is known of names
    decide_candidates(*workflows);
    last_cycle_.Set(unix_seconds(clock_.now()));
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
    // Whole seconds (finished_at has no more), rounded up: a batch that finished in the
    // epoch's second but before it is not after it.
    const SystemTime since =
        std::max<SystemTime>(clock_.now() - config_.lookback, std::chrono::ceil<std::chrono::seconds>(store_.epoch()));
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
        // Budgets are computed from these: what no count can be is not read as one.
        std::string bad;
        auto count = [&](const char* column) -> double {
            const double v = number(column);
            if (!std::isfinite(v) || v < 0 || v >= 9e15) {
                if (bad.empty()) bad = std::string(column) + " is " + number_text(v) + ", not a count";
                return 0;
            }
            return v;
        };
        cargo::Batch b{.uuid = text("uuid"),
                       .workflow_uuid = text("workflow_uuid"),
                       .status = "success",
                       .runs_count = static_cast<std::int64_t>(count("runs_count")),
                       .failed_runs_count = static_cast<std::int64_t>(count("failed_runs_count")),
                       .credits_used_count = count("credits_used_count"),
                       .finished_at = SystemTime{std::chrono::seconds{static_cast<std::int64_t>(count("finished_unix"))}}};
        auto it = matched.find(b.workflow_uuid);
        if (it == matched.end()) continue;
        candidates.push_back({std::move(b), it->second.first, std::move(bad)});
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

std::optional<std::string> Engine::find_rerun(const std::string& workflow, const std::string& batch,
                                               SystemTime finished, const std::vector<std::string>& record_ids) {
    const std::set<std::string> ids(record_ids.begin(), record_ids.end());
    const SystemTime from = finished - kLookupMargin;
    for (int offset = 0; offset < kMaxLookupBatches; offset += kLookupPage) {
        const auto page = connection_.client->list_batches(
            {.workflow_uuids = {workflow}, .limit = kLookupPage, .offset = offset});
        bool older_reached = false;
        for (const cargo::Batch& b : page) {
            if (b.created_at && *b.created_at < from) {
                older_reached = true;
                continue;
            }
            if (b.uuid == batch) continue;
            if (b.rerun_of == batch) return b.uuid;
            for (const auto& id : b.record_ids)
                if (ids.count(id)) return b.uuid;
        }
        // The list is newest first: a page reaching past the batch's end is the last one.
        if (older_reached || page.size() < static_cast<std::size_t>(kLookupPage)) return std::nullopt;
    }
    throw LookupTooLong("more than " + std::to_string(kMaxLookupBatches) +
                        " batches of the workflow were created since the batch finished: whether one re-runs it "
                        "cannot be checked");
}

void Engine::reconcile() {
    const SystemTime now = clock_.now();
    for (Action a : store_.unsettled()) {
        try {
            const cargo::Batch source = connection_.client->get_batch(a.batch_uuid);
            const SystemTime finished = source.finished_at.value_or(a.decided_at - config_.lookback);
            if (auto found = find_rerun(a.workflow_uuid, a.batch_uuid, finished, {})) {
                a.state = "done";
                a.result = "reconciled";
                a.created_batch_uuid = *found;
                a.reason = "batch " + *found + " re-running it was found in the workflow's batches; the answer had "
                           "never come: " + a.reason;
                reconciled_counter(registry_, a.action, "found").Increment();
            } else if (now - a.decided_at >= config_.reconcile_after) {
                // Not retried: a batch the list does not show yet may still appear, and a
                // second one would spend twice. Someone re-runs it by hand if it matters.
                a.state = "failed";
                a.reason = "no batch re-running it appeared in the workflow's batches within reconcile_after: taken as "
                           "not created, never retried automatically (re-run it by hand if needed); the answer had "
                           "never come: " + a.reason;
                reconciled_counter(registry_, a.action, "not_found").Increment();
            } else {
                continue;  // too soon to tell
            }
            a.updated_at = clock_.now();
            store_.finish(a.id, a.state, a.result, a.created_batch_uuid, a.reason, a.updated_at);
            log_decision(a);
        } catch (const std::exception& e) {
            spdlog::warn("actions: the uncertain re-run of batch {} not settled this cycle: {}", a.batch_uuid, e.what());
        }
    }
}

void Engine::follow_outcomes() {
    for (const Action& a : store_.awaiting_outcome(kMaxFollowed)) {
        std::string result;
        std::int64_t recovered = 0, still_failing = 0;
        try {
            const auto outcome = cargo::rerun_outcome(connection_.client->get_batch(a.created_batch_uuid));
            if (!outcome) continue;  // still running
            result = std::string(outcome->result), recovered = outcome->recovered, still_failing = outcome->still_failing;
        } catch (const cargo::ApiError& e) {
            if (e.status() != 404) {
                spdlog::warn("actions: the outcome of re-run {} not read this cycle: {}", a.created_batch_uuid, e.what());
                continue;
            }
            result = "not_found";  // deleted: nothing will ever be known, so it is not asked for again
        } catch (const std::exception& e) {
            spdlog::warn("actions: the outcome of re-run {} not read this cycle: {}", a.created_batch_uuid, e.what());
            continue;
        }
        store_.set_outcome(a.id, result, recovered, still_failing, clock_.now());
        outcome_counter(registry_, a.action, result).Increment();
        spdlog::log(result == "recovered" ? spdlog::level::info : spdlog::level::warn,
                    "action {} outcome {}: batch={} workflow={} ({}) rerun_batch={} recovered={} still_failing={}",
                    a.action, result, a.batch_uuid, a.workflow_uuid, printable(a.workflow_name), a.created_batch_uuid,
                    recovered, still_failing);
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

    auto record_skip = [&](std::string result, std::string reason, std::string found = "") {
        a.state = "skipped";
        a.result = std::move(result);
        a.reason = std::move(reason);
        a.created_batch_uuid = std::move(found);
        a = store_.decide(a, now, [](const ActionStore::Spent&) { return std::string(); });
        actions_counter(registry_, a.action, a.result).Increment();
        log_decision(a);
    };
    if (!c.bad_counts.empty())
        return record_skip("skipped_bad_counts", "the API's counts of the batch cannot be budgeted: " + c.bad_counts);
    // A re-run (cargomon's on another replica, or one made by hand) is never re-run in
    // its turn: its data names the batch it re-runs.
    const cargo::Batch self = connection_.client->get_batch(b.uuid);
    if (self.rerun_of)
        return record_skip("skipped_is_rerun", "it is itself a re-run of batch " + *self.rerun_of +
                                                   ": a re-run is never re-run automatically");

    // Reading stops once more runs are transient than one re-run may take: the batch is
    // skipped then, however many more there are.
    std::vector<std::string> run_uuids, record_ids;
    std::size_t read = 0;
    std::optional<std::string> first_other;
    read_failed_runs(*connection_.client, b, kMaxFailedRuns, [&](const std::vector<FailedRun>& runs) {
        for (; read < runs.size(); ++read) {
            if (transient(patterns, runs[read].message)) {
                run_uuids.push_back(runs[read].uuid);
                if (!runs[read].record_id.empty()) record_ids.push_back(runs[read].record_id);
            } else if (!first_other) {
                first_other = runs[read].message.value_or("(no message)");
            }
        }
        return run_uuids.size() > static_cast<std::size_t>(rule.max_records_per_rerun);
    });
    // The batch's credits per run, but never under the rule's floor: counts of 0 (or next
    // to nothing) would make the credit budget free.
    const double average = b.runs_count > 0 ? b.credits_used_count / static_cast<double>(b.runs_count) : 0;
    const double per_run = std::max(average, rule.min_credits_per_run);
    a.records = static_cast<std::int64_t>(run_uuids.size());
    a.estimated_credits = per_run * static_cast<double>(run_uuids.size());

    if (run_uuids.empty())
        return record_skip("skipped_non_transient",
                           "none of its " + std::to_string(read) + " failed runs failed with a transient error (e.g. \"" +
                               printable(first_other.value_or("")) + "\")");
    if (run_uuids.size() > static_cast<std::size_t>(rule.max_records_per_rerun))
        return record_skip("skipped_budget", "more than max_records_per_rerun (" +
                                                 std::to_string(rule.max_records_per_rerun) +
                                                 ") runs failed with a transient error");

    // The API is the truth shared with other replicas and people: a re-run of this batch
    // created since it finished means it was re-run, whoever did it.
    try {
        if (auto found = find_rerun(b.workflow_uuid, b.uuid, b.finished_at.value_or(now), record_ids))
            return record_skip("skipped_already_rerun",
                               "batch " + *found + " already re-runs it (another cargomon, or someone by hand)", *found);
    } catch (const LookupTooLong& e) {
        return record_skip("skipped_unverified", e.what());
    }

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

    // Recorded as pending (on disk: the store commits with synchronous=FULL): from here a
    // crash leaves it to be settled from the API, never re-tried.
    const std::string data = rerun_data({.kind = Rerun::Kind::runs, .batch_uuid = b.uuid, .reset = rule.reset,
                                         .run_uuids = run_uuids});
    constexpr const char* kMayExist = " (the batch may exist: the next cycles look for it in the workflow's batches)";
    try {
        const cargo::Batch created = connection_.client->create_batch(b.workflow_uuid, data);
        a.state = "done", a.result = "created", a.created_batch_uuid = created.uuid;
    } catch (const cargo::ApiError& e) {
        const bool answered = e.status() >= 400 && e.status() < 500;
        // A dataError says why in its own reason (noRecords, invalidData, ...).
        const std::string reason =
            e.data_error_reason().empty() ? e.reason() : e.reason() + " (" + e.data_error_reason() + ")";
        a.reason = printable(e.reason().empty() ? e.what() : reason + ": " + e.error_message());
        if (answered) {
            a.state = "failed", a.result = "refused";
        } else {
            // No answer, or a server error: the request may have reached Cargo.
            a.state = "uncertain", a.result = "uncertain";
            a.reason += kMayExist;
        }
    } catch (const std::exception& e) {
        // An answer cargomon cannot read: the batch was probably created.
        a.state = "uncertain", a.result = "uncertain";
        a.reason = printable(e.what()) + kMayExist;
    }
    a.updated_at = clock_.now();
    try {
        store_.finish(a.id, a.state, a.result, a.created_batch_uuid, a.reason, a.updated_at);
    } catch (const std::exception& e) {
        // The row stays pending: the next cycles settle it from the API as an uncertain one.
        spdlog::error("actions: recording the answer for batch {} failed ({}); it will be settled from the API",
                      b.uuid, e.what());
    }
    actions_counter(registry_, a.action, a.result).Increment();
    log_decision(a);
}

}  // namespace cargomon::actions
