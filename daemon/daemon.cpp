#include "daemon/daemon.h"

#include <prometheus/counter.h>
#include <spdlog/spdlog.h>

#include <future>
#include <set>
#include <sstream>
#include <thread>

#ifdef CARGOMON_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "collectors/factory.h"
#include "collectors/scheduler.h"
#include "common/clock.h"
#include "common/timefmt.h"
#include "alerts/promql/promql.h"
#include "daemon/storage.h"
#include "metrics/self_metrics.h"
#include "web/auth.h"
#include "web/routes.h"
#include "web/tls.h"

namespace cargomon::daemon {
namespace {

void notify_systemd([[maybe_unused]] const char* state) {
#ifdef CARGOMON_HAVE_SYSTEMD
    sd_notify(0, state);
#endif
}

// /api/v1/actions lists this many of the newest decisions.
constexpr std::size_t kActionsListed = 200;

std::string errors_text(const std::vector<config::ConfigError>& errors) {
    std::string text;
    for (const auto& e : errors) text += e.to_string() + "\n";
    if (!text.empty()) text.pop_back();
    return text;
}

config::Config load_or_throw(const std::string& path) {
    auto loaded = config::load_config(path, config::Environment::process());
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded))
        throw std::runtime_error(errors_text(*errors));
    return std::get<config::Config>(std::move(loaded));
}

// The collectors' world is built from everything in the config but `alerting:` and
// `global:` (external labels only label alerts), which alerts::Engine::replace swaps in
// on every reload (with the rule files): a change to routes or receivers alone restarts
// no collector.
bool same_world(const config::Config& running, config::Config next) {
    next.alerting = running.alerting;
    next.global = running.global;  // external labels reach only the alert engine
    next.actions = running.actions;  // the actions engine is rebuilt apart (Daemon::reload)
    return running == next;
}

// The history the rules need (tsdb::derived_retention): what they read furthest back (their
// longest range or offset, plus their group's query_offset; the lookback is added by
// derived_retention) and their slowest group's interval.
std::chrono::milliseconds rules_retention(const std::vector<alerts::rules::RuleGroup>& groups) {
    Millis longest_interval = alerts::rules::kDefaultEvaluationInterval;
    Millis longest_reach{0};
    const alerts::promql::Limits limits;
    for (const auto& group : groups) {
        longest_interval = std::max(longest_interval, group.interval);
        for (const auto& rule : group.rules)
            longest_reach = std::max(longest_reach, group.query_offset + Millis{alerts::promql::lookbehind_ms(
                                                                             alerts::rules::rule_expr(rule), limits) -
                                                                         limits.lookback_ms});
    }
    return tsdb::derived_retention(longest_reach, longest_interval);
}

}  // namespace

