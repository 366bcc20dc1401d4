#pragma once
// Small pieces every collector uses to build its snapshot and to respect its deadline.
#include <string>

#include "collectors/catalog.h"
#include "collectors/collector.h"
#include "common/clock.h"
#include "common/duration.h"
#include "metrics/model.h"

namespace cargomon::collectors {

metrics::Family make_family(std::string name, std::string help, metrics::MetricType type = metrics::MetricType::gauge);

// workflow_uuid and workflow_name, then `more`.
metrics::Labels workflow_labels(const WorkflowInfo& workflow, metrics::Labels more = {});

// A window as a label value in one unit, the largest that divides it: "30d", "1d", "90m", "45s".
std::string window_label(Millis window);

// Window boundaries are whole seconds so SQL (second precision) and the API agree.
SystemTime whole_seconds(SystemTime t);

// A ClickHouse DateTime literal in UTC: toDateTime('2026-11-28 09:31:34').
std::string sql_datetime(SystemTime t);

// Throws CollectorError("timeout") past the run's deadline, or ("stopped") once the
// scheduler is stopping. Called before each API call so a slow run gives up between calls.
void check_time_left(const CollectContext& context, const Clock& clock);

}  // namespace cargomon::collectors
