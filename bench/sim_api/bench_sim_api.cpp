// cargomon-sim's API speed on this machine: a 10,000-row /orchestration/query answer
// (p50/p99), runs/count throughput under wrk, and what the tables' ordering key buys
// against a copy of `runs` ordered by uuid only (same data, same query, same run).
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "sim/clickhouse/clickhouse.h"
#include "tests/support/sim_process.h"

using namespace cargomon;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * double(v.size())))];
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Requests/s that wrk reaches POSTing `body` to `path` for `seconds`.
double wrk_rps(const testing::SimProcess& sim, const std::string& path, const std::string& body, int seconds) {
    std::string script = "/tmp/cargomon-bench-" + std::to_string(::getpid()) + ".lua";
    std::string out = script + ".out";
    std::ofstream(script) << "wrk.method = \"POST\"\nwrk.body = '" << body
                          << "'\nwrk.headers[\"content-type\"] = \"application/json\"\n"
                          << "wrk.headers[\"authorization\"] = \"Bearer " << sim.token() << "\"\n";
    {
        Process wrk({.argv = {"wrk", "-t2", "-c16", "-d" + std::to_string(seconds) + "s", "-s", script, sim.url() + path},
                     .output_file = out});
        wrk.wait_for(std::chrono::seconds{seconds + 30});
    }
    std::string text = read_file(out);
    std::remove(script.c_str());
    std::remove(out.c_str());
    std::smatch m;
    if (std::regex_search(text, m, std::regex(R"(Non-2xx or 3xx responses: (\d+))")))
        std::printf("  warning: wrk saw %s non-2xx answers\n", m[1].str().c_str());
    if (!std::regex_search(text, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) {
        std::printf("  wrk output not understood:\n%s\n", text.c_str());
        return 0;
    }
    return std::stod(m[1]);
}

}  // namespace

int main() {
    std::printf("cargomon-sim API benchmark (2 cores shared by the sim, ClickHouse and the load generator)\n");
    auto start = Clock::now();
    testing::SimProcess sim({.workflows = 20, .history = "3d", .seed = 7, .control = false});
    std::printf("sim up with 20 workflows x 3d of history in %.1f s\n", ms_since(start) / 1000);

    httplib::Client client(sim.url());
    client.set_read_timeout(60);
    httplib::Headers headers = {{"authorization", "Bearer " + sim.token()}};

    // 1. A 10,000-row answer, end to end through the API (parse, guard, ClickHouse, JSON re-emit).
    const std::string big = R"({"query":"SELECT uuid, workflow_uuid, status, record_id, created_at, finished_at FROM runs ORDER BY created_at DESC LIMIT 10000"})";
    std::vector<double> latencies;
    std::size_t bytes = 0;
    for (int i = 0; i < 60; ++i) {
        auto t = Clock::now();
        auto res = client.Post("/v1/orchestration/query", headers, big, "application/json");
        double ms = ms_since(t);
        if (!res || res->status != 200) {
            std::printf("query failed: %s\n", res ? res->body.c_str() : "no answer");
            return 1;
        }
        bytes = res->body.size();
        if (i >= 5) latencies.push_back(ms);  // first answers warm caches
    }
    double p50 = percentile(latencies, 0.50), p99 = percentile(latencies, 0.99);
    std::printf("\n/orchestration/query, 10,000 rows (%zu KiB answer), %zu requests:\n", bytes / 1024, latencies.size());
    std::printf("  p50 %.1f ms   p99 %.1f ms   target p50 < 200 ms: %.1fx under target\n", p50, p99, 200.0 / p50);

    // 2. runs/count under wrk, with the filters monitors use.
    const std::string body = R"({"statuses":["error"],"createdAfter":"2000-01-01T00:00:00Z"})";
    double rps_all = wrk_rps(sim, "/v1/orchestration/runs/count", body, 8);
    std::printf("\nruns/count under wrk (2 threads, 16 connections, 8 s):\n");
    std::printf("  %.0f requests/s   target > 500/s: %.2fx the target\n", rps_all, rps_all / 500.0);

    // 3. What the ordering key buys: the same count on a copy of runs ordered by uuid only.
    sim::ClickHouseClient ch(sim.clickhouse_url());
    std::string db = ch.query("SELECT name FROM system.databases WHERE name LIKE 'ws_%' ORDER BY name LIMIT 1 FORMAT TSV");
    db.erase(db.find_last_not_of('\n') + 1);
    std::string workflow = ch.query("SELECT workflow_uuid FROM " + db + ".runs GROUP BY workflow_uuid ORDER BY count() DESC LIMIT 1 FORMAT TSV");
    workflow.erase(workflow.find_last_not_of('\n') + 1);
    ch.query("DROP TABLE IF EXISTS " + db + ".runs_by_uuid");
    ch.query("CREATE TABLE " + db + ".runs_by_uuid ENGINE = MergeTree ORDER BY uuid AS SELECT * FROM " + db + ".runs");
    auto time_count = [&](const std::string& table) {
        std::vector<double> v;
        for (int i = 0; i < 200; ++i) {
            auto t = Clock::now();
            ch.query("SELECT count() FROM " + db + "." + table + " WHERE workflow_uuid = '" + workflow +
                     "' AND status = 'error' AND created_at >= now() - INTERVAL 1 DAY FORMAT TSV");
            v.push_back(ms_since(t));
        }
        return percentile(v, 0.5);
    };
    double keyed = time_count("runs"), unkeyed = time_count("runs_by_uuid");
    std::string rows = ch.query("SELECT count() FROM " + db + ".runs FORMAT TSV");
    rows.erase(rows.find_last_not_of('\n') + 1);
    std::printf("\none workflow's error count over 24 h, straight to ClickHouse (%s runs):\n", rows.c_str());
    std::printf("  ORDER BY (workflow_uuid, created_at): p50 %.2f ms\n  ORDER BY uuid (baseline):              p50 %.2f ms\n  ratio %.1fx\n",
                keyed, unkeyed, unkeyed / keyed);
    ch.query("DROP TABLE " + db + ".runs_by_uuid");
    return 0;
}
