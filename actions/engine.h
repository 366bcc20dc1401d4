#pragma once
// The daemon's automatic actions (docs/actions.md): every `actions.interval`, one grouped
// SQL query finds the finished batches of the rules' workflows that have failed runs;
// for each not yet decided, the first rule matching its workflow decides, once, whether
// to re-run the runs that failed with a transient error, within the rule's budgets.
// Every decision is stored (actions/store.h) before anything is done, logged, counted in
// cargomon_actions_total{action, result} and listed by /api/v1/actions.
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

// The rows an earlier process left pending become interrupted: logged at error level,
// counted (result interrupted). The daemon calls this once at start, before any engine.
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
