// bench_sim_generate: 7 days x 50 workflows of history into a private ClickHouse,
// against the target of under 60 s for at least a million spans.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "sim/clickhouse/clickhouse.h"
#include "sim/gen/generator.h"

namespace {

using namespace cargomon::sim;

constexpr double kTargetSeconds = 60;
constexpr std::uint64_t kTargetSpans = 1'000'000;

// Generation alone, to tell generator time from ClickHouse time.
struct CountingSink final : RowSink {
    std::uint64_t rows = 0;
    void batch(const BatchRow&) override { ++rows; }
    void run(const RunRow&) override { ++rows; }
    void span(const SpanRow&) override { ++rows; }
    void record(const RecordRow&) override { ++rows; }
};

}  // namespace

int main() {
    spdlog::set_level(spdlog::level::warn);
    GeneratorOptions options{.workflows = 50,
                             .history = std::chrono::hours{24 * 7},
                             .seed = 1,
                             .workspaces = 1,
                             .now = std::chrono::system_clock::now()};
    const auto workspaces = generate_workspaces(options);

    const auto g0 = std::chrono::steady_clock::now();
    CountingSink counting;
    for (const Workspace& ws : workspaces) generate_history(ws, options, counting);
    const double generate_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();

    std::string dir = (std::filesystem::temp_directory_path() / "bench_sim_generate_XXXXXX").string();
    if (!mkdtemp(dir.data())) {
        std::perror("mkdtemp");
        return 1;
    }
    LoadStats stats;
    {
        ClickHouseServer server(dir);
        ClickHouseClient client(server.url());
        stats = load_history(client, workspaces, options);
    }
    std::filesystem::remove_all(dir);

    const std::uint64_t rows = stats.batches + stats.runs + stats.spans + stats.records;
    std::printf("sim_generate: 7d x 50 workflows\n");
    std::printf("  rows generated     %llu (batches %llu, runs %llu, spans %llu, records %llu)\n",
                (unsigned long long)rows, (unsigned long long)stats.batches, (unsigned long long)stats.runs,
                (unsigned long long)stats.spans, (unsigned long long)stats.records);
    std::printf("  generation only    %.2f s (%.0f rows/s, no encoding)\n", generate_s, counting.rows / generate_s);
    std::printf("  load into ClickHouse %.2f s, %.0f spans/s, %.0f rows/s\n", stats.seconds,
                stats.spans / stats.seconds, rows / stats.seconds);
    std::printf("  target             >= %llu spans in < %.0f s: time ratio %.2f (< 1 meets it), spans %s\n",
                (unsigned long long)kTargetSpans, kTargetSeconds, stats.seconds / kTargetSeconds,
                stats.spans >= kTargetSpans ? "enough" : "TOO FEW");
    return 0;
}
