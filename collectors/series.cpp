#include "collectors/series.h"

#include "common/timefmt.h"

namespace cargomon::collectors {

namespace {
constexpr const char* kWorkflowUuid = "workflow_uuid";
constexpr const char* kWorkflowName = "workflow_name";
}  // namespace

metrics::Labels workflow_labels(const WorkflowInfo& workflow, metrics::Labels more) {
    more.emplace_back(kWorkflowUuid, workflow.uuid);
    more.emplace_back(kWorkflowName, workflow.name);
    return more;
}

std::vector<std::string> workflow_label_names(std::vector<std::string> more) {
    more.insert(more.begin(), {kWorkflowUuid, kWorkflowName});
    return more;
}

std::string window_label(Millis window) {
    using namespace std::chrono;
    const std::pair<Millis, const char*> units[] = {{days{1}, "d"}, {hours{1}, "h"}, {minutes{1}, "m"}, {seconds{1}, "s"}};
    for (const auto& [unit, suffix] : units)
        if (window.count() % unit.count() == 0) return std::to_string(window / unit) + suffix;
    return std::to_string(window.count()) + "ms";
}

SystemTime whole_seconds(SystemTime t) { return std::chrono::floor<std::chrono::seconds>(t); }

prometheus::Counter* duplicate_rows_counter(prometheus::Registry* registry, const std::string& collector) {
    if (!registry) return nullptr;
    return &prometheus::BuildCounter()
                .Name("cargomon_collector_duplicate_rows_total")
                .Help("Rows the API repeated within one answer (same uuid), dropped so each is exported once")
                .Register(*registry)
                .Add({{"collector", collector}});
}

std::string sql_datetime(SystemTime t) { return "toDateTime('" + format_sql_datetime(t) + "')"; }

void check_time_left(const CollectContext& context, const Clock& clock) {
    if (context.stop.stop_requested()) throw CollectorError("stopped", "cargomon is stopping");
    if (clock.monotonic() > context.deadline) throw CollectorError("timeout", "run reached its deadline");
}

}  // namespace cargomon::collectors
