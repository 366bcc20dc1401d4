// CPU the alert engine (alerts/engine.h) uses between evaluations: N active (firing)
// alerts from one rule group evaluated every minute, one notification group per alert
// (group_interval 1m),
// measured with getrusage over an idle window that holds no evaluation and no flush.
// The baseline, in the same run, is the same engine with no rules: what idling
// costs anyway. Target (issue 11): under 0.01 cores with 10,000 alerts.
// Usage: bench_alerting_idle [N] [window seconds] (defaults 10000, 20).
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "alerts/engine.h"
#include "config/config.h"
#include "metrics/metric_store.h"

using namespace cargomon;
using namespace std::chrono_literals;

namespace {

double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return secs(u.ru_utime) + secs(u.ru_stime);
}

config::AlertingConfig alerting_config() {
    auto parsed = config::parse_alerting(R"(
route: {receiver: quiet, group_by: [id], group_wait: 1s, group_interval: 1m, repeat_interval: 4h}
receivers: [{name: quiet}]
)", "bench.yml", config::Environment::process());
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&parsed)) {
        std::fprintf(stderr, "bad config: %s\n", errors->front().to_string().c_str());
        std::exit(1);
    }
    return std::get<config::AlertingConfig>(std::move(parsed));
}

// Cores used by an alerts::Engine over `alerts` series during `window`, measured after `settle`
// (the first evaluation, the first flushes and the state's first save).
double idle_cores(const std::filesystem::path& dir, int alerts, std::chrono::seconds settle, std::chrono::seconds window) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    metrics::MetricStore store;
    metrics::Family up{.name = "bench_up", .help = "1 per series", .type = metrics::MetricType::gauge, .samples = {}};
    for (int i = 0; i < alerts; ++i) up.samples.push_back({{{"id", std::to_string(i)}}, 1});
    store.publish("bench", metrics::Snapshot{{std::move(up)}}, std::chrono::system_clock::now());

    alerts::EngineSetup setup;
    setup.alerting = alerting_config();
    if (alerts > 0) {
        const auto file = (dir / "rules.yml").string();
        std::ofstream(file) << "groups:\n  - name: idle\n    interval: 1m\n    rules:\n"
                               "      - alert: Up\n        expr: bench_up > 0\n";
        auto groups = alerts::rules::load_rule_files({file});
        setup.groups = std::get<std::vector<alerts::rules::RuleGroup>>(std::move(groups));
    }
    prometheus::Registry registry;
    SystemClock clock;
    alerts::Engine engine(std::move(setup), (dir / "cargomon.db").string(), store, registry, clock, [] { return true; });
    engine.start();
    std::this_thread::sleep_for(settle);
    const double before = cpu_seconds();
    const auto started = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(window);
    const double used = cpu_seconds() - before;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    engine.stop();
    return used / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::stoi(argv[1]) : 10'000;
    const int window = argc > 2 ? std::stoi(argv[2]) : 20;
    // Evaluation at 0 s, flushes at about 1 s; the next evaluation and flush are due at 60 s.
    const auto settle = 8s;
    if (n <= 0 || window <= 0 || window > 45) {
        std::fprintf(stderr, "usage: bench_alerting_idle [N > 0] [window seconds, 1..45]\n");
        return 2;
    }
    spdlog::set_level(spdlog::level::warn);  // 10,000 "alert firing" lines would be measured too
    const auto dir = std::filesystem::temp_directory_path() / ("bench_alerting_idle." + std::to_string(::getpid()));
    const double baseline = idle_cores(dir, 0, 2s, std::chrono::seconds{window});
    const double loaded = idle_cores(dir, n, settle, std::chrono::seconds{window});
    std::filesystem::remove_all(dir);
    std::printf("idle CPU between evaluations over %d s (1-minute rule and group intervals)\n", window);
    std::printf("  no rules (baseline):   %.4f cores\n", baseline);
    std::printf("  %6d firing alerts:    %.4f cores  (target < 0.01)\n", n, loaded);
    std::printf("  ratio to baseline:     %.1fx\n", baseline > 0 ? loaded / baseline : 0.0);
    return 0;
}
