// bench_api_calls: what one cycle of the example configuration (config/examples/cargomon.yml)
// asks of the Cargo API, per collector, at 10, 100 and 1,000 workflows, in-process against
// cargomon-sim over HTTP. Each size runs two cycles as shipped (strategy auto: grouped SQL,
// at the configured client rate limit, so the cycle times are real), then the baseline in
// the same command: the same configuration with strategy api on run_counts, run_metrics
// and batches (one call per workflow, what they did before grouped SQL), rate limit off,
// its time at the configured rate estimated as calls / rate. Calls are the sim's own
// count (/_sim/stats), cross-checked with cargomon_api_requests_total.
#include <httplib.h>
#include <rapidjson/document.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "cargo/client.h"
#include "cargo/sleeper.h"
#include "collectors/factory.h"
#include "collectors/watermarks.h"
#include "config/config.h"
#include "tests/support/sim_process.h"

using namespace cargomon;
using Steady = std::chrono::steady_clock;

namespace {

// The target of issue 11: a whole cycle of the example configuration at 1,000 workflows.
constexpr std::uint64_t kMaxCallsPerCycle = 15;

class SimStats {
public:
    explicit SimStats(const testing::SimProcess& sim)
        : http_(sim.url()), headers_{{"authorization", "Bearer " + sim.token()}} {}
    void reset() {
        auto res = http_.Post("/_sim/stats/reset", headers_, "", "application/json");
        if (!res || res->status != 200) throw std::runtime_error("POST /_sim/stats/reset failed");
    }
    std::uint64_t total() {
        auto res = http_.Get("/_sim/stats", headers_);
        if (!res || res->status != 200) throw std::runtime_error("GET /_sim/stats failed");
        rapidjson::Document doc;
        doc.Parse(res->body.c_str());
        if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("total") || !doc["total"].IsUint64())
            throw std::runtime_error("GET /_sim/stats: unexpected answer " + res->body);
        return doc["total"].GetUint64();
    }

private:
    httplib::Client http_;
    httplib::Headers headers_;
};

double client_requests(const prometheus::Registry& registry) {
    double sum = 0;
    for (const auto& family : registry.Collect())
        if (family.name == "cargomon_api_requests_total")
            for (const auto& metric : family.metric) sum += metric.counter.value;
    return sum;
}

config::Config example_config(const testing::SimProcess& sim) {
    const std::string path = std::string(CARGOMON_SOURCE_DIR) + "/config/examples/cargomon.yml";
    auto loaded = config::load_config(
        path, config::Environment({{"CARGO_API_URL", sim.url()}, {"CARGO_API_TOKEN", sim.token()}}));
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded))
        throw std::runtime_error("example config: " + errors->front().to_string());
    return std::get<config::Config>(std::move(loaded));
}

// The per-workflow paths: strategy api wherever a collector has one.
config::Config per_workflow(config::Config c) {
    for (auto& collector : c.collectors)
        std::visit([](auto& spec) {
            if constexpr (requires { spec.strategy; }) spec.strategy = config::CountStrategy::api;
        }, collector.spec);
    return c;
}

struct CollectorCost {
    std::string name, kind;
    Millis interval{};
    std::uint64_t calls = 0;
    double seconds = 0;
};

struct Cycle {
    std::vector<CollectorCost> collectors;
    std::uint64_t calls = 0;
    bool counted = true;  // the sim and the client agree on every collector's calls
};

