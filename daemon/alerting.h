#pragma once
// The daemon's wiring of the alert path (alerts/engine.h): the engine's setup read from
// the config and its rule files, and its HTTP API registered on the web server.
#include <string>

#include "alerts/engine.h"
#include "config/config.h"
#include "web/http_server.h"

namespace cargomon::daemon {

// Reads and validates the rule files config.rule_files names (on every call: they may
// change while the config file does not) and takes config.alerting, already validated by
// the config loader; the config file itself is not read again. Throws std::runtime_error
// listing every rule file error (file:line:col).
alerts::EngineSetup load_alerting(const config::Config& config);

// /api/v1/alerts, /api/v1/rules and /api/v1/silences, answered from `engine`, which must
// outlive `http`'s serving.
void register_alerting_routes(web::HttpServer& http, alerts::Engine& engine);

}  // namespace cargomon::daemon
