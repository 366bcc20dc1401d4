#include "daemon/cli/serve.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "common/cli.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/text.h"
#include "daemon/cli/path_flags.h"
#include "daemon/daemon.h"
#include "metrics/allocator.h"

namespace cargomon::cli {
namespace {

constexpr const char* kUsage = R"(usage: cargomon [flags]
       cargomon check-config FILE...     validate config files (with their rules and alerting)
       cargomon check-rules FILE...      validate rule files
       cargomon check-web-config FILE... validate web config files (TLS, basic auth, headers)
       cargomon rules preview [FILE...] [--config.file=FILE]
                                         evaluate rules once against the live API: what would fire now
       cargomon silence add|list|expire  manage a running daemon's silences (see cargomon silence --help)
       cargomon backup [--storage.path=DIR] FILE
                                         copy the state database, safe while the daemon runs
       cargomon batch doctor|rerun BATCH_UUID
                                         why a batch's runs failed; re-run only them (see cargomon batch --help)
       cargomon export runs|outputs|batch|segment|query
                                         download runs, outputs, records or a query's rows to a file (see cargomon export --help)

Watches a Cargo workspace through Cargo's API and exports Prometheus metrics.

Flags:)";

constexpr const char* kFooter = R"(Signals: SIGHUP reloads the configuration and the web config (as does POST /-/reload with
--web.enable-lifecycle); SIGTERM and SIGINT stop.
Environment: CARGO_API_URL and CARGO_API_TOKEN override api_url and token of the file.)";

struct Flags {
    std::string config_file;
    std::string listen_address = ":9464";
    std::string web_config_file;
    std::string enable_lifecycle = "false";
    std::string enable_admin_api = "false";
    std::string max_connections = "512";
    std::string max_connections_per_client = "64";
    std::string auth_failures_per_minute = "10";
    std::string read_timeout = "10s";
    std::string max_request_bytes = "1MiB";
    std::string storage_path;
    std::string history_retention;  // "": derived from the rules
    std::string history_max_bytes = "256MiB";
    std::string history_checkpoint_interval = "1m";
    std::string actions_enabled = "true";
    std::string log_level = "info";
    std::string log_format = "logfmt";
};

std::size_t parse_count(const std::string& flag, const std::string& text) {
    const auto value = parse_byte_size(text);
    if (!value || *value == 0 || *value > (std::uint64_t{1} << 40))
        throw UsageError("--" + flag + " wants a positive whole number, got \"" + text + "\"");
    return static_cast<std::size_t>(*value);
}

// A switch: --name, --no-name, --name=true or --name=false.
bool parse_switch(const std::string& flag, const std::string& value) {
    if (value != "true" && value != "false") throw UsageError("--" + flag + " takes no value, or =true or =false");
    return value == "true";
}

