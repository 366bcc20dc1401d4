#pragma once
// Builds what a configuration's collectors run on, ready for a Scheduler: the daemon's
// world (daemon/daemon.cpp, replaced whole on reload) and `cargomon rules preview`'s
// single pass (daemon/cli/preview.cpp) are built here, the same way.
#include <prometheus/registry.h>

#include <memory>
#include <vector>

#include "cargo/client.h"
#include "cargo/options.h"
#include "cargo/sleeper.h"
#include "cargo/transport.h"
#include "collectors/catalog.h"
#include "collectors/scheduler.h"
#include "collectors/watermarks.h"
#include "config/config.h"

namespace cargomon::collectors {

// What the collectors share; everything must outlive them.
struct CollectorDeps {
    cargo::ApiClient& client;
    WorkflowCatalog& catalog;
    const Clock& clock;
    prometheus::Registry& registry;
    WatermarkStore* watermarks;  // needed when a query collector has counters
};

// Throws std::invalid_argument (naming the collector) on a spec it cannot run.
std::vector<ScheduledCollector> make_collectors(const std::vector<config::CollectorConfig>& configs,
                                                const CollectorDeps& deps);

// The Cargo API client's options as the config sets them.
cargo::ClientOptions client_options(const config::Config& config);

// The Cargo API client a config describes, with the transport and sleeper it runs on.
// Members in construction order: each uses the ones before it.
struct Connection {
    std::unique_ptr<cargo::Transport> transport;
    std::unique_ptr<cargo::ClockSleeper> sleeper;  // interrupt() ends retry waits at once (stop, reload)
    std::unique_ptr<cargo::ApiClient> client;      // its metrics go to the registry given
};
// `pacer`: another connection's (client->pacer()), so that both keep one rate limit and
// one Retry-After pause; null for a pacer of its own. Throws std::invalid_argument on
// client options the client refuses.
Connection make_connection(const config::Config& config, prometheus::Registry& registry, const Clock& clock,
                           std::shared_ptr<cargo::Pacer> pacer = nullptr);

// Everything a config's collectors run on, built whole: the connection and the
// collectors, which use it (so they are declared after it, and destroyed before it).
struct Collection {
    Connection connection;
    std::vector<ScheduledCollector> collectors;
};
// The collectors of `config` in its order, sharing one connection. `catalog`, `registry`,
// `clock` and `watermarks` (may be null when no query collector counts) must outlive
// the collection. Throws std::invalid_argument, as make_connection and make_collectors.
Collection build_collection(const config::Config& config, WorkflowCatalog& catalog, WatermarkStore* watermarks,
                            prometheus::Registry& registry, const Clock& clock);

}  // namespace cargomon::collectors
