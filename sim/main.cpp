// cargomon-sim: the Cargo API (docs/cargo-api.md) on a real ClickHouse, with a
// generated workspace, live traffic, scenarios and faults, for tests, benchmarks and demos.
#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "common/cli.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/net.h"
#include "sim/api/api.h"
#include "sim/clickhouse/clickhouse.h"
#include "sim/faults/conditions.h"
#include "sim/api/control.h"
#include "sim/faults/faults.h"
#include "sim/gen/generator.h"
#include "sim/gen/live.h"
#include "sim/faults/request_stats.h"
#include "sim/faults/scenario.h"

namespace {

using namespace cargomon;
using namespace cargomon::sim;

constexpr const char* kUsage = R"(usage: cargomon-sim [flags]

The Cargo API on a real ClickHouse, with a generated workspace.

)";

struct Flags {
    std::string listen = "127.0.0.1:8080";
    std::string token;
    std::string clickhouse_data;
    std::string clickhouse_url;
    std::string clickhouse_timezone = "UTC";
    GeneratorOptions generator;
    bool live = false;
    double rate = 5;
    std::string scenario;
    std::vector<std::pair<std::string, FaultSpec>> faults;
    bool control = false;
    std::optional<SubscriptionPlan> subscription;
    std::string log_level = "info";
    std::string log_format = "logfmt";
};

[[noreturn]] void usage_error(const std::string& message) {
    std::exit(cli::usage_error(std::cerr, "cargomon-sim", message));
}

long parse_int(const std::string& flag, const std::string& value, long min) {
    char* end = nullptr;
    long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < min)
        throw cli::UsageError(flag + " wants an integer >= " + std::to_string(min) + ", got \"" + value + "\"");
    return v;
}