// Everything that depends on the config, built whole before it replaces the old one.
struct Daemon::World {
    config::Config config;
    collectors::Connection connection;  // the collectors' API client (the scheduler holds the collectors)
    std::unique_ptr<collectors::Scheduler> scheduler;
};

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)),
      reload_successful_(metrics::gauge_family(registry_, "cargomon_config_last_reload_successful",
                                               "Whether the last configuration reload attempt was successful.")
                             .Add({})),
      reload_success_time_(metrics::gauge_family(registry_, "cargomon_config_last_reload_success_timestamp_seconds",
                                                 "Timestamp of the last successful configuration reload.")
                               .Add({})) {
    config::Config config = load_or_throw(options_.config_file);
    const StateDatabase state = prepare_state_database(options_.storage_path, clock_.now());
    metrics::counter_family(registry_, "cargomon_state_db_recovered_total",
                            "State database files found unusable at start and moved aside (the log names where).")
        .Add({})
        .Increment(static_cast<double>(state.moved_aside.size()));
    watermarks_ = std::make_unique<collectors::WatermarkStore>(state.path);
    metrics::gauge_family(registry_, "cargomon_build_info",
                          "A metric with a constant '1' value labeled by the version of cargomon.")
        .Add({{"version", CARGOMON_VERSION}, {"compiler", __VERSION__}})
        .Set(1);
    alerts::EngineSetup alerting = load_alerting(config);
    // The history is read back before anything appends to it or evaluates a rule.
    auto history_options = options_.history;
    history_options.checkpoint_path = std::filesystem::path(options_.storage_path) / tsdb::kCheckpointFile;
    history_ = std::make_unique<tsdb::History>(history_options, registry_, clock_, [this] { return registry_.Collect(); });
    history_->set_rules_retention(rules_retention(alerting.groups));
    history_->load();
    history_source_ = std::make_unique<alerts::promql::HistorySource>(history_->head());
    store_.set_observer(history_.get());
    state_path_ = state.path;
    state_moved_aside_ = state.moved_aside;
    action_store_ = std::make_unique<actions::ActionStore>(state.path, clock_.now());
    metrics::gauge_family(registry_, "cargomon_actions_epoch_timestamp_seconds",
                          "The actions epoch: batches that finished before it are never acted on (docs/actions.md).")
        .Add({})
        .Set(unix_seconds(action_store_->epoch()));
    if (action_store_->epoch_is_new())
        spdlog::warn("actions: {} has no actions epoch (a new, empty or recovered state database): set to {}; "
                     "batches that finished before it are never acted on",
                     state.path, format_iso8601(action_store_->epoch()));
    if (!options_.actions_enabled)
        spdlog::info("actions: off on this replica (--actions.enabled=false): nothing is re-run here");
    actions::recover_interrupted(*action_store_, registry_, clock_.now());
    world_ = build_world(config);
    actions_ = std::make_unique<actions::Engine>(config, catalog_, *action_store_, registry_, clock_,
                                                 world_->connection.client->pacer());
    alerting_ = std::make_unique<alerts::Engine>(std::move(alerting), state.path, store_, registry_, clock_,
                                                 [this] { return collectors_have_run(); }, history_source_.get());
    reload_successful_.Set(1);
    reload_success_time_.Set(unix_seconds(clock_.now()));
    metrics_ = std::make_unique<exporters::MetricsHandler>(store_, registry_);
    http_ = std::make_unique<web::ApiServer>(registry_, options_.http);
    http_->set_security(load_web_security());
    alerting_sources_ = std::make_unique<AlertingSources>(*alerting_);
    web::register_routes(*http_, web::Sources{.status = *this,
                                              .lifecycle = *this,
                                              .alerts = *alerting_sources_,
                                              .rules = *alerting_sources_,
                                              .silences = alerting_->silences(),
                                              .actions = *this,
                                              .query = *this,
                                              .metrics = *metrics_});
}

std::vector<actions::Action> Daemon::recent_actions() const { return action_store_->recent(kActionsListed); }

std::vector<web::ActionBudget> Daemon::action_budgets() const {
    std::lock_guard lock(world_mu_);
    std::vector<web::ActionBudget> out;
    if (!world_) return out;
    const config::ActionsConfig& actions = world_->config.actions;
    for (const auto& rule : actions.rules)
        out.push_back({.rule = rule.name,
                       .mode = std::string(config::mode_name(actions.mode_of(rule))),
                       .max_reruns_per_day_per_workflow = rule.max_reruns_per_day_per_workflow,
                       .max_credits_per_day = rule.max_credits_per_day});
    return out;
}

Daemon::~Daemon() {
    stop(std::chrono::seconds{5});
    store_.set_observer(nullptr);
}

std::unique_ptr<Daemon::World> Daemon::build_world(const config::Config& config) {
    auto world = std::make_unique<World>();
    world->config = config;
    collectors::Collection collection =
        collectors::build_collection(config, catalog_, watermarks_.get(), registry_, clock_);
    world->connection = std::move(collection.connection);
    world->scheduler = std::make_unique<collectors::Scheduler>(
        std::move(collection.collectors), store_, registry_, clock_,
        collectors::SchedulerOptions{.workers = std::size_t(std::max(2, config.client.max_in_flight))});
    return world;
}

web::Security Daemon::load_web_security() const {
    web::Security security;
    if (options_.web_config_file.empty()) return security;
    auto loaded = config::load_web_config(options_.web_config_file, config::Environment::process());
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded)) throw std::runtime_error(errors_text(*errors));
    const auto& web = std::get<config::WebConfig>(loaded);
    if (web.tls && web.tls->enabled()) {
        security.tls = web::make_server_tls_context(*web.tls);
        security.tls_client_policy = web::client_policy(security.tls.get());
    }
    if (!web.basic_auth_users.empty()) {
        auto auth = std::make_shared<const web::BasicAuth>(web.basic_auth_users);
        security.authenticate = [auth](std::string_view header, const std::function<bool()>& may_check_password) {
            return auth->verify(header, may_check_password);
        };
    }
    for (const auto& [name, value] : web.headers) security.headers.emplace_back(name, value);
    security.rate_limit_interval = web.rate_limit_interval;
    security.rate_limit_burst = web.rate_limit_burst;
    return security;
}

