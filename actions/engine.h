#pragma once
// The daemon's automatic actions (docs/actions.md): every `actions.interval`, one grouped
// SQL query finds the batches of the rules' workflows that finished with failed runs since
// the actions epoch; for each not yet decided, the first rule matching its workflow
// decides, once, whether to re-run the runs that failed with a transient error, within
// the rule's budgets. Every decision is stored (actions/store.h) before anything is done,
// logged, counted in cargomon_actions_total{action, result} and listed by /api/v1/actions.
//
// At most once rests on the local log and on the API: a batch whose data names another
// (a re-run, by anyone) is never re-run, and before creating a re-run of X the workflow's
// batches created since X finished are read: a re-run of X found there (another replica's,
// or one made by hand) is recorded as done by it, never created again. A create whose
// answer never came is settled from the same list on the next cycles.
//
// Thread-safety: start() and stop() from one thread (the daemon's); the engine's own
// thread runs the cycles. The store is shared with HTTP threads (it locks itself).
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <memory>
#include <vector>

namespace re2 {
class RE2;
}
#include <stop_token>
#include <thread>

#include "actions/store.h"
#include "collectors/catalog.h"
#include "collectors/factory.h"
#include "common/clock.h"
#include "config/config.h"

namespace cargomon::actions {

// cargomon_actions_total{action, result} in `registry` (one family whoever asks).
prometheus::Counter& actions_counter(prometheus::Registry& registry, const std::string& action,
                                     const std::string& result);

// The rows an earlier process left pending become uncertain (result interrupted): logged
// at error level, counted; the engine's next cycles settle them from the API. The daemon
// calls this once at start, before any engine.
void recover_interrupted(ActionStore& store, prometheus::Registry& registry, SystemTime now);

class Engine {
public:
    // Builds its own API client from `config` (its requests counted like the collectors'),
    // paced by `pacer`: the collectors' (their rate limit and Retry-After pause hold the
    // actions too), or null for one of its own. Throws std::invalid_argument on client
    // options the client refuses.
    Engine(const config::Config& config, const collectors::WorkflowCatalog& catalog, ActionStore& store,
           prometheus::Registry& registry, const Clock& clock, std::shared_ptr<cargo::Pacer> pacer);
    ~Engine();  // stop()

    void start();  // the first cycle runs at once
    void stop();   // ends waits; a request in flight finishes first (creating a batch is never cut off)

    // One cycle, on the calling thread.
    void run_cycle();

private:
    struct Candidate;
    void decide_candidates(const collectors::Workflows& workflows);
    void decide(const config::ActionRule& rule, const Candidate& c);
    // Each uncertain (or stranded pending) row: done with the re-run found, failed once
    // none has shown for reconcile_after, else left for the next cycle.
    void reconcile();
    // Each re-run created (or found) without an outcome yet: its batch read, its outcome
    // recorded once it finished (cargomon_actions_outcome_total, /api/v1/actions).
    void follow_outcomes();
    // A batch of `workflow` created since `finished` (less a margin) that re-runs `batch`:
    // its data's filter names it, or it re-runs by id one of `record_ids`. Throws
    // LookupTooLong past kMaxLookupBatches.
    std::optional<std::string> find_rerun(const std::string& workflow, const std::string& batch, SystemTime finished,
                                          const std::vector<std::string>& record_ids);

    config::ActionsConfig config_;
    std::vector<std::vector<std::shared_ptr<const re2::RE2>>> patterns_;  // per rule, in config_.rules' order
    const collectors::WorkflowCatalog& catalog_;
    ActionStore& store_;
    prometheus::Registry& registry_;
    const Clock& clock_;
    collectors::Connection connection_;
    prometheus::Gauge& last_cycle_;
    std::jthread thread_;
};

}  // namespace cargomon::actions
