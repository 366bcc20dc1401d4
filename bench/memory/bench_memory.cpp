// Resident memory of the real daemon over 30 collection cycles at about 100,000 series,
// against the Pushgateway holding the same exposition (issue 11 item 2). The series come
// from query collectors over the sim's spans (10,000 rows a query, the API's cap), so
// each cycle is what the daemon does in production: HTTP answers parsed on the worker
// pool, whole new snapshots published, scrapes served, rules evaluated.
//
//   bench_memory [cycles] [--compare] [--env NAME=VALUE]...
//
// cycles defaults to 30. --env sets a variable for the daemon run (an allocator setting
// to try: MALLOC_ARENA_MAX=8, GLIBC_TUNABLES=...). --compare adds two runs of the same
// binary as baselines: glibc's defaults (CARGOMON_MALLOC_TUNING=off) and jemalloc
// preloaded. The daemon logs the malloc settings it runs with; they are printed as read.
#include <httplib.h>
#include <rapidjson/document.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/daemon/daemon_process.h"
#include "tests/support/prom_process.h"
#include "tests/support/sim_process.h"

using namespace cargomon;
using namespace std::chrono_literals;

namespace {

constexpr int kCollectors = 5;
constexpr int kRowsPerQuery = 10'000;  // the API's max_result_rows
constexpr int kMetricsPerRow = 2;
// Long enough that a collection finishes inside it on a machine busy with builds.
constexpr const char* kInterval = "6s";

double rss_mib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024;  // kB
    return 0;
}

// kCollectors query collectors, each a different 10,000-span page and two gauges a row.
std::string config(const std::string& interval, const std::string& rules_file) {
    std::ostringstream yaml;
    yaml << "api_url: http://unused.invalid\n"
         << "token: unused\n"
         << "client:\n  rate_limit: 1000\n  max_in_flight: 8\n"
         << "defaults:\n  interval: " << interval << "\n  jitter: 0\n"
         << "rule_files: [" << rules_file << "]\n"
         << "collectors:\n  - name: discovery\n    kind: discovery\n";
    for (int c = 0; c < kCollectors; ++c) {
        yaml << "  - name: spans" << c << "\n    kind: query\n    sql: >-\n"
             << "      SELECT workflow_uuid, run_uuid, node_uuid, node_slug, toString(execution_index) AS execution,\n"
             << "      execution_credits_used_count AS credits, toFloat64(execution_index) AS idx FROM spans\n"
             << "      ORDER BY run_uuid, node_uuid, execution_index LIMIT " << kRowsPerQuery << " OFFSET "
             << c * kRowsPerQuery << "\n"
             << "    metrics:\n";
        for (const char* metric : {"credits", "idx"})
            yaml << "      - name: cargo_bench" << c << "_span_" << metric << "\n        value: " << metric
                 << "\n        labels: [workflow_uuid, run_uuid, node_uuid, node_slug, execution]\n";
    }
    return yaml.str();
}

// Two rules that read every collector's series, so each evaluation indexes all of them.
const char* kRules = R"(groups:
  - name: bench
    interval: 5s
    rules:
      - alert: BenchCreditsHigh
        expr: sum by (workflow_uuid) ({__name__=~"cargo_bench.*_span_credits"}) > 1e12
      - alert: BenchDeepExecution
        expr: count by (node_slug) ({__name__=~"cargo_bench.*_span_idx"} > 1000) > 0
)";

// Runs of each query collector so far: the distinct last_run_start values seen.
// RSS is read between collections (no collector running), so each figure is what the
// daemon holds, not how far a run in flight happens to be.
struct Cycles {
    std::map<std::string, std::set<std::string>> starts;
    bool idle = false;  // at the last observation
    void observe(const testing::DaemonProcess& daemon) {
        idle = false;
        auto answer = daemon.get("/api/v1/status");
        rapidjson::Document doc;
        if (answer.status != 200 || doc.Parse(answer.body.c_str()).HasParseError()) return;
        idle = true;
        for (const auto& c : doc["collectors"].GetArray()) {
            std::string name = c["name"].GetString();
            if (c["running"].GetBool()) idle = false;
            if (!name.starts_with("spans") || !c["last_run_start"].IsString() || !c["up"].GetBool() ||
                c["running"].GetBool())
                continue;
            starts[name].insert(c["last_run_start"].GetString());
        }
    }
    std::size_t completed() const {
        if (starts.size() < kCollectors) return 0;
        std::size_t n = SIZE_MAX;
        for (const auto& [name, s] : starts) n = std::min(n, s.size());
        return n;
    }
};

// A Prometheus-like scrape (gzip accepted), so the daemon also serves while it collects.
std::string scrape(const std::string& url, bool gzip) {
    httplib::Client client(url);
    client.set_read_timeout(60);
    client.set_decompress(true);
    httplib::Headers headers;
    if (gzip) headers.emplace("Accept-Encoding", "gzip");
    auto res = client.Get("/metrics", headers);
    if (!res || res->status != 200) throw std::runtime_error("scrape of " + url + " failed");
    return res->body;
}

// The store's families of an exposition: every block but the daemon's own cargomon_*.
std::string store_part(const std::string& exposition) {
    std::istringstream in(exposition);
    std::string out, line;
    while (std::getline(in, line))
        if (line.find("cargomon_") == std::string::npos) out += line + '\n';
    return out;
}

class Pushgateway : public testing::ToolServer {
public:
    Pushgateway()
        : ToolServer("prometheus-pushgateway", {"--web.listen-address=127.0.0.1:{port}"},
                     {}) {}
    double rss_mib() const {
        httplib::Client client(url());
        auto res = client.Get("/metrics");
        if (!res) return 0;
        std::istringstream in(res->body);
        std::string line;
        while (std::getline(in, line))
            if (line.starts_with("process_resident_memory_bytes "))
                return std::stod(line.substr(line.find(' ') + 1)) / (1024 * 1024);
        return 0;
    }
};

