// The sample history at the size of issue 20: 100,000 series x 6 h at a 60 s interval
// (360 samples each, 36 million in all), values shaped like cargomon's: counters that
// grow by a few a minute, integer gauges that change now and then, ratio gauges. Prints
// bytes per sample (goal <= 2; Prometheus' head ~1.3), append and select throughput, the
// checkpoint's size and speed, and the resident memory the history adds.
//
// Twice: with timestamps on a regular grid (as Prometheus scrapes, and as the peers
// bench loads samples), and as the collectors stamp them today: each run's start moves
// by up to `jitter` (default 10%) of the interval either way, at random every run, which
// no delta-of-delta encoding can make cheap (docs/performance.md).
// `bench_history [SERIES]` runs fewer series, for a quick look.
#include <sys/resource.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "tsdb/checkpoint.h"
#include "tsdb/head.h"

using namespace cargomon;
using Steady = std::chrono::steady_clock;

namespace {

std::size_t kSeries = 100'000;  // argv[1] may set fewer, for a quick look
constexpr int kSamples = 360;
constexpr std::int64_t kStepMs = 60'000;
constexpr std::int64_t kStartMs = 1'800'000'000'000;

double rss_mib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024;
    return 0;
}

double seconds_since(Steady::time_point start) { return std::chrono::duration<double>(Steady::now() - start).count(); }

// CPU time of this process: what the work costs, whatever else shares the machine.
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

enum class Shape { counter, gauge, ratio };

struct Series {
    std::string name;
    metrics::Labels labels;
    Shape shape;
    double value = 0;
    double a = 0, b = 0;  // a ratio's parts
};