void Daemon::start() {
    http_->start(options_.listen_address);
    {
        std::lock_guard lock(world_mu_);
        world_->scheduler->start();
    }
    history_->start();
    alerting_->start();
    if (options_.actions_enabled) actions_->start();
    // Readiness follows the first successful discovery; the catalog keeps it across reloads.
    readiness_ = std::jthread([this](std::stop_token stop) {
        while (!catalog_.ready()) {
            if (stop.stop_requested()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds{50});
        }
        http_->set_ready(true);
    });
    notify_systemd("READY=1");
    spdlog::info("cargomon {} serving on {} (port {})", CARGOMON_VERSION, options_.listen_address, http_->port());
}

std::optional<std::string> Daemon::reload() {
    std::lock_guard serial(reload_mu_);
    if (stopped_) return std::string("cargomon is stopping");
    notify_systemd("RELOADING=1");
    auto finish = [&](std::optional<std::string> error) {
        reload_successful_.Set(error ? 0 : 1);
        if (!error) reload_success_time_.Set(unix_seconds(clock_.now()));
        notify_systemd("READY=1");
        return error;
    };
    config::Config config;
    alerts::EngineSetup alerting;
    web::Security security;
    // Everything is read and checked before anything is swapped: a failed reload changes nothing.
    try {
        config = load_or_throw(options_.config_file);
        alerting = load_alerting(config);
        security = load_web_security();
    } catch (const std::exception& e) {
        spdlog::error("reload failed, keeping the running configuration:\n{}", e.what());
        return finish(std::string(e.what()));
    }
    std::unique_ptr<World> fresh;
    bool collectors_changed = false;
    bool actions_changed = false;
    std::shared_ptr<cargo::Pacer> pacer;  // the running collectors', unless they are rebuilt
    {
        std::lock_guard lock(world_mu_);
        collectors_changed = !world_ || !same_world(world_->config, config);
        actions_changed = !world_ || !(world_->config == config);
        if (world_) pacer = world_->connection.client->pacer();
    }
    std::unique_ptr<actions::Engine> engine;
    try {
        if (collectors_changed) {
            fresh = build_world(config);
            pacer = fresh->connection.client->pacer();
        }
        // A new client config rebuilds the collectors and so the engine (actions_changed
        // covers every change): the actions always share the running collectors' pacer.
        if (actions_changed)
            engine = std::make_unique<actions::Engine>(config, catalog_, *action_store_, registry_, clock_, pacer);
    } catch (const std::exception& e) {
        spdlog::error("reload failed, keeping the running configuration: {}", e.what());
        return finish(std::string(e.what()));
    }
    http_->set_security(std::move(security));
    if (engine) {
        actions_->stop();  // a batch being created is waited for: its answer is recorded
        actions_ = std::move(engine);
        if (options_.actions_enabled) actions_->start();
    }
    // Rule files and routes may change while the config file does not: always swapped in.
    history_->set_rules_retention(rules_retention(alerting.groups));
    alerting_->replace(std::move(alerting));
    if (!collectors_changed) {
        if (actions_changed) {
            // World's config is the running one: keep it current so the next reload compares right.
            std::lock_guard lock(world_mu_);
            world_->config = config;
        }
        spdlog::info("reload: collectors unchanged; rules, routes, actions and web config reloaded");
        return finish(std::nullopt);
    }
    std::unique_ptr<World> old;
    {
        std::lock_guard lock(world_mu_);
        old = std::move(world_);
        world_ = std::move(fresh);
    }
    old->connection.sleeper->interrupt();
    old->scheduler->stop();
    // Series of collectors the new config no longer has vanish now, not at max_staleness.
    std::set<std::string> kept;
    for (const auto& c : config.collectors) kept.insert(c.name);
    for (const auto& c : old->config.collectors)
        if (!kept.count(c.name)) {
            store_.remove(c.name);
            old->scheduler->remove_self_metrics(c.name);
        }
    {
        std::lock_guard lock(world_mu_);
        world_->scheduler->start();
    }
    spdlog::info("reload: new configuration with {} collectors running", config.collectors.size());
    return finish(std::nullopt);
}

