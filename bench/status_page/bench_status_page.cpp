// The status page's server side on this machine: reading its sources and rendering `/`
// with 100,000 series in the sample history (as the daemon's, tsdb::Head behind
// HistorySource), 300 active alerts in their route groups, 200 alerts resolved in the
// last day, 100 silences and 100 actions; and what the page transfers (page and files).
// The goal: under 100 ms to render, under 200 KB transferred.
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <string>
#include <vector>

#include "alerts/notify/router.h"
#include "alerts/notify/silences.h"
#include "alerts/promql/history_source.h"
#include "exporters/gzip.h"
#include "exporters/metrics_handler.h"
#include "metrics/metric_store.h"
#include "tsdb/head.h"
#include "web/static_assets.h"
#include "web/status_page.h"

using namespace cargomon;
using Steady = std::chrono::steady_clock;

namespace {

constexpr int kSeries = 100'000;
constexpr int kActive = 300, kResolved = 200, kSilences = 100, kActions = 100;

class Sources final : public web::StatusSource, public web::Lifecycle, public web::AlertsSource, public web::RulesSource,
                      public web::ActionsSource, public web::QuerySource {
public:
    explicit Sources(const tsdb::Head& head) : history_(head) {}
    web::DaemonStatus status() const override { return status_; }
    std::optional<std::string> reload() override { return std::nullopt; }
    std::vector<alerts::Alert> active_alerts() const override { return alerts_; }
    std::vector<alerts::notify::AlertGroup> alert_groups() const override { return alerts::notify::group_alerts(route_, alerts_); }
    std::vector<alerts::rules::GroupStatus> rule_groups() const override { return {}; }
    std::vector<actions::Action> recent_actions() const override { return actions_; }
    std::vector<web::ActionBudget> action_budgets() const override { return {{"transient", "enabled", 3, 1000}}; }
    const alerts::promql::Queryable& history() const override { return history_; }
    alerts::promql::Limits query_limits() const override { return {}; }
    std::vector<metrics::Labels> series(const std::vector<metrics::Matcher>&, std::int64_t, std::int64_t) const override { return {}; }
    std::vector<std::string> label_names(const std::vector<metrics::Matcher>&, std::int64_t, std::int64_t) const override { return {}; }
    std::vector<std::string> label_values(const std::string&, const std::vector<metrics::Matcher>&, std::int64_t,
                                          std::int64_t) const override { return {}; }
    std::vector<web::MetricMetadata> metadata() const override { return {}; }
    web::BuildInfo build_info() const override { return {.version = "bench"}; }

    alerts::promql::HistorySource history_;
    web::DaemonStatus status_;
    std::vector<alerts::Alert> alerts_;
    std::vector<actions::Action> actions_;
    config::Route route_{.receiver = "team", .group_by = {"alertname", "workflow_uuid"}, .key = "{}"};
};

std::string uuid(int i) {
    char out[40];
    std::snprintf(out, sizeof out, "6f1c%04x-2b7e-4c1a-9d3e-%012x", i & 0xffff, i * 7919);
    return out;
}

}  // namespace