// The command line; --help prints and exits 0, a bad one exits 2.
Flags parse_flags(int argc, char** argv) {
    Flags f;
    // As given, checked below.
    std::string workflows = "20", history = "7d", seed = "1", workspaces = "1", rate = "5", credits,
                additional_credits = "0", overage;
    bool no_subscription = false;
    std::vector<std::string> faults;
    auto app = cli::make_app(kUsage, ' ', 28);
    auto option = [&](const std::string& name, std::string& value, const std::string& type, const std::string& what) {
        return app->add_option("--" + name, value, what)->type_name(type);
    };
    option("listen", f.listen, "HOST:PORT", "address to serve the API on")->default_str(f.listen);
    option("token", f.token, "TOKEN", "bearer token callers must send (or $CARGOMON_SIM_TOKEN; required)");
    option("clickhouse-data", f.clickhouse_data, "DIR", "start a private clickhouse-server with its data in DIR");
    option("clickhouse-url", f.clickhouse_url, "URL", "use a running ClickHouse instead (http://host:port)");
    option("clickhouse-timezone", f.clickhouse_timezone, "ZONE",
           "time zone of the private clickhouse-server, e.g.\nAsia/Kolkata (only with --clickhouse-data)")
        ->default_str(f.clickhouse_timezone);
    option("workflows", workflows, "N", "workflows (plays and tools) per workspace")->default_str(workflows);
    option("history", history, "DURATION", "history to generate, e.g. 7d (default 7d; 0 for none)");
    option("seed", seed, "S", "seed of the generator; same seed, same workspace")->default_str(seed);
    option("workspaces", workspaces, "K",
           "number of workspaces (default 1); choose one with the\n"
           "selected-workspace-uuid header, the first is the default");
    app->add_flag("--live", f.live, "keep creating batches, runs and spans in real time");
    option("rate", rate, "RUNS_PER_S", "live run rate across all workflows")->default_str(rate);
    option("scenario", f.scenario, "FILE", "YAML scenario: events at offsets from start (docs/cargo-sim.md)");
    app->add_option("--fault", faults,
                    "a fault from start, repeatable, e.g.\nendpoint=/v1/orchestration/runs/count,error_ratio=0.5")
        ->type_name("SPEC")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app->add_flag("--control", f.control, "serve the control API under /_sim/ (faults, events, stats)");
    option("credits", credits, "N",
           "credits of each workspace's monthly plan; past them (and the\nadditional ones) creating a batch is refused\n"
           "notEnoughCredits (default 1000000, overage allowed)");
    option("additional-credits", additional_credits, "N", "additional credits of each workspace, spent after the plan's")
        ->default_str(additional_credits);
    option("credits-overage", overage, "deny|allow",
           "what happens past the balance: deny refuses new batches\n(default deny with --credits, allow without)");
    app->add_flag("--no-subscription", no_subscription,
                  "the workspaces have no subscription: /billing/subscriptions\nanswers subscriptionNotFound");
    option("log.level", f.log_level, "LEVEL", "debug, info, warn, error")->default_str(f.log_level);
    option("log.format", f.log_format, "FORMAT", "logfmt or json")->default_str(f.log_format);
    cli::finish(*app);
    try {
        if (!cli::parse(*app, std::vector<std::string>(argv + 1, argv + argc), std::cout)) std::exit(0);
        if (!plain_timezone_name(f.clickhouse_timezone))
            throw cli::UsageError("--clickhouse-timezone wants a zone name like Europe/Paris, got \"" +
                                  f.clickhouse_timezone + "\"");
        if (app->count("--clickhouse-timezone") > 0 && !f.clickhouse_url.empty())
            throw cli::UsageError("--clickhouse-timezone sets the zone of the private server of --clickhouse-data; "
                                  "a --clickhouse-url server keeps its own");
        if (app->count("--token") == 0)
            if (const char* t = std::getenv("CARGOMON_SIM_TOKEN")) f.token = t;
        f.generator.workflows = int(parse_int("--workflows", workflows, 1));
        std::string why;
        auto d = parse_duration(history, &why);
        if (!d) throw cli::UsageError("--history: " + why);
        f.generator.history = *d;
        f.generator.seed = std::uint64_t(parse_int("--seed", seed, 0));
        f.generator.workspaces = int(parse_int("--workspaces", workspaces, 1));
        char* end = nullptr;
        f.rate = std::strtod(rate.c_str(), &end);
        if (rate.empty() || *end != '\0' || !(f.rate > 0))
            throw cli::UsageError("--rate wants a positive number, got \"" + rate + "\"");
        auto credits_flag = [&](const std::string& flag, const std::string& value) {
            const double v = std::strtod(value.c_str(), &end);
            if (value.empty() || *end != '\0' || !(v >= 0) || !std::isfinite(v))
                throw cli::UsageError(flag + " wants a number >= 0, got \"" + value + "\"");
            return v;
        };
        if (!overage.empty() && overage != "deny" && overage != "allow")
            throw cli::UsageError("--credits-overage wants deny or allow, got \"" + overage + "\"");
        if (no_subscription) {
            if (!credits.empty() || !overage.empty() || app->count("--additional-credits") > 0)
                throw cli::UsageError("--no-subscription leaves no credits to set: drop --credits, "
                                      "--additional-credits and --credits-overage");
        } else {
            f.subscription = SubscriptionPlan{
                .credits_per_month = credits.empty() ? 1'000'000 : credits_flag("--credits", credits),
                .additional_credits = credits_flag("--additional-credits", additional_credits),
                .overage_denied = overage.empty() ? !credits.empty() : overage == "deny"};
        }
        for (const auto& spec : faults) {
            try {
                f.faults.push_back(parse_fault_flag(spec));
            } catch (const FaultSpecError& e) {
                throw cli::UsageError(e.what());
            }
        }
        if (f.log_level != "debug" && f.log_level != "info" && f.log_level != "warn" && f.log_level != "error")
            throw cli::UsageError("--log.level wants debug, info, warn or error, got \"" + f.log_level + "\"");
        if (f.log_format != "logfmt" && f.log_format != "json")
            throw cli::UsageError("--log.format wants logfmt or json, got \"" + f.log_format + "\"");
    } catch (const cli::UsageError& e) {
        usage_error(e.what());
    }
    if (f.token.empty()) usage_error("no token: pass --token or set CARGOMON_SIM_TOKEN");
    if (f.clickhouse_data.empty() == f.clickhouse_url.empty())
        usage_error("pass exactly one of --clickhouse-data DIR and --clickhouse-url URL");
    return f;
}