// One cycle: every collector once, discovery first as the file lists it.
Cycle run_cycle(const config::Config& c, double rate_limit, SimStats& stats) {
    SystemClock clock;
    cargo::ClockSleeper sleeper(clock);
    prometheus::Registry registry;
    cargo::ClientOptions options{.base_url = c.api_url, .token = c.token, .max_in_flight = c.client.max_in_flight,
                                 .rate_limit_per_s = rate_limit};
    auto transport = cargo::make_http_transport(options);
    cargo::ApiClient client(options, *transport, registry, clock, sleeper);
    collectors::WorkflowCatalog catalog;
    const auto dir = std::filesystem::temp_directory_path() / ("bench_api_calls." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    Cycle cycle;
    {
        collectors::WatermarkStore watermarks((dir / "watermarks.db").string());
        auto scheduled = collectors::make_collectors(
            c.collectors,
            {.client = client, .catalog = catalog, .clock = clock, .registry = registry, .watermarks = &watermarks});
        for (auto& s : scheduled) {
            stats.reset();
            const double before = client_requests(registry);
            const auto start = Steady::now();
            s.collector->collect({.deadline = clock.monotonic() + std::chrono::hours{1}});
            CollectorCost cost{.name = s.collector->name(),
                               .kind = std::string(s.collector->kind()),
                               .interval = s.schedule.interval,
                               .calls = stats.total(),
                               .seconds = std::chrono::duration<double>(Steady::now() - start).count()};
            cycle.counted &= client_requests(registry) - before == double(cost.calls);
            cycle.calls += cost.calls;
            cycle.collectors.push_back(std::move(cost));
        }
    }
    std::filesystem::remove_all(dir);
    return cycle;
}

std::string seconds_text(double s) {
    char buf[32];
    if (s < 1) std::snprintf(buf, sizeof buf, "%.0f ms", s * 1000);
    else std::snprintf(buf, sizeof buf, "%.1f s", s);
    return buf;
}

bool bench(int workflows, const std::string& history) {
    const auto up = Steady::now();
    testing::SimProcess sim({.workflows = workflows, .history = history, .seed = 1});
    std::printf("\n%d workflows, %s of history (sim up in %.0f s)\n", workflows, history.c_str(),
                std::chrono::duration<double>(Steady::now() - up).count());
    SimStats stats(sim);
    const auto shipped = example_config(sim);
    const double rate = shipped.client.rate_limit;

    const Cycle first = run_cycle(shipped, rate, stats);
    const Cycle second = run_cycle(shipped, rate, stats);
    const Cycle baseline = run_cycle(per_workflow(shipped), 0, stats);

    std::printf("  %-14s %-12s %9s %9s %12s %10s %12s %14s %8s\n", "collector", "kind", "interval", "calls", "2nd cycle",
                "time", "baseline", "at rate", "ratio");
    bool within_intervals = true;
    for (std::size_t i = 0; i < first.collectors.size(); ++i) {
        const auto& a = first.collectors[i];
        const auto& b = baseline.collectors[i];
        const double baseline_at_rate = double(b.calls) / rate;
        within_intervals &= a.seconds < std::chrono::duration<double>(a.interval).count();
        std::printf("  %-14s %-12s %8llds %9llu %12llu %10s %12llu %14s %7.0fx\n", a.name.c_str(), a.kind.c_str(),
                    static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(a.interval).count()),
                    static_cast<unsigned long long>(a.calls),
                    static_cast<unsigned long long>(second.collectors[i].calls), seconds_text(a.seconds).c_str(),
                    static_cast<unsigned long long>(b.calls), seconds_text(baseline_at_rate).c_str(),
                    double(b.calls) / double(std::max<std::uint64_t>(1, a.calls)));
    }
    std::printf("  %-14s %-12s %9s %9llu %12llu %10s %12llu %14s %7.0fx\n", "whole cycle", "", "",
                static_cast<unsigned long long>(first.calls), static_cast<unsigned long long>(second.calls), "",
                static_cast<unsigned long long>(baseline.calls), seconds_text(double(baseline.calls) / rate).c_str(),
                double(baseline.calls) / double(std::max<std::uint64_t>(1, first.calls)));
    const bool counted = first.counted && second.counted && baseline.counted;
    if (!counted) std::printf("  MISMATCH between the sim's count and cargomon_api_requests_total\n");
    std::printf("  target: at most %llu calls per cycle: %s; every collector within its interval at %.0f requests/s: %s\n",
                static_cast<unsigned long long>(kMaxCallsPerCycle), first.calls <= kMaxCallsPerCycle ? "met" : "MISSED",
                rate, within_intervals ? "met" : "MISSED");
    return counted && first.calls <= kMaxCallsPerCycle && within_intervals;
}

}  // namespace

int main() {
    std::printf("API calls of one cycle of config/examples/cargomon.yml, per collector. \"calls\", \"2nd cycle\" and\n"
                "\"time\": as shipped (strategy auto), at the file's client.rate_limit. \"baseline\": the same file with\n"
                "strategy api (one call per workflow), rate limit off; \"at rate\" is its calls / rate_limit, \"ratio\"\n"
                "baseline calls / calls.\n");
    bool ok = true;
    try {
        ok &= bench(10, "1d");
        ok &= bench(100, "1d");
        ok &= bench(1000, "6h");
    } catch (const std::exception& e) {
        std::printf("bench_api_calls failed: %s\n", e.what());
        return 1;
    }
    return ok ? 0 : 1;
}
