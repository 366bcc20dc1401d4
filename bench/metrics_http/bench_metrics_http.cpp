// /metrics speed on this machine: scrape latency (plain and gzip) and resident memory with
// 10,000 and 100,000 series of realistic cargo_* names and labels in the store.
#include <httplib.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/metrics_endpoint.h"
#include "bench/support/scrape.h"
#include "exporters/gzip.h"
#include "exporters/exposition.h"

using namespace cargomon;
using Steady = std::chrono::steady_clock;

namespace {

double ms_since(Steady::time_point start) {
    return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

double vm_rss_mib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024;  // kB
    return 0;
}

const char* statuses[] = {"success", "error", "running", "pending", "cancelled"};
const char* windows[] = {"5m", "1h", "24h", "7d"};
constexpr int series_per_workflow = 2 * 5 * 4;  // two families x statuses x windows

// `series` series over as many workflows as it takes, the way the workflow collector shapes them.
metrics::Snapshot workflow_snapshot(int series, double bump) {
    metrics::Family runs{.name = "cargo_workflow_runs", .help = "Runs of a workflow in the window, by status.",
                         .type = metrics::MetricType::gauge};
    metrics::Family records{.name = "cargo_workflow_records_processed_total",
                            .help = "Records processed by a workflow's runs, by status.",
                            .type = metrics::MetricType::counter};
    for (int w = 0; w * series_per_workflow < series; ++w) {
        char uuid[40];
        std::snprintf(uuid, sizeof uuid, "6f1c%04x-2b7e-4c1a-9d3e-%012x", w & 0xffff, w * 7919);
        std::string name = "Enrich inbound leads " + std::to_string(w);
        for (const char* status : statuses)
            for (const char* window : windows) {
                metrics::Labels labels{{"status", status}, {"window", window}, {"workflow_name", name},
                                       {"workflow_uuid", uuid}};
                runs.samples.push_back({labels, static_cast<double>((w * 31) % 977) + bump});
                records.samples.push_back({std::move(labels), static_cast<double>(w) * 12.5 + bump});
            }
    }
    return metrics::Snapshot{{std::move(runs), std::move(records)}};
}

struct Latency {
    double p50, p99;
    std::size_t bytes;
};

Latency scrape(int port, int requests, bool gzip) {
    auto [ms, bytes] = bench::time_scrapes(port, requests, gzip);
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], bytes};
}

}  // namespace

int main() {
    std::printf("cargomon /metrics benchmark (2 shared cores; client and server in one process)\n");
    metrics::MetricStore store;
    prometheus::Registry registry;
    const bench::MetricsEndpoint server(store, registry);
    scrape(server.port(), 3, false);
    double idle_rss = vm_rss_mib();
    std::printf("VmRSS idle: %.1f MiB\n", idle_rss);

    for (int series : {10'000, 100'000}) {
        auto snapshot = workflow_snapshot(series, 0);
        auto start = Steady::now();
        store.publish("workflows", std::move(snapshot), std::chrono::system_clock::now());
        double publish_ms = ms_since(start);
        int requests = series > 50'000 ? 40 : 100;
        auto plain = scrape(server.port(), requests, false);
        auto gzip = scrape(server.port(), requests, true);
        std::printf("\n%zu series, publish (validate + render + swap) %.0f ms\n", store.series_count(), publish_ms);
        std::printf("  plain: p50 %.1f ms  p99 %.1f ms  (%zu KiB)\n", plain.p50, plain.p99, plain.bytes / 1024);
        std::printf("  gzip:  p50 %.1f ms  p99 %.1f ms  (%zu KiB)\n", gzip.p50, gzip.p99, gzip.bytes / 1024);
        if (series == 100'000) {
            std::printf("  target p50 < 100 ms: plain %.1fx under, gzip %.1fx under\n", 100 / plain.p50,
                        100 / gzip.p50);
            // The baseline: what each gzip scrape cost before the store part was compressed
            // once per publish (the whole body compressed for every scrape).
            std::vector<double> whole;
            for (int i = 0; i < 5; ++i) {
                auto begin = Steady::now();
                auto body = exporters::gzip_compress(
                    exporters::Exposition(registry.Collect(), store.view(), metrics::Format::text).pieces());
                whole.push_back(ms_since(begin));
            }
            std::sort(whole.begin(), whole.end());
            std::printf("  gzip per scrape without the cache (baseline): p50 %.1f ms of compression; cached gzip "
                        "scrape %.1fx faster; gzip/plain p50 %.2f (target <= 2)\n",
                        whole[2], whole[2] / gzip.p50, gzip.p50 / plain.p50);
            double rss = vm_rss_mib();
            std::printf("  VmRSS: %.1f MiB (%.1f MiB over idle, %.0f bytes per series)\n", rss, rss - idle_rss,
                        (rss - idle_rss) * 1024 * 1024 / series);
        }
    }

    // Why /metrics renders the snapshots directly instead of prometheus-cpp objects.
    auto view = store.view();
    auto start = Steady::now();
    auto direct = exporters::Exposition({}, view, metrics::Format::text).str();
    double direct_ms = ms_since(start);
    start = Steady::now();
    auto via_collect =
        exporters::Exposition(store.Collect(), std::make_shared<metrics::StoreView>(), metrics::Format::text).str();
    double collect_ms = ms_since(start);
    std::printf("\n100,000 series to one string: from the pre-rendered snapshots %.1f ms, via Collect() %.1f ms (%.1fx)%s\n",
                direct_ms, collect_ms, collect_ms / direct_ms, direct == via_collect ? "" : "  OUTPUTS DIFFER");

    // Scrapes while the collector republishes its 100,000 series over and over.
    std::atomic<bool> done{false};
    std::atomic<int> publishes{0};
    std::thread publisher([&] {
        for (double bump = 1; !done; ++bump) {
            store.publish("workflows", workflow_snapshot(100'000, bump), std::chrono::system_clock::now());
            ++publishes;
        }
    });
    auto busy = scrape(server.port(), 40, false);
    done = true;
    publisher.join();
    std::printf("scrapes during %d republishes of 100,000 series: p50 %.1f ms  p99 %.1f ms\n", publishes.load(),
                busy.p50, busy.p99);
    return 0;
}