int run(const Flags& flags) {
    auto listen = parse_host_port(flags.listen);
    if (!listen) usage_error("--listen wants HOST:PORT, got \"" + flags.listen + "\"");
    std::string host = listen->host.empty() ? "0.0.0.0" : listen->host;

    // Signals are taken by sigwait() below, never by a random thread.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    // Everything a flag names is checked before ClickHouse starts, so a typo costs no wait.
    SystemClock clock;
    GeneratorOptions options = flags.generator;
    options.now = clock.now();
    std::vector<Workspace> workspaces = generate_workspaces(options);
    std::optional<Scenario> scenario;
    if (!flags.scenario.empty()) {
        try {
            scenario = load_scenario(flags.scenario, workspaces);
        } catch (const ScenarioError& e) {
            usage_error(e.what());
        }
    }

    // The port is taken before ClickHouse starts: a sim that cannot serve fails at once,
    // without loading (or touching) any data.
    httplib::Server server;
    server.set_tcp_nodelay(true);  // keep-alive answers otherwise wait on delayed ACKs
    // httplib's default options add SO_REUSEPORT, which lets a second sim bind the port of
    // a running one (and take some of its connections): SO_REUSEADDR only, so a taken port fails.
    server.set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    std::string base_url = "http://" + (listen->host.empty() ? std::string("127.0.0.1") : flags.listen.substr(0, flags.listen.rfind(':')));
    int port = listen->port;
    if (port == 0) port = server.bind_to_any_port(host);
    if (port <= 0 || (listen->port != 0 && !server.bind_to_port(host, port)))
        throw std::runtime_error("cannot listen on " + flags.listen + ": the port is taken (is another sim running?)");
    base_url += ":" + std::to_string(port);

    std::optional<ClickHouseServer> server_process;
    std::string clickhouse_url = flags.clickhouse_url;
    if (!flags.clickhouse_data.empty()) {
        server_process.emplace(flags.clickhouse_data, flags.clickhouse_timezone);
        clickhouse_url = server_process->url();
    }
    ClickHouseClient clickhouse(clickhouse_url);

    LoadStats loaded = load_history(clickhouse, workspaces, options);
    spdlog::info("history loaded: {} batches, {} runs, {} spans in {:.1f}s", loaded.batches, loaded.runs,
                 loaded.spans, loaded.seconds);

    Conditions conditions;
    FaultInjector faults(clock, options.seed);
    for (const auto& [endpoint, fault] : flags.faults) faults.set(endpoint, fault);

    RequestStats stats;
    faults.install(server, [&](const httplib::Request& req, const httplib::Response& res) { stats.record(req, res); });

    Api api(ApiContext{
        .clickhouse = &clickhouse,
        .workspaces = &workspaces,
        .token = flags.token,
        .public_base_url = base_url,
        .clock = &clock,
        .subscription = flags.subscription,
    });
    api.register_routes(server);
    std::optional<Control> control;
    if (flags.control) {
        control.emplace(faults, stats, conditions, workspaces, clock, flags.token);
        control->register_routes(server);
    }

    std::optional<LiveGenerator> live;
    if (flags.live) {
        live.emplace(clickhouse, workspaces, conditions, clock, flags.rate, options.seed);
        live->start();
    }
    std::optional<ScenarioRunner> runner;
    if (scenario) {
        runner.emplace(std::move(*scenario), conditions, faults, clock);
        runner->start();
    }

    std::thread http([&] { server.listen_after_bind(); });
    // bind_to_port already listens: connections queue until the accept loop runs.
    std::cout << "cargomon-sim listening on " << base_url << " (workspace " << workspaces.front().uuid
              << ", clickhouse " << clickhouse.url() << ")" << std::endl;
    spdlog::info("serving the Cargo API on {}/v1", base_url);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("{} received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    runner.reset();
    live.reset();
    server.stop();
    http.join();
    return 0;  // ClickHouse stops with server_process
}

}  // namespace

int main(int argc, char** argv) {
    Flags flags = parse_flags(argc, argv);
    try {
        setup_logging(flags.log_level, flags.log_format, "cargomon-sim");
        return run(flags);
    } catch (const std::exception& e) {
        std::cerr << "cargomon-sim: " << e.what() << "\n";
        return 1;
    }
}