// 10,000 workflows x 10 series: run counts by status, credits, batch states, a ratio.
std::vector<Series> make_series(std::mt19937_64& random) {
    static const char* kCounters[] = {"cargo_workflow_runs_total", "cargo_node_executions_total",
                                      "cargo_credits_used_total", "cargomon_api_requests_total"};
    static const char* kGauges[] = {"cargo_batch_runs", "cargo_workflow_runs_pending", "cargo_workflow_batches",
                                    "cargo_batch_running_seconds"};
    static const char* kRatios[] = {"cargo_workflow_error_ratio", "cargo_batch_progress_ratio"};
    std::vector<Series> out;
    out.reserve(kSeries);
    for (std::size_t i = 0; out.size() < kSeries; ++i) {
        const std::string uuid = "wf-" + std::to_string(100000 + i) + "-3f9c2a7e";
        const std::string name = "workflow " + std::to_string(i);
        auto add = [&](const char* metric, Shape shape, const std::string& extra_name, const std::string& extra) {
            Series s{metric, {{extra_name, extra}, {"workflow_name", name}, {"workflow_uuid", uuid}}, shape};
            s.value = static_cast<double>(random() % 10'000);
            s.a = static_cast<double>(random() % 50);
            s.b = s.a + static_cast<double>(random() % 500 + 1);
            out.push_back(std::move(s));
        };
        for (int c = 0; c < 4; ++c) add(kCounters[c % 4], Shape::counter, "status", c % 2 ? "success" : "error");
        for (int g = 0; g < 4; ++g) add(kGauges[g], Shape::gauge, "window", g % 2 ? "1h" : "1d");
        for (int r = 0; r < 2; ++r) add(kRatios[r], Shape::ratio, "window", "1h");
    }
    out.resize(kSeries);
    return out;
}

void step(Series& s, std::mt19937_64& random) {
    switch (s.shape) {
        case Shape::counter: s.value += static_cast<double>(random() % 6); break;
        case Shape::gauge:
            if (random() % 10 == 0) s.value = std::max(0.0, s.value + static_cast<double>(random() % 7) - 3);
            break;
        case Shape::ratio:
            if (random() % 5 == 0) {
                s.a += static_cast<double>(random() % 3);
                s.b += static_cast<double>(random() % 20 + 1);
                s.value = s.a / s.b;
            }
            break;
    }
}

void run(double jitter) {
    std::mt19937_64 random(20);
    auto series = make_series(random);
    const double rss_before = rss_mib();
    tsdb::Head head;

    // Appending as the history does on publish: a lookup by name and labels, then the append.
    const auto append_start = Steady::now();
    const double append_cpu_start = cpu_seconds();
    for (int i = 0; i < kSamples; ++i) {
        const auto spread = static_cast<std::int64_t>(jitter * static_cast<double>(kStepMs));
        const std::int64_t t = kStartMs + i * kStepMs + (spread ? static_cast<std::int64_t>(random() % (2 * spread + 1)) - spread : 0);
        for (auto& s : series) {
            step(s, random);
            head.append(head.series(s.name, s.labels), t, s.value);
        }
    }
    const double append_s = seconds_since(append_start);
    const double append_cpu = cpu_seconds() - append_cpu_start;
    const auto stats = head.stats();
    const double rss_after = rss_mib();

    const std::size_t chunk_bytes = stats.chunk_bytes;
    const double samples = static_cast<double>(stats.samples);
    std::printf("== timestamps %s\n", jitter > 0 ? "as collected (each run moved by up to 10% of the interval)"
                                                  : "on a regular grid (as scraped)");
    std::printf("history: %zu series x %d samples at %llds (%.0f samples)\n", stats.series, kSamples,
                static_cast<long long>(kStepMs / 1000), samples);
    std::printf("bytes per sample: %.2f in chunks, %.2f with the series' labels and index (cargomon_history_bytes "
                "%.1f MiB)\n",
                static_cast<double>(chunk_bytes) / samples, static_cast<double>(stats.bytes) / samples,
                static_cast<double>(stats.bytes) / 1048576);
    if (rss_after > rss_before + 1)  // the second run reuses the first one's freed pages: nothing to say
        std::printf("resident memory added: %.1f MiB (%.2f bytes per sample, %.0f bytes per series)\n",
                    rss_after - rss_before, (rss_after - rss_before) * 1048576 / samples,
                    (rss_after - rss_before) * 1048576 / static_cast<double>(stats.series));
    std::printf("append: %.2f s wall, %.2f s CPU: %.2f M samples/s a core (lookup by labels included)\n", append_s,
                append_cpu, samples / append_cpu / 1e6);

    // Selecting: one metric name over the last hour (10,000 series x 60 samples), and one
    // workflow over the whole 6 h (10 series x 360).
    std::vector<metrics::Matcher> by_name = {std::get<metrics::Matcher>(
        metrics::make_matcher("__name__", metrics::Matcher::Op::equal, "cargo_workflow_runs_total"))};
    const std::int64_t end = kStartMs + (kSamples - 1) * kStepMs + 59'999;
    std::size_t selected_series = 0, selected_samples = 0;
    const double select_cpu_start = cpu_seconds();
    constexpr int kRounds = 10;
    for (int r = 0; r < kRounds; ++r)
        head.select(by_name, end - 3'600'000, end, [&](const metrics::Labels&, std::span<const tsdb::Sample> s) {
            ++selected_series;
            selected_samples += s.size();
        });
    const double select_s = cpu_seconds() - select_cpu_start;
    std::printf("select by name, last 1h: %.1f ms CPU for %zu series, %.1f M samples/s\n", select_s / kRounds * 1e3,
                selected_series / kRounds, static_cast<double>(selected_samples) / select_s / 1e6);
    std::vector<metrics::Matcher> one = {std::get<metrics::Matcher>(
        metrics::make_matcher("workflow_uuid", metrics::Matcher::Op::equal, "wf-104242-3f9c2a7e"))};
    std::size_t one_samples = 0;
    const double one_start = cpu_seconds();
    for (int r = 0; r < 1000; ++r)
        head.select(one, tsdb::kMinTime, tsdb::kMaxTime,
                    [&](const metrics::Labels&, std::span<const tsdb::Sample> s) { one_samples += s.size(); });
    std::printf("select one workflow, 6h: %.1f us CPU for %zu samples\n", (cpu_seconds() - one_start) / 1000 * 1e6,
                one_samples / 1000);

    const auto path = std::filesystem::temp_directory_path() / "bench_history.ckpt";
    const auto write_start = Steady::now();
    const auto written = tsdb::write_checkpoint(head, path);
    const double write_s = seconds_since(write_start);
    tsdb::Head loaded;
    const auto load_start = Steady::now();
    std::ifstream in(path, std::ios::binary);
    const auto read = tsdb::load_checkpoint(in, loaded, std::size_t{1} << 32);
    const double load_s = seconds_since(load_start);
    std::filesystem::remove(path);
    std::printf("checkpoint: %.1f MiB written in %.2f s, read back in %.2f s (%zu series%s)\n",
                static_cast<double>(written.bytes) / 1048576, write_s, load_s, read.series,
                read.error ? ", ERROR" : "");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) kSeries = std::stoul(argv[1]);
    run(0);
    std::printf("\n");
    run(0.1);
    return 0;
}
