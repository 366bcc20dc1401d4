#pragma once
// Builds the collectors a configuration asks for, ready for a Scheduler.
#include <prometheus/registry.h>

#include <vector>

#include "cargo/client.h"
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

}  // namespace cargomon::collectors
