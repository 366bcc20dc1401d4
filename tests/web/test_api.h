#pragma once
// The daemon's API as web/routes.h registers it, on sources a test controls: /metrics of
// the test's store and registry, a status and a reload the test gives, no rules, the
// alert groups, actions and budgets a test sets (none by default; before start()), a silence store in a temporary folder, and a query API over the
// series a test adds to `history` (before start()) with `metadata` and `limits` it sets. The server is built and
// its routes registered, not started; tests add their own routes before start().
#include <prometheus/registry.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "alerts/notify/silences.h"
#include "alerts/promql/memory_source.h"
#include "common/clock.h"
#include "exporters/metrics_handler.h"
#include "metrics/metric_store.h"
#include "tests/support/temp_dir.h"
#include "web/api_server.h"
#include "web/routes.h"
#include "web/sources.h"

namespace cargomon::web::testing_support {

class TestApi : public StatusSource,
                public Lifecycle,
                public AlertsSource,
                public RulesSource,
                public ActionsSource,
                public QuerySource {
public:
    using Reload = std::function<std::optional<std::string>()>;

    // `reload` runs on POST /-/reload (none: reloads succeed).
    TestApi(const metrics::MetricStore& store, prometheus::Registry& registry, Reload reload = {},
            ServerOptions options = {})
        : silences_(dir_.file("silences.db"), clock_),
          metrics_(store, registry),
          reload_(std::move(reload)),
          server(registry, options) {
        register_routes(server, Sources{.status = *this,
                                        .lifecycle = *this,
                                        .alerts = *this,
                                        .rules = *this,
                                        .silences = silences_,
                                        .actions = *this,
                                        .query = *this,
                                        .metrics = metrics_});
    }
    ~TestApi() override { server.stop(); }  // before the sources its handlers read go

    DaemonStatus status() const override { return status_; }
    std::optional<std::string> reload() override { return reload_ ? reload_() : std::nullopt; }
    std::vector<alerts::Alert> active_alerts() const override { return {}; }
    std::vector<alerts::notify::AlertGroup> alert_groups() const override { return alert_group_list; }
    std::vector<alerts::rules::GroupStatus> rule_groups() const override { return {}; }
    std::vector<actions::Action> recent_actions() const override { return action_list; }
    std::vector<ActionBudget> action_budgets() const override { return budget_list; }

    const alerts::promql::Queryable& history() const override { return history_source; }
    alerts::promql::Limits query_limits() const override { return limits; }
    // What tsdb::Head answers, computed from the series that select() finds.
    std::vector<metrics::Labels> series(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                        std::int64_t maxt_ms) const override {
        std::set<metrics::Labels> out;
        history_source.select(matchers, mint_ms, maxt_ms, [&](std::string_view name, const metrics::Labels& labels, auto samples) {
            if (samples.empty()) return;
            metrics::Labels with_name;
            for (const auto& label : labels)
                if (!label.second.empty()) with_name.push_back(label);
            metrics::set_label(with_name, "__name__", std::string(name));
            out.insert(std::move(with_name));
        });
        return {out.begin(), out.end()};
    }
    std::vector<std::string> label_names(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                         std::int64_t maxt_ms) const override {
        std::set<std::string> names;
        history_source.select(matchers, mint_ms, maxt_ms, [&](std::string_view, const metrics::Labels& labels, auto samples) {
            if (samples.empty()) return;
            for (const auto& [name, value] : labels)
                if (!value.empty()) names.insert(name);
        });
        return {names.begin(), names.end()};
    }
    std::vector<std::string> label_values(const std::string& label, const std::vector<metrics::Matcher>& matchers,
                                          std::int64_t mint_ms, std::int64_t maxt_ms) const override {
        std::set<std::string> values;
        history_source.select(matchers, mint_ms, maxt_ms, [&](std::string_view, const metrics::Labels& labels, auto samples) {
            if (samples.empty()) return;
            if (auto value = metrics::label_value(labels, label); !value.empty()) values.emplace(value);
        });
        return {values.begin(), values.end()};
    }
    std::vector<MetricMetadata> metadata() const override { return metadata_list; }
    BuildInfo build_info() const override { return {.version = "test-version", .compiler = "test-compiler"}; }

    void set_status(DaemonStatus status) { status_ = std::move(status); }  // before start()
    alerts::notify::SilenceStore& silences() { return silences_; }

private:
    cargomon::testing::TempDir dir_;
    SystemClock clock_;
    alerts::notify::SilenceStore silences_;
    exporters::MetricsHandler metrics_;
    Reload reload_;
    DaemonStatus status_{.version = "test", .ready = true};

public:
    std::vector<alerts::notify::AlertGroup> alert_group_list;
    std::vector<actions::Action> action_list;
    std::vector<ActionBudget> budget_list;
    alerts::promql::MemorySource history_source;
    alerts::promql::Limits limits;
    std::vector<MetricMetadata> metadata_list;
    ApiServer server;
};

}  // namespace cargomon::web::testing_support