bool Daemon::stop(std::chrono::milliseconds budget) {
    // HTTP first: no request may reach what is torn down below, and a reload that a
    // request started finishes before it returns. Then no reload can start (stopped_).
    http_->stop();
    std::unique_ptr<World> world;
    {
        std::lock_guard serial(reload_mu_);
        if (stopped_) return true;
        stopped_ = true;
        std::lock_guard lock(world_mu_);
        world = std::move(world_);
    }
    if (!world) return true;
    notify_systemd("STOPPING=1");
    actions_->stop();
    alerting_->stop();
    if (readiness_.joinable()) {
        readiness_.request_stop();
        readiness_.join();
    }
    world->connection.sleeper->interrupt();
    // A request in flight cannot be interrupted; do not let it hold the process past budget.
    auto stopped = std::async(std::launch::async, [w = world.get()] { w->scheduler->stop(); });
    const bool collectors_stopped = stopped.wait_for(budget) == std::future_status::ready;
    history_->stop();  // the last checkpoint, with whatever the collectors published last
    if (collectors_stopped) return true;
    spdlog::warn("a collector is still in a request after {} ms; exiting without it", budget.count());
    world.release();  // its threads still use it: leave it to process exit
    std::thread([s = std::move(stopped)]() mutable { s.wait(); }).detach();
    return false;
}

bool Daemon::collectors_have_run() const {
    if (data_seen_) return true;
    std::lock_guard lock(world_mu_);
    if (!world_) return false;
    for (const auto& c : world_->scheduler->status())
        if (!c.last_run_start || c.running) return false;
    data_seen_ = true;  // once is enough: later reloads keep the store's snapshots
    return true;
}

web::DaemonStatus Daemon::status() const {
    std::lock_guard lock(world_mu_);
    if (!world_) return {.stopping = true};
    return {.version = CARGOMON_VERSION,
            .ready = catalog_.ready(),
            .config_file = options_.config_file,
            .config_last_reload_successful = reload_successful_.Value() == 1,
            .series = store_.series_count(),
            .collectors = world_->scheduler->status(),
            .config_last_reload_success = SystemTime{std::chrono::duration_cast<SystemTime::duration>(
                std::chrono::duration<double>(reload_success_time_.Value()))},
            .state_database = state_path_,
            .state_database_moved_aside = state_moved_aside_,
            .actions_enabled = options_.actions_enabled,
            .history_retention = history_->retention()};
}

std::vector<metrics::Labels> Daemon::series(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                            std::int64_t maxt_ms) const {
    return history_->head().series(matchers, mint_ms, maxt_ms);
}

std::vector<std::string> Daemon::label_names(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms,
                                             std::int64_t maxt_ms) const {
    return history_->head().label_names(matchers, mint_ms, maxt_ms);
}

std::vector<std::string> Daemon::label_values(const std::string& name, const std::vector<metrics::Matcher>& matchers,
                                              std::int64_t mint_ms, std::int64_t maxt_ms) const {
    return history_->head().label_values(name, matchers, mint_ms, maxt_ms);
}

std::vector<web::MetricMetadata> Daemon::metadata() const {
    std::vector<web::MetricMetadata> out;
    for (const auto& family : store_.view()->families) {
        const char* type = family.type == metrics::MetricType::counter ? "counter"
                           : family.type == metrics::MetricType::summary ? "summary"
                                                                          : "gauge";
        out.push_back({std::string(family.name), type, std::string(family.help), ""});
    }
    // cargomon's own families, as they are appended to the history (those named cargomon_*).
    for (const auto& family : registry_.Collect()) {
        if (family.name.rfind("cargomon_", 0) != 0) continue;
        const char* type = "unknown";
        switch (family.type) {
            case prometheus::MetricType::Counter: type = "counter"; break;
            case prometheus::MetricType::Gauge: type = "gauge"; break;
            case prometheus::MetricType::Summary: type = "summary"; break;
            case prometheus::MetricType::Histogram: type = "histogram"; break;
            default: break;
        }
        out.push_back({family.name, type, family.help, ""});
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name == b.name; }), out.end());
    return out;
}

web::BuildInfo Daemon::build_info() const { return {.version = CARGOMON_VERSION, .compiler = __VERSION__}; }

}  // namespace cargomon::daemon
