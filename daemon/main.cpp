// cargomon: watches a Cargo workspace, exports Prometheus metrics. Flags follow
// Prometheus' style; subcommands check what the daemon would load.
#include <signal.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <charconv>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/log.h"
#include "alerts/rules/rules.h"
#include "common/duration.h"
#include "config/config.h"
#include "config/web_config.h"
#include "daemon/alerting.h"
#include "daemon/cli_preview.h"
#include "daemon/cli_silence.h"
#include "daemon/daemon.h"

namespace {

using namespace cargomon;

constexpr const char* kUsage = R"(usage: cargomon [flags]
       cargomon check-config FILE...     validate config files (with their rules and alerting)
       cargomon check-rules FILE...      validate rule files
       cargomon check-web-config FILE... validate web config files (TLS, basic auth, headers)
       cargomon rules preview [FILE...] [--config.file=FILE]
                                         evaluate rules once against the live API: what would fire now
       cargomon silence add|list|expire  manage a running daemon's silences (see cargomon silence --help)

Watches a Cargo workspace through Cargo's API and exports Prometheus metrics.

Flags:
  --config.file=FILE            configuration file (default /etc/cargomon/cargomon.yml)
  --web.listen-address=ADDR     address for /metrics and the API (default :9464)
  --web.config.file=FILE        TLS, basic auth and headers, in exporter-toolkit's format
                                (default none: plain HTTP, no auth; see docs/security.md)
  --web.enable-lifecycle        allow POST /-/reload (default off; SIGHUP always reloads)
  --web.enable-admin-api        allow creating and expiring silences over HTTP (default off)
  --web.max-connections=N       connections served at once; more get 503 (default 512)
  --web.read-timeout=DURATION   time to read a whole request; slower clients get 408 (default 10s)
  --web.max-request-bytes=N     largest request body, after decompression; more get 413
                                (default 1MiB; suffixes KiB, MiB)
  --storage.path=DIR            durable state: counter watermarks (default /var/lib/cargomon)
  --log.level=LEVEL             debug, info, warn, error (default info)
  --log.format=FORMAT           logfmt or json (default logfmt)
  --version                     print the version and exit
  --help                        this text

Signals: SIGHUP reloads the configuration and the web config (as does POST /-/reload with
--web.enable-lifecycle); SIGTERM and SIGINT stop.
Environment: CARGO_API_URL and CARGO_API_TOKEN override api_url and token of the file.
)";

[[noreturn]] void usage_error(const std::string& message) {
    std::cerr << "cargomon: " << message << "\n(see cargomon --help)\n";
    std::exit(2);
}

std::map<std::string, std::string> parse_flags(const std::vector<std::string>& args) {
    std::map<std::string, std::string> flags = {
        {"config.file", "/etc/cargomon/cargomon.yml"}, {"web.listen-address", ":9464"},
        {"storage.path", "/var/lib/cargomon"},         {"log.level", "info"},
        {"log.format", "logfmt"},
        {"web.config.file", ""},
        {"web.enable-lifecycle", "false"},
        {"web.enable-admin-api", "false"},
        {"web.max-connections", "512"},
        {"web.read-timeout", "10s"},
        {"web.max-request-bytes", "1MiB"},
    };
    const std::set<std::string> switches = {"web.enable-lifecycle", "web.enable-admin-api"};
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            std::exit(0);
        }
        if (arg == "--version") {
            std::cout << "cargomon " << CARGOMON_VERSION << "\n";
            std::exit(0);
        }
        if (arg.rfind("--", 0) != 0) usage_error("unexpected argument \"" + arg + "\"");
        std::string name = arg.substr(2), value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        } else if (switches.count(name)) {
            value = "true";
        } else if (name.rfind("no-", 0) == 0 && switches.count(name.substr(3))) {
            name = name.substr(3);
            value = "false";
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            usage_error("--" + name + " needs a value");
        }
        if (!flags.count(name)) usage_error("unknown flag --" + name);
        if (switches.count(name) && value != "true" && value != "false")
            usage_error("--" + name + " takes no value, or =true or =false");
        flags[name] = value;
    }
    return flags;
}

std::size_t parse_count(const std::string& flag, const std::string& text) {
    std::size_t value = 0, multiplier = 1;
    std::string_view digits = text;
    for (auto [suffix, m] : {std::pair{"KiB", 1024}, std::pair{"MiB", 1024 * 1024}}) {
        if (digits.ends_with(suffix)) {
            digits.remove_suffix(3);
            multiplier = static_cast<std::size_t>(m);
        }
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || value == 0 ||
        value > (std::size_t{1} << 40) / multiplier)
        usage_error("--" + flag + " wants a positive whole number, got \"" + text + "\"");
    return value * multiplier;
}

