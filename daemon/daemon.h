#pragma once
// The running daemon: owns the pieces, builds a "world" (API client, collectors,
// scheduler) from a validated config, and swaps in a whole new world on reload.
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "actions/engine.h"
#include "alerts/promql/history_source.h"
#include "actions/store.h"
#include "collectors/catalog.h"
#include "collectors/factory.h"
#include "collectors/watermarks.h"
#include "common/clock.h"
#include "config/config.h"
#include "daemon/alerting.h"
#include "config/web_config.h"
#include "daemon/defaults.h"
#include "web/api.h"
#include "exporters/metrics_handler.h"
#include "web/api_server.h"
#include "web/sources.h"
#include "metrics/metric_store.h"
#include "tsdb/history.h"

namespace cargomon::daemon {

struct DaemonOptions {
    std::string config_file;
    std::string listen_address = ":9464";
    std::string storage_path = kDefaultStoragePath;
    std::string web_config_file;  // --web.config.file; "" serves plain HTTP to anyone
    web::ServerOptions http;        // write endpoints and request limits
    // --actions.enabled: false runs a standby replica, whose actions never run (its config
    // is still checked and reloaded). docs/actions.md says why a second replica must.
    bool actions_enabled = true;
    // --storage.history.*; the checkpoint goes to <storage_path>/history.ckpt (any path
    // set here is replaced).
    tsdb::HistoryOptions history;
};

// Thread-safe: start() from main's thread, then reload() and stop() from main (signals)
// or a /-/reload handler; the API's reads (web/sources.h) run on HTTP threads. world_mu_ guards world_,
// reload_mu_ serializes reload() and stop() and guards stopped_.
class Daemon : public web::StatusSource, public web::Lifecycle, public web::ActionsSource, public web::QuerySource {
public:
    // Loads and validates the config; throws std::runtime_error listing every error
    // (the daemon refuses to start on a bad config).
    explicit Daemon(DaemonOptions options);
    ~Daemon() override;

    void start();  // HTTP server and collectors
    // Parses and validates the config file whole, then swaps it in. On any error the old
    // config keeps running. Returns the error text, or nullopt on success.
    std::optional<std::string> reload() override;
    // Stops serving and collecting; returns within `budget` even if a collector is stuck
    // in a request (then false: the caller should exit without waiting for it).
    bool stop(std::chrono::milliseconds budget);

    int port() const { return http_->port(); }

    // What /api/v1/status and /api/v1/actions show.
    web::DaemonStatus status() const override;
    std::vector<actions::Action> recent_actions() const override;
    std::vector<web::ActionBudget> action_budgets() const override;

    // The query API's (web/sources.h): the sample history, with Prometheus' default limits.
    const alerts::promql::Queryable& history() const override { return *history_source_; }
    alerts::promql::Limits query_limits() const override { return {}; }
    std::vector<metrics::Labels> series(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                        std::int64_t maxt_ms) const override;
    std::vector<std::string> label_names(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                         std::int64_t maxt_ms) const override;
    std::vector<std::string> label_values(const std::string& name, const std::vector<metrics::Matcher>& matchers,
                                          std::int64_t mint_ms, std::int64_t maxt_ms) const override;
    std::vector<web::MetricMetadata> metadata() const override;
    web::BuildInfo build_info() const override;

private:
    struct World;
    std::unique_ptr<World> build_world(const config::Config& config);
    // Reads --web.config.file into what the HTTP server enforces; throws with the errors.
    web::Security load_web_security() const;
    bool collectors_have_run() const;

    DaemonOptions options_;
    SystemClock clock_;
    prometheus::Registry registry_;
    metrics::MetricStore store_;
    collectors::WorkflowCatalog catalog_;
    std::unique_ptr<collectors::WatermarkStore> watermarks_;
    prometheus::Gauge& reload_successful_;
    prometheus::Gauge& reload_success_time_;

    mutable std::mutex world_mu_;  // guards world_
    std::mutex reload_mu_;         // serializes reload() and stop()
    std::unique_ptr<World> world_;
    std::unique_ptr<tsdb::History> history_;  // the store's observer from construction to ~Daemon
    std::unique_ptr<alerts::promql::HistorySource> history_source_;  // the query API's view of history_
    std::unique_ptr<alerts::Engine> alerting_;
    std::unique_ptr<AlertingSources> alerting_sources_;  // the API's view of alerting_
    std::unique_ptr<actions::ActionStore> action_store_;
    std::string state_path_;                   // the state database (daemon/storage.h)
    std::vector<std::string> state_moved_aside_;  // what start moved aside of it
    std::unique_ptr<actions::Engine> actions_;  // replaced under reload_mu_ when the config changes
    std::unique_ptr<exporters::MetricsHandler> metrics_;  // /metrics; before http_, which serves it
    std::unique_ptr<web::ApiServer> http_;
    bool stopped_ = false;  // under reload_mu_: a reload after stop() does nothing
    std::jthread readiness_;
    mutable std::atomic<bool> data_seen_{false};  // flips /readyz once discovery has succeeded
};

}  // namespace cargomon::daemon
