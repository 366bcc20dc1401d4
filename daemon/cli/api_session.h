#pragma once
// What a one-shot command that talks to the Cargo API needs (cargomon batch, cargomon
// export): the daemon's config file read, its API client built by the collectors'
// make_connection, as the daemon's is (URL, token, workspace, timeouts, retries, rate
// limit), and the API's refusals in plain words.
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "cargo/client.h"
#include "cargo/query_errors.h"
#include "cargo/refusals.h"
#include "collectors/factory.h"
#include "common/clock.h"
#include "common/text.h"
#include "config/config.h"

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
        : options(collectors::client_options(config)),
          connection(collectors::make_connection(config, registry, clock)),
          client(*connection.client) {}

    SystemClock clock;
    prometheus::Registry registry;  // the client counts its calls; nobody scrapes a one-shot command
    cargo::ClientOptions options;   // what the connection was built with (downloads use it too)
    collectors::Connection connection;
    cargo::ApiClient& client;
};

// An API error in plain words: the command's own words for the API's reason (`words`: what
// the command was doing decides them), else the typings' reasons' (cargo/refusals.h),
// else by status; then the API's own errorMessage and reason (a dataError's own reason
// too), or the transport's error when the API said nothing, made printable.
inline std::string plain_words(const cargo::ApiError& e, const std::map<std::string, std::string>& words) {
    constexpr std::size_t kMaxMessage = 300;
    std::string text;
    if (auto it = words.find(e.reason()); it != words.end()) text = it->second;
    else if (auto general = cargo::explain_refusal(e)) text = *general;
    else if (e.reason() == "workspaceNotAccessible") text = "the token has no access to the configured workspace";
    else if (e.status() == 401 || e.reason() == "unauthorized") text = "the API token was refused";
    else if (e.status() == 0) text = "the Cargo API could not be reached";
    else if (e.status() == 200) text = "the API's answer could not be read";
    else if (cargo::clickhouse_code(e.error_message())) text = "the query failed";
    else text = "the Cargo API refused the request";
    if (!e.error_message().empty() || !e.reason().empty())
        text += " (the API said: " + printable(e.error_message().empty() ? "-" : e.error_message(), kMaxMessage) +
                (e.reason().empty() ? "" : ", reason " + printable(e.reason(), kMaxMessage)) +
                (e.data_error_reason().empty() ? "" : ": " + printable(e.data_error_reason(), kMaxMessage)) + ")";
    else if (e.status() == 0 || e.status() == 200)
        text += " (" + printable(e.what(), kMaxMessage) + ")";
    return text;
}

}  // namespace cargomon::cli