web::HttpOptions http_options(const std::map<std::string, std::string>& flags) {
    web::HttpOptions options;
    options.enable_lifecycle = flags.at("web.enable-lifecycle") == "true";
    options.enable_admin_api = flags.at("web.enable-admin-api") == "true";
    options.limits.max_connections = parse_count("web.max-connections", flags.at("web.max-connections"));
    options.limits.max_body_bytes = parse_count("web.max-request-bytes", flags.at("web.max-request-bytes"));
    auto timeout = parse_duration(flags.at("web.read-timeout"));
    if (!timeout || timeout->count() <= 0)
        usage_error("--web.read-timeout wants a duration such as 10s, got \"" + flags.at("web.read-timeout") + "\"");
    options.limits.read_timeout = *timeout;
    return options;
}

int run_daemon(const std::map<std::string, std::string>& flags) {
    // Signals are taken by sigwait() in this thread, never by a worker.
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    daemon::Daemon d(daemon::DaemonOptions{
        .config_file = flags.at("config.file"),
        .listen_address = flags.at("web.listen-address"),
        .storage_path = flags.at("storage.path"),
        .web_config_file = flags.at("web.config.file"),
        .http = http_options(flags),
    });
    d.start();
    while (true) {
        int sig = 0;
        sigwait(&signals, &sig);
        if (sig == SIGHUP) {
            spdlog::info("SIGHUP: reloading {}", flags.at("config.file"));
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

// The config itself, then what the daemon would load with it: rule files and `alerting:`.
// A token_file that cannot be read here is a warning, not an error: the secret is often
// mounted only where the daemon runs (/run/secrets, systemd credentials), and the rest of
// the file is still checked, as with a token.
int check_config(const std::vector<std::string>& files) {
    if (files.empty()) {
        std::cerr << "usage: cargomon check-config FILE...\n";
        return 2;
    }
    int status = 0;
    for (const auto& file : files) {
        auto loaded = config::load_config(file, config::Environment::process());
        if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded);
            errors && std::all_of(errors->begin(), errors->end(), [](const config::ConfigError& e) {
                return e.message.starts_with("cannot read token_file");
            })) {
            for (const auto& e : *errors) {
                std::string where = e.file;
                if (e.line > 0) where += ":" + std::to_string(e.line) + ":" + std::to_string(e.column);
                std::cerr << where << ": warning: " << e.message
                          << " (the daemon needs it there, or CARGO_API_TOKEN)\n";
            }
            std::map<std::string, std::string> env;
            for (char** var = environ; *var; ++var) {
                std::string entry = *var;
                if (auto eq = entry.find('='); eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
            }
            env["CARGO_API_TOKEN"] = "check-config";  // stands in for the unreadable file's token
            loaded = config::load_config(file, config::Environment(env));
        }
        if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded)) {
            for (const auto& e : *errors) std::cerr << e.to_string() << "\n";
            status = 1;
            continue;
        }
        const auto& cfg = std::get<config::Config>(loaded);
        std::cout << file << ": OK, " << cfg.collectors.size() << " collectors\n";
        try {
            auto setup = daemon::load_alerting(cfg, file);
            std::size_t rules = 0;
            for (const auto& g : setup.groups) rules += g.rules.size();
            std::cout << file << ": rules OK, " << setup.groups.size() << " groups, " << rules << " rules, "
                      << setup.alerting.receivers.size() << " receivers\n";
        } catch (const std::exception& e) {
            std::cerr << e.what() << "\n";
            status = 1;
        }
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "check-config") return check_config({args.begin() + 1, args.end()});
    if (!args.empty() && args[0] == "check-web-config")
        return config::check_web_config_main({args.begin() + 1, args.end()}, std::cout, std::cerr);
    if (!args.empty() && args[0] == "check-rules")
        return alerts::check_rules_main({args.begin() + 1, args.end()}, std::cout, std::cerr);
    if (args.size() >= 2 && args[0] == "rules" && args[1] == "preview")
        return daemon::rules_preview_main({args.begin() + 2, args.end()}, std::cout, std::cerr);
    if (!args.empty() && args[0] == "silence") return daemon::silence_main({args.begin() + 1, args.end()}, std::cout, std::cerr);
    auto flags = parse_flags(args);
    try {
        setup_logging(flags.at("log.level"), flags.at("log.format"), "cargomon");
    } catch (const std::exception& e) {
        usage_error(e.what());
    }
    try {
        return run_daemon(flags);
    } catch (const std::exception& e) {
        spdlog::error("cannot start: {}", e.what());
        std::cerr << "cargomon: " << e.what() << "\n";
        return 1;
    }
}
