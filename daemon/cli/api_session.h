#pragma once
// What a one-shot command that talks to the Cargo API needs (cargomon export; batch
// builds the same by hand today): the daemon's config file read, and its API client built
// as the daemon builds it (URL, token, workspace, timeouts, retries, rate limit).
#include <prometheus/registry.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "cargo/client.h"
#include "cargo/sleeper.h"
#include "cargo/transport.h"
#include "common/clock.h"
#include "config/config.h"
#include "daemon/daemon.h"

namespace cargomon::cli {

// The config at `file`, or nullopt with its errors printed on `err` (FILE:LINE:COL: what).
inline std::optional<config::Config> load_cli_config(const std::string& file, std::ostream& err) {
    auto loaded = config::load_config(file, config::Environment::process());
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded)) {
        for (const auto& e : *errors) err << e.to_string() << "\n";
        return std::nullopt;
    }
    return std::get<config::Config>(std::move(loaded));
}

// Throws std::invalid_argument on a client option the daemon would refuse too.
struct ApiSession {
    explicit ApiSession(const config::Config& config)
        : options(daemon::client_options(config)),
          transport(cargo::make_http_transport(options)),
          sleeper(clock),
          client(options, *transport, registry, clock, sleeper) {}

    SystemClock clock;
    cargo::ClientOptions options;
    std::unique_ptr<cargo::Transport> transport;
    cargo::ClockSleeper sleeper;
    prometheus::Registry registry;  // the client counts its calls; nobody scrapes a one-shot command
    cargo::ApiClient client;
};

}  // namespace cargomon::cli
