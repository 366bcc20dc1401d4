#pragma once
// The daemon's API as web/routes.h registers it, on sources a test controls: /metrics of
// the test's store and registry, a status and a reload the test gives, no alerts, rules
// or actions, and an empty silence store in a temporary folder. The server is built and
// its routes registered, not started; tests add their own routes before start().
#include <prometheus/registry.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "alerts/notify/silences.h"
#include "common/clock.h"
#include "exporters/metrics_handler.h"
#include "metrics/metric_store.h"
#include "tests/support/temp_dir.h"
#include "web/api_server.h"
#include "web/routes.h"
#include "web/sources.h"

namespace cargomon::web::testing_support {

class TestApi : public StatusSource, public Lifecycle, public AlertsSource, public RulesSource, public ActionsSource {
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
                                        .metrics = metrics_});
    }
    ~TestApi() override { server.stop(); }  // before the sources its handlers read go

    DaemonStatus status() const override { return status_; }
    std::optional<std::string> reload() override { return reload_ ? reload_() : std::nullopt; }
    std::vector<alerts::Alert> active_alerts() const override { return {}; }
    std::vector<alerts::rules::GroupStatus> rule_groups() const override { return {}; }
    std::vector<actions::Action> recent_actions() const override { return {}; }

    void set_status(DaemonStatus status) { status_ = std::move(status); }  // before start()

private:
    cargomon::testing::TempDir dir_;
    SystemClock clock_;
    alerts::notify::SilenceStore silences_;
    exporters::MetricsHandler metrics_;
    Reload reload_;
    DaemonStatus status_{.version = "test", .ready = true};

public:
    ApiServer server;
};

}  // namespace cargomon::web::testing_support
