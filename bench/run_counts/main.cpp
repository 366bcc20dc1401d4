// bench_run_counts: what one cycle of the run_counts collector (windows 1h and 24h, every
// status, ratios on) costs in Cargo API calls and time, strategy auto (one grouped SQL
// query per window) against strategy api (one runs/count per workflow, status and
// window), for 10, 100 and 1,000 workflows, in-process against cargomon-sim over HTTP.
#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cargo/client.h"
#include "collectors/discovery.h"
#include "collectors/run_counts.h"
#include "collectors/series.h"
#include "tests/support/sim_process.h"

using namespace cargomon;
using Steady = std::chrono::steady_clock;

namespace {

constexpr int kCycles = 3;
// Past this, three api cycles at 1,000 workflows would hold the machine for minutes:
// measure a subset of statuses instead and scale up.
constexpr double kApiBudgetSeconds = 120;
// The rates a default configuration runs at: the YAML default and ClientOptions' own.
constexpr double kDefaultRates[] = {5, 10};

// The sim's own count of the /v1 requests it answered (the control API is not counted).
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

// cargomon_api_requests_total summed over endpoints and codes: the client's own count.
double client_requests(const prometheus::Registry& registry) {
    double sum = 0;
    for (const auto& family : registry.Collect())
        if (family.name == "cargomon_api_requests_total")
            for (const auto& metric : family.metric) sum += metric.counter.value;
    return sum;
}

// A snapshot as "family{label=value,...}" -> value, to compare two strategies' series.
using Series = std::map<std::string, double>;

Series series_of(const metrics::Snapshot& snapshot, const std::string& only_status = "") {
    Series out;
    for (const auto& family : snapshot.families) {
        if (!only_status.empty() && family.name != "cargo_workflow_runs") continue;
        for (const auto& sample : family.samples) {
            std::string key = family.name + "{";
            bool keep = only_status.empty();
            for (const auto& [name, value] : sample.labels) {
                key += name + "=" + value + ",";
                if (name == "status" && value == only_status) keep = true;
            }
            if (keep) out[key + "}"] = sample.value;
        }
    }
    return out;
}

double runs_in_window(const metrics::Snapshot& snapshot, const std::string& window) {
    double sum = 0;
    for (const auto& family : snapshot.families) {
        if (family.name != "cargo_workflow_runs") continue;
        for (const auto& sample : family.samples)
            for (const auto& [name, value] : sample.labels)
                if (name == "window" && value == window) sum += sample.value;
    }
    return sum;
}

struct Measured {
    std::uint64_t calls = 0;          // per cycle, from the sim
    double client_calls = 0;          // per cycle, from cargomon_api_requests_total
    double seconds = 0;               // median cycle time
    metrics::Snapshot last;
};

// Runs `cycles` collections of a fresh collector; every cycle must cost the same calls.
Measured measure(const std::string& name, const config::RunCountsSpec& spec, cargo::ApiClient& client,
                 const collectors::WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry& registry,
                 SimStats& stats, int cycles) {
    collectors::RunCountsCollector collector(name, spec, client, catalog, clock, registry);
    Measured m;
    std::vector<double> times;
    for (int i = 0; i < cycles; ++i) {
        stats.reset();
        const double client_before = client_requests(registry);
        const auto start = Steady::now();
        m.last = collector.collect({.deadline = clock.monotonic() + std::chrono::hours{1}});
        times.push_back(std::chrono::duration<double>(Steady::now() - start).count());
        const std::uint64_t calls = stats.total();
        const double client_calls = client_requests(registry) - client_before;
        if (i > 0 && (calls != m.calls || client_calls != m.client_calls))
            throw std::runtime_error(name + ": calls changed between cycles");
        m.calls = calls;
        m.client_calls = client_calls;
    }
    std::sort(times.begin(), times.end());
    m.seconds = times[times.size() / 2];
    return m;
}

std::string seconds_text(double s) {
    char buf[32];
    if (s < 1) std::snprintf(buf, sizeof buf, "%.1f ms", s * 1000);
    else std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}

void print_row(const char* strategy, const Measured& m, const char* note = "") {
    std::printf("  %-5s %8llu calls (client counted %.0f)  cycle %-10s", strategy,
                static_cast<unsigned long long>(m.calls), m.client_calls, seconds_text(m.seconds).c_str());
    for (double rate : kDefaultRates) std::printf("  at %.0f/s ~%s", rate, seconds_text(double(m.calls) / rate).c_str());
    std::printf("%s\n", note);
}

// One sim of `workflows` workflows, both strategies against it; false when something is off.
bool bench(int workflows, const std::string& history, double& api_seconds_per_call) {
    const auto up = Steady::now();
    testing::SimProcess sim({.workflows = workflows, .history = history, .seed = 1});
    const double up_s = std::chrono::duration<double>(Steady::now() - up).count();
    SimStats stats(sim);

    SystemClock clock;
    cargo::ClockSleeper sleeper(clock);
    prometheus::Registry registry;
    const cargo::ClientOptions options{.base_url = sim.url(), .token = sim.token(), .max_in_flight = 8,
                                       .rate_limit_per_s = 0};
    auto transport = cargo::make_http_transport(options);
    cargo::ApiClient client(options, *transport, registry, clock, sleeper);

    collectors::WorkflowCatalog catalog;
    collectors::DiscoveryCollector discovery("discovery", {}, client, catalog, clock);
    discovery.collect({.deadline = clock.monotonic() + std::chrono::minutes{1}});

    // Both strategies count the same windows: the collectors' clock stands still.
    FakeClock frozen(collectors::whole_seconds(clock.now()));
    config::RunCountsSpec auto_spec;  // windows 1h and 24h, every status, ratios, strategy auto
    config::RunCountsSpec api_spec = auto_spec;
    api_spec.strategy = config::CountStrategy::api;

    Measured sql = measure("auto", auto_spec, client, catalog, frozen, registry, stats, kCycles);
    const double runs_1d = runs_in_window(sql.last, collectors::window_label(std::chrono::hours{24}));
    std::printf("\n%d workflows (%zu discovered), %s of history, %.0f runs in the 24h window; sim up in %.1f s\n",
                workflows, catalog.require()->covered.size(), history.c_str(), runs_1d, up_s);

    // Calls one api cycle makes: every workflow x counted status x window.
    const std::size_t statuses = api_spec.statuses.size();
    const double full_calls = double(catalog.require()->covered.size() * statuses * api_spec.windows.size());
    const double predicted = api_seconds_per_call * full_calls * kCycles;
    Measured api;
    const char* note = "";
    bool identical = false;
    double scale = 1;
    if (api_seconds_per_call > 0 && predicted > kApiBudgetSeconds) {
        // Only the error status, ratios off: 1/8 of the calls; scaled up, clearly marked.
        config::RunCountsSpec subset = api_spec;
        subset.statuses = {"error"};
        subset.ratios = false;
        scale = double(statuses);
        api = measure("api", subset, client, catalog, frozen, registry, stats, kCycles);
        identical = series_of(api.last) == series_of(sql.last, "error");
        std::printf("  (api measured over status error only, ratios off: %llu calls/cycle in %s; "
                    "the api row is that x%.0f, EXTRAPOLATED)\n",
                    static_cast<unsigned long long>(api.calls), seconds_text(api.seconds).c_str(), scale);
        api.calls = static_cast<std::uint64_t>(double(api.calls) * scale);
        api.client_calls *= scale;
        api.seconds *= scale;
        note = "  [extrapolated]";
    } else {
        api = measure("api", api_spec, client, catalog, frozen, registry, stats, kCycles);
        identical = series_of(api.last) == series_of(sql.last);
    }
    api_seconds_per_call = api.seconds / double(api.calls);

    print_row("auto", sql);
    print_row("api", api, note);
    const std::size_t windows = auto_spec.windows.size();
    std::printf("  api/auto: %.0fx the calls, %.1fx the time; identical series%s: %s\n",
                double(api.calls) / double(sql.calls), api.seconds / sql.seconds,
                scale > 1 ? " (status error)" : "", identical ? "yes" : "no");
    std::printf("  target: auto makes one call per window (%zu): %s\n", windows,
                sql.calls == windows ? "met" : "MISSED");
    const bool counted = sql.client_calls == double(sql.calls) && api.client_calls == double(api.calls);
    if (!counted) std::printf("  MISMATCH between the sim's count and cargomon_api_requests_total\n");
    return identical && counted && sql.calls == windows && double(api.calls) == full_calls;
}

}  // namespace

int main() {
    std::printf("run_counts collector, one cycle = windows 1h and 24h x 8 statuses, ratios on;\n"
                "calls per cycle from the sim's /_sim/stats (cross-checked with cargomon_api_requests_total),\n"
                "cycle time the median of %d cycles. The client runs with rate limiting OFF (rate_limit_per_s = 0)\n"
                "and max_in_flight 8 (the collector issues its calls one after another, so 1 is used);\n"
                "\"at R/s\" estimates the cycle at a default rate limit as calls / R.\n",
                kCycles);
    double api_seconds_per_call = 0;  // learnt from the smaller runs, to keep 1,000 in budget
    bool ok = true;
    try {
        ok &= bench(10, "1d", api_seconds_per_call);
        ok &= bench(100, "1d", api_seconds_per_call);
        ok &= bench(1000, "6h", api_seconds_per_call);
    } catch (const std::exception& e) {
        std::printf("bench_run_counts failed: %s\n", e.what());
        return 1;
    }
    return ok ? 0 : 1;
}
