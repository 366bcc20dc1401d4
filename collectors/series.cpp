#include "collectors/series.h"

#include <prometheus/gauge.h>

#include "metrics/self_metrics.h"

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
    return &metrics::counter_family(
                *registry, "cargomon_collector_duplicate_rows_total",
                "Rows the API repeated within one answer (same uuid), dropped so each is exported once")
                .Add({{"collector", collector}});
}

std::string sql_datetime(SystemTime t) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
    return "toDateTime(" + std::to_string(seconds) + ", 'UTC')";
}

void check_series_limit(std::size_t series, std::size_t max_series) {
    if (series > max_series)
        throw CollectorError("series_limit", "collection has " + std::to_string(series) + " series, more than max_series " +
                                                 std::to_string(max_series) +
                                                 "; nothing of it is published (raise max_series, or narrow the "
                                                 "collector)");
}

namespace {

class SeriesLimited final : public Collector {
public:
    SeriesLimited(std::unique_ptr<Collector> inner, std::size_t max_series)
        : inner_(std::move(inner)), max_series_(max_series) {}
    const std::string& name() const override { return inner_->name(); }
    std::string_view kind() const override { return inner_->kind(); }
    std::vector<std::string> metric_names() const override { return inner_->metric_names(); }
    metrics::Snapshot collect(const CollectContext& context) override {
        auto snapshot = inner_->collect(context);
        std::size_t series = 0;
        for (const auto& family : snapshot.families) series += family.samples.size();
        check_series_limit(series, max_series_);
        return snapshot;
    }

private:
    std::unique_ptr<Collector> inner_;
    std::size_t max_series_;
};

}  // namespace

std::unique_ptr<Collector> limit_series(std::unique_ptr<Collector> collector, std::size_t max_series,
                                        prometheus::Registry* registry) {
    if (registry)
        metrics::gauge_family(
            *registry, "cargomon_collector_series_limit",
            "Series one collection of the collector may publish (max_series); more fail the collection")
            .Add({{"collector", collector->name()}})
            .Set(static_cast<double>(max_series));
    return std::make_unique<SeriesLimited>(std::move(collector), max_series);
}

void check_time_left(const CollectContext& context, const Clock& clock) {
    if (context.stop.stop_requested()) throw CollectorError("stopped", "cargomon is stopping");
    if (clock.monotonic() > context.deadline) throw CollectorError("timeout", "run reached its deadline");
}

}  // namespace cargomon::collectors