struct Run {
    std::vector<double> rss;        // between collections, after each cycle...
    std::vector<std::size_t> cycle;  // ...of these (one is skipped if the next began before an idle moment)
    std::size_t series = 0;
    std::string exposition;
    std::string malloc_settings;  // the daemon's own line about them, from its log
};

// The daemon logs "malloc: ..." once at start (metrics/allocator.h).
std::string malloc_line(const std::string& log) {
    auto at = log.find("malloc: ");
    if (at == std::string::npos) return "(not logged: glibc defaults)";
    auto line = log.substr(at, log.find('\n', at) - at);
    if (line.ends_with('"')) line.pop_back();  // logfmt's quotes around msg
    return line;
}

Run run_daemon(const testing::SimProcess& sim, int cycles, const std::map<std::string, std::string>& extra_env) {
    std::map<std::string, std::string> env = {{"CARGO_API_URL", sim.url()}, {"CARGO_API_TOKEN", sim.token()}};
    env.insert(extra_env.begin(), extra_env.end());
    const std::string rules_file = "/tmp/cargomon-bench-memory-" + std::to_string(::getpid()) + "-rules.yml";
    std::ofstream(rules_file) << kRules;
    testing::DaemonProcess daemon(config(kInterval, rules_file), {.env = env, .wait_ready = false});
    std::remove(rules_file.c_str());  // read at start
    Run run;
    Cycles seen;
    std::size_t done = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60 + 30 * cycles);
    int polls = 0;
    while (done < static_cast<std::size_t>(cycles)) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("cycles too slow:\n" + daemon.log());
        std::this_thread::sleep_for(200ms);
        if (++polls % 10 == 0) scrape(daemon.url(), true);
        seen.observe(daemon);
        if (seen.idle && done < seen.completed()) {
            done = seen.completed();
            run.rss.push_back(rss_mib(daemon.process().pid()));
            run.cycle.push_back(done);
        }
    }
    run.exposition = scrape(daemon.url(), false);
    auto answer = daemon.get("/api/v1/status");
    rapidjson::Document doc;
    doc.Parse(answer.body.c_str());
    run.series = doc["series"].GetUint64();
    run.malloc_settings = malloc_line(daemon.log());
    return run;
}

void print(const std::string& label, const Run& run) {
    double first = run.rss.front(), last = run.rss.back();
    double peak = *std::max_element(run.rss.begin(), run.rss.end());
    std::printf("%s\n  %s\n  after cycle %zu: %.1f MiB   after cycle %zu: %.1f MiB (peak %.1f)   ratio %.2f (target <= 1.3)\n"
                "  cycle:MiB",
                label.c_str(), run.malloc_settings.c_str(), run.cycle.front(), first, run.cycle.back(), last, peak,
                last / first);
    for (std::size_t i = 0; i < run.rss.size(); ++i) std::printf(" %zu:%.0f", run.cycle[i], run.rss[i]);
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they come, also into a pipe
    int cycles = 30;
    bool compare = false;
    std::map<std::string, std::string> env;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--compare") {
            compare = true;
        } else if (arg == "--env" && i + 1 < argc && std::string(argv[i + 1]).find('=') != std::string::npos) {
            std::string kv = argv[++i];
            env[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
        } else if (!arg.empty() && std::all_of(arg.begin(), arg.end(), ::isdigit) && std::stoi(arg) > 0) {
            cycles = std::stoi(arg);
        } else {
            std::fprintf(stderr, "usage: bench_memory [cycles] [--compare] [--env NAME=VALUE]...\n");
            return 2;
        }
    }
    std::printf("cargomon memory over %d collection cycles (2 shared cores; sim, ClickHouse and daemon on one machine)\n",
                cycles);
    auto start = std::chrono::steady_clock::now();
    testing::SimProcess sim({.workflows = 40, .history = "3d", .seed = 11, .control = false});
    std::printf("sim up in %.0f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());

    std::string label = "cargomon as built";
    for (const auto& [k, v] : env) label += ", " + k + "=" + v;
    auto shipped = run_daemon(sim, cycles, env);
    std::printf("\n%zu series (%d query collectors x %d rows x %d gauges, plus discovery), %s interval, rules every 5 s\n",
                shipped.series, kCollectors, kRowsPerQuery, kMetricsPerRow, kInterval);
    print(label + ":", shipped);
    if (compare) {
        print("glibc's defaults:", run_daemon(sim, cycles, {{"CARGOMON_MALLOC_TUNING", "off"}}));
        const char* jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
        if (std::ifstream(jemalloc))
            print("jemalloc preloaded:", run_daemon(sim, cycles, {{"LD_PRELOAD", jemalloc}}));
    }

    Pushgateway gateway;
    httplib::Client client(gateway.url());
    auto body = store_part(shipped.exposition);
    auto res = client.Put("/metrics/job/cargomon", body, "text/plain; version=0.0.4");
    if (!res || res->status / 100 != 2) {
        std::printf("push failed: %s\n", res ? res->body.c_str() : "no answer");
        return 1;
    }
    for (int i = 0; i < 3; ++i) scrape(gateway.url(), true);
    double gateway_rss = gateway.rss_mib();
    std::printf("pushgateway holding the same %zu KiB exposition, scraped 3 times: %.1f MiB\n", body.size() / 1024,
                gateway_rss);
    std::printf("cargomon after cycle %zu / pushgateway: %.1f / %.1f = %.2f (target < 1)\n", shipped.cycle.back(),
                shipped.rss.back(), gateway_rss, shipped.rss.back() / gateway_rss);
    return 0;
}