int main() {
    const auto now = std::chrono::system_clock::now();
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    tsdb::Head head;
    const char* statuses[] = {"success", "error", "running", "pending", "cancelled"};
    for (int i = 0; i < kSeries; ++i) {
        metrics::Labels labels{{"status", statuses[i % 5]}, {"window", i % 2 ? "1h" : "24h"}, {"workflow_name", "Workflow " + std::to_string(i / 10)},
                               {"workflow_uuid", uuid(i / 10)}};
        auto series = head.series("cargo_workflow_runs", labels);
        for (int k = 0; k < 4; ++k) head.append(series, now_ms - (4 - k) * 60'000, i % 17);
    }
    Sources sources(head);
    for (int i = 0; i < kActive + kResolved; ++i) {
        metrics::Labels labels{{"alertname", i % 2 ? "CargoWorkflowErrorRateHigh" : "CargoBatchStuck"},
                               {"severity", "warning"}, {"workflow_name", "Workflow " + std::to_string(i)}, {"workflow_uuid", uuid(i)}};
        metrics::Labels series = labels;
        series.insert(series.begin() + 1, {"alertstate", "firing"});
        auto ref = head.series("ALERTS", series);
        for (int k = 0; k < 10; ++k) head.append(ref, now_ms - (i < kActive ? 0 : 3'600'000) - (10 - k) * 60'000, 1);
        if (i >= kActive) continue;
        sources.alerts_.push_back({.labels = labels,
                                   .annotations = {{"summary", "Workflow " + std::to_string(i) + " fails 42% of its runs"},
                                                   {"description", std::string(300, 'd')},
                                                   {"runbook_url", "https://github.com/cargomon/cargomon/blob/main/docs/alerting.md"}},
                                   .state = alerts::AlertState::firing,
                                   .value = 0.42,
                                   .active_at = now - std::chrono::minutes(20),
                                   .starts_at = now - std::chrono::minutes(10),
                                   .fingerprint = uuid(i)});
    }
    for (int i = 0; i < 8; ++i)
        sources.status_.collectors.push_back({.name = "collector" + std::to_string(i), .kind = "run_counts", .up = true,
                                              .last_run_start = now - std::chrono::seconds(20), .last_duration_seconds = 1.5,
                                              .next_run = now + std::chrono::seconds(40), .series = kSeries / 8});
    sources.status_.series = kSeries;
    sources.status_.config_last_reload_successful = true;
    for (int i = 0; i < kActions; ++i)
        sources.actions_.push_back({.id = i, .batch_uuid = uuid(i), .workflow_uuid = uuid(i % 20), .workflow_name = "Workflow",
                                    .rule = "transient", .mode = "enabled", .state = "done", .result = "created", .records = 12,
                                    .estimated_credits = 24, .created_batch_uuid = uuid(i + 1000), .decided_at = now,
                                    .outcome = "recovered", .recovered = 12});

    const auto dir = std::filesystem::temp_directory_path() / ("bench_status_page." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    SystemClock clock;
    alerts::notify::SilenceStore silences((dir / "silences.db").string(), clock);
    for (int i = 0; i < kSilences; ++i)
        silences.add({.matchers = {std::get<metrics::Matcher>(metrics::make_matcher("workflow_uuid", metrics::Matcher::Op::equal, uuid(i * 3)))},
                      .starts_at = now,
                      .ends_at = now + std::chrono::hours(2),
                      .created_by = "bench",
                      .comment = "while we look"});
    metrics::MetricStore store;
    prometheus::Registry registry;
    exporters::MetricsHandler metrics_handler(store, registry);
    const web::Sources all{.status = sources, .lifecycle = sources, .alerts = sources, .rules = sources,
                           .silences = silences, .actions = sources, .query = sources, .metrics = metrics_handler};

    std::vector<double> ms;
    std::string html;
    for (int round = 0; round < 40; ++round) {
        const auto start = Steady::now();
        web::StatusPage page = web::read_status_page(all, std::chrono::system_clock::now());
        html = web::render_status_page(page);
        ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    const auto gzip_start = Steady::now();
    const std::size_t page_gzip = exporters::gzip_compress({html}).size();
    const double gzip_ms = std::chrono::duration<double, std::milli>(Steady::now() - gzip_start).count();
    const std::size_t page_bytes = html.size();
    std::size_t asset_bytes = 0, asset_gzip = 0;
    for (const auto& asset : web::static_assets()) {
        asset_bytes += asset.body.size();
        asset_gzip += exporters::gzip_compress({asset.body}).size();
    }
    std::printf("status page, %d series in the history, %d active alerts, %d resolved, %d silences, %d actions:\n", kSeries,
                kActive, kResolved, kSilences, kActions);
    std::printf("  read + render: median %.1f ms, max %.1f ms (40 rounds; goal < 100 ms)\n", ms[ms.size() / 2], ms.back());
    std::printf("  gzip of the page: %.1f ms\n", gzip_ms);
    std::printf("  transfer: page %zu B + files %zu B = %zu B uncompressed; gzip (as browsers get it) %zu + %zu = %zu B "
                "(goal < 200 KB)\n",
                page_bytes, asset_bytes, page_bytes + asset_bytes, page_gzip, asset_gzip, page_gzip + asset_gzip);
    std::filesystem::remove_all(dir);
    return 0;
}