web::ServerOptions http_options(const Flags& flags) {
    web::ServerOptions options;
    options.enable_lifecycle = parse_switch("web.enable-lifecycle", flags.enable_lifecycle);
    options.enable_admin_api = parse_switch("web.enable-admin-api", flags.enable_admin_api);
    options.limits.max_connections = parse_count("web.max-connections", flags.max_connections);
    options.limits.max_connections_per_client =
        parse_count("web.max-connections-per-client", flags.max_connections_per_client);
    const std::size_t failures = parse_count("web.auth-failures-per-minute", flags.auth_failures_per_minute);
    if (failures > 60'000) throw UsageError("--web.auth-failures-per-minute wants at most 60000, got " + flags.auth_failures_per_minute);
    options.auth_failures_per_minute = static_cast<int>(failures);
    options.limits.max_body_bytes = parse_count("web.max-request-bytes", flags.max_request_bytes);
    auto timeout = parse_duration(flags.read_timeout);
    if (!timeout || timeout->count() <= 0)
        throw UsageError("--web.read-timeout wants a duration such as 10s, got \"" + flags.read_timeout + "\"");
    options.limits.read_timeout = *timeout;
    return options;
}

Millis parse_positive_duration(const std::string& flag, const std::string& text) {
    auto value = parse_duration(text);
    if (!value || value->count() <= 0)
        throw UsageError("--" + flag + " wants a duration such as 1m, got \"" + text + "\"");
    return *value;
}

tsdb::HistoryOptions history_options(const Flags& flags) {
    tsdb::HistoryOptions options;
    if (!flags.history_retention.empty())
        options.retention = parse_positive_duration("storage.history.retention", flags.history_retention);
    const auto max_bytes = parse_byte_size(flags.history_max_bytes);
    if (!max_bytes || *max_bytes < (std::uint64_t{1} << 20) || *max_bytes > (std::uint64_t{1} << 40))
        throw UsageError("--storage.history.max-bytes wants a size from 1MiB to 1TiB, got \"" +
                         flags.history_max_bytes + "\"");
    options.max_bytes = static_cast<std::size_t>(*max_bytes);
    options.checkpoint_interval =
        parse_positive_duration("storage.history.checkpoint-interval", flags.history_checkpoint_interval);
    return options;
}

// --help and --version print and return false.
bool parse_flags(const std::vector<std::string>& args, Flags& flags) {
    auto app = make_app(kUsage, '=', 32);
    app->footer(kFooter);
    add_config_file_flag(*app, flags.config_file);
    app->add_option("--web.listen-address", flags.listen_address, "address for /metrics and the API")
        ->type_name("ADDR")
        ->default_str(flags.listen_address);
    app->add_option("--web.config.file", flags.web_config_file,
                    "TLS, basic auth and headers, in exporter-toolkit's format\n"
                    "(default none: plain HTTP, no auth; see docs/security.md)")
        ->type_name("FILE");
    app->add_flag("--web.enable-lifecycle,!--no-web.enable-lifecycle", flags.enable_lifecycle,
                  "allow POST /-/reload (default off; SIGHUP always reloads)");
    app->add_flag("--web.enable-admin-api,!--no-web.enable-admin-api", flags.enable_admin_api,
                  "allow creating and expiring silences over HTTP (default off)");
    app->add_option("--web.max-connections", flags.max_connections,
                    "connections served at once; then the longest idle kept-alive one is\nclosed, or the new one gets 503")
        ->type_name("N")
        ->default_str(flags.max_connections);
    app->add_option("--web.max-connections-per-client", flags.max_connections_per_client,
                    "connections served at once from one IPv4 address or IPv6 /64")
        ->type_name("N")
        ->default_str(flags.max_connections_per_client);
    app->add_option("--web.auth-failures-per-minute", flags.auth_failures_per_minute,
                    "failed basic-auth logins one client may make (as a burst, then per\nminute); more get 429 without a password check")
        ->type_name("N")
        ->default_str(flags.auth_failures_per_minute);
    app->add_option("--web.read-timeout", flags.read_timeout, "time to read a whole request; slower clients get 408")
        ->type_name("DURATION")
        ->default_str(flags.read_timeout);
    app->add_option("--web.max-request-bytes", flags.max_request_bytes,
                    "largest request body, after decompression; more get 413\n(default 1MiB; suffixes KiB, MiB)")
        ->type_name("N");
    add_storage_path_flag(*app, flags.storage_path, "durable state: watermarks, alert state, outbox, silences");
    app->add_option("--storage.history.retention", flags.history_retention,
                    "how long the sample history keeps samples (default: what the rules\nneed, their longest range and offset + 5m + two evaluation intervals)")
        ->type_name("DURATION");
    app->add_option("--storage.history.max-bytes", flags.history_max_bytes,
                    "memory the sample history may hold; over it the oldest samples go\n(suffixes KiB, MiB, GiB)")
        ->type_name("SIZE")
        ->default_str(flags.history_max_bytes);
    app->add_option("--storage.history.checkpoint-interval", flags.history_checkpoint_interval,
                    "how often the sample history is written to <storage.path>/history.ckpt\n(and on stop)")
        ->type_name("DURATION")
        ->default_str(flags.history_checkpoint_interval);
    app->add_flag("--actions.enabled,!--no-actions.enabled", flags.actions_enabled,
                  "run the config's automatic actions (default on); =false on a standby replica\n"
                  "(docs/actions.md)");
    app->add_option("--log.level", flags.log_level, "debug, info, warn, error")
        ->type_name("LEVEL")
        ->default_str(flags.log_level);
    app->add_option("--log.format", flags.log_format, "logfmt or json")
        ->type_name("FORMAT")
        ->default_str(flags.log_format);
    app->set_version_flag("--version", std::string("cargomon ") + CARGOMON_VERSION, "print the version and exit");
    finish(*app);
    return parse(*app, args, std::cout);
}

int run_daemon(const Flags& flags, const web::ServerOptions& http, bool actions_enabled,
               const tsdb::HistoryOptions& history) {
    // Before any thread starts: arenas are made per thread (metrics/allocator.h says why).
    spdlog::info("malloc: {}", metrics::tune_allocator());
    // Signals are taken by sigwait() in this thread, never by a worker.
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    daemon::Daemon d(daemon::DaemonOptions{
        .config_file = flags.config_file,
        .listen_address = flags.listen_address,
        .storage_path = flags.storage_path,
        .web_config_file = flags.web_config_file,
        .http = http,
        .actions_enabled = actions_enabled,
        .history = history,
    });
    d.start();
    while (true) {
        int sig = 0;
        sigwait(&signals, &sig);
        if (sig == SIGHUP) {
            spdlog::info("SIGHUP: reloading {}", flags.config_file);
            d.reload();
            continue;
        }
        spdlog::info("{}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        if (!d.stop(std::chrono::milliseconds{4000})) {
            spdlog::default_logger()->flush();
            std::_Exit(0);  // a collector is stuck in a request; its state is committed or discarded whole
        }
        return 0;
    }
}

}  // namespace

int serve_main(const std::vector<std::string>& args) {
    Flags flags;
    web::ServerOptions http;
    bool actions_enabled = true;
    tsdb::HistoryOptions history;
    try {
        if (!parse_flags(args, flags)) return 0;
        try {
            setup_logging(flags.log_level, flags.log_format, "cargomon");
        } catch (const std::exception& e) {
            throw UsageError(e.what());
        }
        http = http_options(flags);
        actions_enabled = parse_switch("actions.enabled", flags.actions_enabled);
        history = history_options(flags);
    } catch (const UsageError& e) {
        return usage_error(std::cerr, "cargomon", e.what());
    }
    try {
        return run_daemon(flags, http, actions_enabled, history);
    } catch (const std::exception& e) {
        spdlog::error("cannot start: {}", e.what());
        std::cerr << "cargomon: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace cargomon::cli
