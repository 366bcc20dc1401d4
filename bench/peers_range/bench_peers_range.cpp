// cargomon beside the Debian `prometheus` on rules with range functions (issue 20 item 8):
// 1,000 rules mixing rate, increase, avg_over_time, predict_linear and max_over_time over
// 5m-6h windows, with aggregations, over bench_rule_eval's 100,000 series (its node
// families as counters) with 6 h of samples at a 60 s interval (360 each, 36 million).
//
// The same samples reach both: cargomon appends them to a tsdb::Head and evaluates the
// rules over it (HistorySource) at the samples' last time T; Prometheus gets them backfilled
// (an OpenMetrics file in /tmp, `promtool tsdb create-blocks-from openmetrics`), runs the
// rules as one recording rule group (its round: prometheus_rule_group_last_duration_seconds)
// and answers every rule at T on /api/v1/query, whose `stats=all` gives its engine's time
// for that round too. Every rule's result at T is compared: labels exact, values within
// 1e-9 relative.
//
// Also the history's bytes per sample (Head::stats(), what cargomon_history_chunk_bytes and
// cargomon_history_bytes report) and this process's RSS with the 100,000 series published
// to a MetricStore (as the daemon holds them), before and after the history is loaded.
//
// `bench_peers_range [SERIES]` runs fewer series (whole workflows of 65), for a quick look.
#include <httplib.h>
#include <malloc.h>
#include <rapidjson/document.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alerts/promql/history_source.h"
#include "alerts/promql/promql.h"
#include "bench/rule_eval/workload.h"
#include "bench/support/figures.h"
#include "common/process.h"
#include "metrics/metric_store.h"
#include "tests/support/prom_process.h"
#include "tsdb/head.h"

using namespace cargomon;
using namespace cargomon::bench;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

constexpr int kSamples = 360;
constexpr std::int64_t kStepMs = 60'000;
constexpr int kOurRounds = 5;
constexpr int kTheirRounds = 4;  // rule group evaluations timed after the first

double seconds_since(Steady::time_point start) { return std::chrono::duration<double>(Steady::now() - start).count(); }

// CPU time of this process: what the work costs, whatever else shares the machine.
double cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

enum class Shape { counter, gauge, ratio, constant };

struct SeriesSpec {
    std::string name;
    metrics::Labels labels;  // without __name__, sorted
    Shape shape;
    double base;
};

// workload()'s series; its node families become counters (the shape rate and increase
// read), its ratio a ratio, the info series a constant 1, the rest integer gauges. Only
// the first `workflows` workflows' series.
std::vector<SeriesSpec> make_series(const Workload& work, std::size_t workflows) {
    std::set<std::string, std::less<>> kept;
    for (std::size_t w = 0; w < workflows; ++w) kept.insert(uuid(w));
    std::vector<SeriesSpec> out;
    for (const auto& family : work.snapshot.families) {
        Shape shape = Shape::gauge;
        std::string name = family.name;
        if (name == "cargo_node_executions" || name == "cargo_node_credits_used") {
            shape = Shape::counter;
            name += "_total";
        } else if (name == "cargo_workflow_error_ratio") {
            shape = Shape::ratio;
        } else if (name == "cargo_workflow_info") {
            shape = Shape::constant;
        }
        for (const auto& s : family.samples)
            if (kept.count(metrics::label_value(s.labels, "workflow_uuid")))
                out.push_back({name, s.labels, shape, s.value});
    }
    return out;
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finalizer
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Sample i of series s from its value at i-1 (`state`), the same on every call: counters
// grow by 0-5 a minute and reset about once in 400 samples, gauges move by up to 3 one
// minute in ten, ratios take a new value in [0, 1] one minute in five.
double next_value(const SeriesSpec& spec, std::size_t s, int i, double& state) {
    const std::uint64_t h = mix(s * 1'000'003 + static_cast<std::uint64_t>(i));
    const auto r = static_cast<double>((h >> 8) % 7);
    switch (spec.shape) {
        case Shape::counter:
            if (i == 0) state = static_cast<double>(h % 1000);
            else if (h % 400 == 0) state = static_cast<double>(h % 3);
            else state += static_cast<double>((h >> 8) % 6);
            break;
        case Shape::gauge:
            if (i == 0) state = spec.base;
            else if (h % 10 == 0) state = std::max(0.0, state + r - 3);
            break;
        case Shape::ratio:
            if (i == 0 || h % 5 == 0) state = static_cast<double>((h >> 8) % 41) / 40;
            break;
        case Shape::constant: state = 1; break;
    }
    return state;
}

bool over_all_workflows(std::size_t rule) { return rule % 25 == 24; }

const char* kWindows[] = {"5m", "15m", "1h", "3h", "6h"};

// Per-workflow rules of the shapes users write with ranges, each shape over every window,
// and every 25th a rule over all workflows. Most thresholds sit away from values the data
// makes exactly; 0.51 does not, on purpose: one ratio series' 6 h mean is exactly 0.51,
// which Prometheus 2.42's compensated (Kahan) mean computes as 0.51 and a plain incremental
// mean one ulp above, so `> 0.51` tells the two apart where a tolerance cannot.
std::string range_rule(std::size_t i, std::size_t workflows) {
    const std::string u = "\"" + uuid((i * 37) % workflows) + "\"";
    const std::string n = "\"" + workflow_name((i * 53) % workflows) + "\"";
    const std::string r = kWindows[(i / 7) % std::size(kWindows)];
    if (over_all_workflows(i)) {
        switch ((i / 25) % 5) {
            case 0: return "sum by (status) (rate(cargo_node_executions_total[5m]))";
            case 1: return "max by (node_slug) (increase(cargo_node_credits_used_total[1h]))";
            case 2: return "count(avg_over_time(cargo_workflow_error_ratio{window=\"1h\"}[6h]) > 0.51)";
            case 3:
                return "sum by (kind) (predict_linear(cargo_workflow_runs{status=\"running\", window=\"24h\"}[3h], 3600) "
                       "* on(workflow_uuid) group_left(kind) cargo_workflow_info)";
            default: return "avg(max_over_time(cargo_workflow_batches{status=\"failed\"}[15m]))";
        }
    }
    switch (i % 7) {
        case 0:
            return "sum by (workflow_uuid) (rate(cargo_node_executions_total{workflow_uuid=" + u +
                   ", status=\"error\"}[" + r + "]))";
        case 1: return "increase(cargo_node_credits_used_total{workflow_uuid=" + u + "}[" + r + "]) > 100.5";
        case 2:
            return "avg_over_time(cargo_workflow_error_ratio{workflow_uuid=" + u + ", window=~\"1h|24h\"}[" + r +
                   "]) > 0.41";
        case 3:
            return "predict_linear(cargo_workflow_runs{workflow_uuid=" + u + ", window=\"1h\"}[" + r +
                   "], 4 * 3600) < 2.5";
        case 4:
            return "max_over_time(cargo_workflow_batches{workflow_uuid=" + u + "}[" + r +
                   "]) - min_over_time(cargo_workflow_batches{workflow_uuid=" + u + "}[" + r + "])";
        case 5:
            return "sum by (workflow_name, node_slug) (increase(cargo_node_executions_total{workflow_name=" + n +
                   ", status=\"error\"}[" + r + "])) / sum by (workflow_name, node_slug) "
                   "(increase(cargo_node_executions_total{workflow_name=" + n + "}[" + r + "]))";
        default:
            return "rate(cargo_node_credits_used_total{workflow_uuid=" + u + "}[" + r +
                   "]) * on(workflow_uuid) group_left(kind) cargo_workflow_info{workflow_uuid=" + u + "}";
    }
}

// A result series' labels (with __name__ where kept) as one sorted text, and its value.
using Result = std::map<std::string, double>;

std::string label_text(const std::map<std::string, std::string>& labels) {
    std::string out;
    for (const auto& [name, value] : labels) out += name + "=\"" + value + "\",";
    return out;
}

bool same_value(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    if (a == b) return true;
    return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(a), std::fabs(b));
}

std::string format_value(double v) {
    char text[32];
    auto [end, ec] = std::to_chars(text, text + sizeof text, v);  // shortest text that reads back as v
    return std::string(text, end);
}

// The OpenMetrics text promtool backfills: series after series, each with its samples at
// their times (seconds), then `# EOF`.
std::size_t write_openmetrics(const std::string& path, const std::vector<SeriesSpec>& series, std::int64_t first_ms) {
    std::FILE* out = std::fopen(path.c_str(), "w");
    if (!out) throw std::runtime_error("cannot write " + path);
    std::vector<char> buffer(1 << 22);
    std::setvbuf(out, buffer.data(), _IOFBF, buffer.size());
    std::size_t bytes = 0;
    std::string line;
    for (std::size_t s = 0; s < series.size(); ++s) {
        const auto& spec = series[s];
        std::string prefix = spec.name + "{";
        for (std::size_t l = 0; l < spec.labels.size(); ++l) {
            if (l) prefix += ",";
            prefix += spec.labels[l].first + "=\"";
            for (char c : spec.labels[l].second) {
                if (c == '\\' || c == '"') prefix += '\\';
                if (c == '\n') prefix += "\\n";
                else prefix += c;
            }
            prefix += "\"";
        }
        prefix += "} ";
        double state = 0;
        for (int i = 0; i < kSamples; ++i) {
            line = prefix;
            line += format_value(next_value(spec, s, i, state));
            line += ' ';
            line += std::to_string((first_ms + i * kStepMs) / 1000);
            line += '\n';
            bytes += std::fwrite(line.data(), 1, line.size(), out);
        }
    }
    bytes += std::fwrite("# EOF\n", 1, 6, out);
    if (std::fclose(out) != 0) throw std::runtime_error("writing " + path + " failed");
    return bytes;
}

// The Debian prometheus on a data directory filled beforehand (the backfilled blocks).
class BackfilledPrometheus : public testing::ToolServer {
public:
    BackfilledPrometheus(const std::string& data_dir, const std::string& config, const std::string& rules)
        : ToolServer("prometheus",
                     {"--config.file={dir}/prometheus.yml", "--storage.tsdb.path=" + data_dir,
                      "--storage.tsdb.retention.time=1d", "--web.listen-address=127.0.0.1:{port}"},
                     {{"prometheus.yml", config}, {"rules.yml", rules}}) {}
};

struct TheirAnswer {
    Result result;
    double eval_ms = 0;  // stats.timings.evalTotalTime
    std::string error;
};

// Prometheus' instant query of `expr` at `t_s`, with its engine's own timing.
TheirAnswer query_at(httplib::Client& client, const std::string& expr, std::int64_t t_s) {
    TheirAnswer out;
    auto res = client.Post("/api/v1/query",
                           httplib::Params{{"query", expr}, {"time", std::to_string(t_s)}, {"stats", "all"}});
    rapidjson::Document doc;
    if (!res || doc.Parse(res->body.c_str()).HasParseError() || res->status != 200) {
        out.error = res ? std::to_string(res->status) + " " + res->body.substr(0, 300) : "no answer";
        return out;
    }
    const auto& data = doc["data"];
    out.eval_ms = data["stats"]["timings"]["evalTotalTime"].GetDouble() * 1000;
    if (std::string(data["resultType"].GetString()) != "vector") {
        out.error = std::string("result type ") + data["resultType"].GetString();
        return out;
    }
    for (const auto& r : data["result"].GetArray()) {
        std::map<std::string, std::string> labels;
        for (const auto& [k, v] : r["metric"].GetObject()) labels[k.GetString()] = v.GetString();
        out.result[label_text(labels)] = std::strtod(r["value"][1].GetString(), nullptr);
    }
    return out;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    auto work = workload();
    std::size_t workflows = work.workflows;
    if (argc > 1) workflows = std::min(workflows, (std::stoul(argv[1]) + 64) / 65);
    const auto series = make_series(work, workflows);
    const double samples = static_cast<double>(series.size()) * kSamples;
    std::printf("cargomon beside prometheus 2.42 (Debian 12) on 1,000 rules with range functions "
                "(2 shared cores)\n%zu series (%zu workflows) x %d samples at %llds: %.1f M samples\n",
                series.size(), workflows, kSamples, static_cast<long long>(kStepMs / 1000), samples / 1e6);

    // The series as the daemon holds them without history: published to a MetricStore.
    metrics::MetricStore store;
    {
        std::map<std::string, metrics::Family> families;
        for (const auto& spec : series) {
            auto& family = families[spec.name];
            family.name = spec.name;
            family.help = "h";
            family.type = spec.shape == Shape::counter ? metrics::MetricType::counter : metrics::MetricType::gauge;
            family.samples.push_back({spec.labels, spec.base});
        }
        metrics::Snapshot snapshot;
        for (auto& [name, family] : families) snapshot.families.push_back(std::move(family));
        store.publish("workflows", std::move(snapshot), SystemTime{});
    }
    work = {};
    std::vector<std::string> exprs;
    for (std::size_t i = 0; i < kRules; ++i) exprs.push_back(range_rule(i, workflows));

    // T, the samples' last time: far enough ahead that writing and backfilling end about
    // then (Prometheus then evaluates its rules just after T, over all the samples; started
    // earlier it would see its blocks end in the future). CARGOMON_BENCH_BACKFILL_S sets
    // the estimate in seconds; the default is what both took on the 2 shared cores with the
    // load average at 15 (59 s + 683 s for 36 M samples): on a quieter machine the bench
    // waits the difference, with a smaller estimate Prometheus' first rounds run late.
    double ahead_s = samples * 21e-6 + 30;
    if (const char* env = std::getenv("CARGOMON_BENCH_BACKFILL_S")) ahead_s = std::stod(env);
    const std::int64_t t_ms = (now_ms() + static_cast<std::int64_t>(ahead_s * 1000)) / 60'000 * 60'000;
    const std::int64_t first_ms = t_ms - (kSamples - 1) * kStepMs;

    // Prometheus: backfilled, then the rules as one recording group, then every rule at T.
    std::vector<double> theirs_group_ms, theirs_at_t_ms;
    std::vector<TheirAnswer> theirs(kRules);
    const auto work_dir = std::filesystem::temp_directory_path() / ("cargomon-bench-range-" + std::to_string(::getpid()));
    std::filesystem::create_directories(work_dir);
    {
        const auto file = (work_dir / "samples.om").string();
        const auto data = (work_dir / "data").string();
        auto start = Steady::now();
        const std::size_t file_bytes = write_openmetrics(file, series, first_ms);
        const double write_s = seconds_since(start);
        start = Steady::now();
        const auto promtool_log = (work_dir / "promtool.log").string();
        Process promtool({.argv = {"promtool", "tsdb", "create-blocks-from", "openmetrics", file, data},
                          .output_file = promtool_log});
        const int status = promtool.wait_for(2h).value_or(-1);
        const double backfill_s = seconds_since(start);
        std::filesystem::remove(file);
        std::printf("\nprometheus' copy: OpenMetrics file %.2f GiB written in %.0f s; promtool backfill %.0f s (%s)\n",
                    static_cast<double>(file_bytes) / (1 << 30), write_s, backfill_s,
                    status == 0 ? "ok" : "FAILED");
        if (status != 0) {
            std::ifstream log(promtool_log);
            std::printf("%s\n", std::string(std::istreambuf_iterator<char>(log), {}).c_str());
            return 1;
        }
        if (const auto wait = t_ms + 2000 - now_ms(); wait > 0) {
            std::printf("  waiting %.0f s for T (the estimate of CARGOMON_BENCH_BACKFILL_S was %.0f s)\n", wait / 1e3,
                        ahead_s);
            std::this_thread::sleep_for(std::chrono::milliseconds(wait));
        }
        std::ostringstream rules_yml;
        rules_yml << "groups:\n  - name: bench\n    interval: 20s\n    rules:\n";
        for (std::size_t i = 0; i < exprs.size(); ++i)
            rules_yml << "      - record: bench_rule_" << i << "\n        expr: '" << exprs[i] << "'\n";
        BackfilledPrometheus prom(data, "global:\n  evaluation_interval: 20s\nrule_files: [rules.yml]\n",
                                  rules_yml.str());
        httplib::Client client("127.0.0.1", prom.port());
        client.set_read_timeout(300);
        const auto deadline = Steady::now() + 10min;
        double last = -1;
        std::int64_t first_eval_lag_ms = -1;
        while (theirs_group_ms.size() < kTheirRounds && Steady::now() < deadline) {
            std::this_thread::sleep_for(1s);
            auto res = client.Get("/metrics");
            if (!res) continue;
            auto seconds = exposition_sample(res->body, "prometheus_rule_group_last_duration_seconds{");
            auto evaluations = exposition_sample(res->body, "prometheus_rule_group_iterations_total{");
            if (!seconds || !evaluations || *evaluations == 0 || *evaluations == last) continue;
            if (last >= 0) theirs_group_ms.push_back(*seconds * 1000);  // the first may overlap the start
            else first_eval_lag_ms = now_ms() - t_ms;
            last = *evaluations;
        }
        std::printf("  rule group: first evaluation seen %.0f s after T; %zu evaluations timed\n",
                    first_eval_lag_ms / 1e3, theirs_group_ms.size());
        for (int round = 0; round < 3; ++round) {
            double total = 0;
            for (std::size_t i = 0; i < kRules; ++i) {
                auto answer = query_at(client, exprs[i], t_ms / 1000);
                total += answer.eval_ms;
                if (round == 0) theirs[i] = std::move(answer);
            }
            theirs_at_t_ms.push_back(total);
        }
        std::printf("%s", prom.log().find("level=error") != std::string::npos ? "  prometheus logged errors\n" : "");
    }
    std::filesystem::remove_all(work_dir);

    // cargomon: the same samples appended minute after minute, every series' sample of a
    // minute before the next minute's (as collections arrive; each series looked up once,
    // bench_history times the lookups), then the rules at T over HistorySource.
    // RSS without history: what the process holds now, with the pages freed by the work
    // so far given back (as the daemon's malloc_trim after each publish does), so that
    // the history cannot grow into them unseen.
    ::malloc_trim(0);
    const double rss_without_history = rss_mib();
    tsdb::Head head;
    {
        std::vector<tsdb::SeriesRef> refs;
        refs.reserve(series.size());
        for (const auto& spec : series) refs.push_back(head.series(spec.name, spec.labels));
        std::vector<double> state(series.size());
        const auto start = Steady::now();
        const double cpu_start = cpu_ms();
        for (int i = 0; i < kSamples; ++i)
            for (std::size_t s = 0; s < series.size(); ++s)
                head.append(refs[s], first_ms + i * kStepMs, next_value(series[s], s, i, state[s]));
        std::printf("\ncargomon's history: appended in %.0f s wall, %.0f s CPU\n", seconds_since(start),
                    (cpu_ms() - cpu_start) / 1e3);
    }
    const auto stats = head.stats();
    const double rss_with_history = rss_mib();

    std::vector<std::shared_ptr<const alerts::promql::Expr>> rules;
    for (const auto& expr : exprs) rules.push_back(alerts::promql::parse_expr(expr));
    std::vector<double> ours_ms, ours_cpu_ms;
    double ours_all_workflows_ms = 0;  // CPU of the rules over all workflows, first round
    std::vector<Result> ours(kRules);
    std::vector<std::string> our_errors(kRules);
    const alerts::promql::HistorySource source(head);
    for (int round = 0; round < kOurRounds; ++round) {
        const auto start = Steady::now();
        const double cpu_start = cpu_ms();
        for (std::size_t i = 0; i < rules.size(); ++i) {
            const double rule_start = cpu_ms();
            auto result = alerts::promql::evaluate_checked(*rules[i], source, t_ms);
            if (round > 0) continue;
            if (over_all_workflows(i)) ours_all_workflows_ms += cpu_ms() - rule_start;
            our_errors[i] = result.error;
            if (const auto* vector = std::get_if<alerts::promql::Vector>(&result.value))
                for (const auto& s : *vector)
                    ours[i][label_text({s.labels.begin(), s.labels.end()})] = s.value;
        }
        ours_ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - start).count());
        ours_cpu_ms.push_back(cpu_ms() - cpu_start);
    }

    // Every rule's result at T, side by side.
    std::size_t our_series = 0, their_series = 0, differing = 0, errors = 0;
    double theirs_all_workflows_ms = 0;
    for (std::size_t i = 0; i < kRules; ++i) {
        if (over_all_workflows(i)) theirs_all_workflows_ms += theirs[i].eval_ms;
        our_series += ours[i].size();
        their_series += theirs[i].result.size();
        if (!our_errors[i].empty() || !theirs[i].error.empty()) {
            ++errors;
            std::printf("  rule %zu: error: cargomon '%s', prometheus '%s'\n", i, our_errors[i].c_str(),
                        theirs[i].error.c_str());
            continue;
        }
        bool same = ours[i].size() == theirs[i].result.size();
        for (const auto& [labels, value] : ours[i]) {
            auto it = theirs[i].result.find(labels);
            if (it == theirs[i].result.end() || !same_value(value, it->second)) same = false;
        }
        if (!same && differing++ < 5) {
            std::printf("  rule %zu differs: %s\n", i, exprs[i].c_str());
            for (const auto& [labels, value] : ours[i]) std::printf("    cargomon   {%s} %.17g\n", labels.c_str(), value);
            for (const auto& [labels, value] : theirs[i].result)
                std::printf("    prometheus {%s} %.17g\n", labels.c_str(), value);
        }
    }

    std::printf("\nrule evaluation at T: %zu rules over %zu series\n", kRules, series.size());
    std::printf("  result series: cargomon %zu, prometheus %zu; rules whose results differ: %zu, erroring: %zu%s\n",
                our_series, their_series, differing, errors,
                differing || errors ? "  RESULTS DIFFER" : " (identical, values within 1e-9 relative)");
    const double ours_p50 = median(ours_ms);
    std::printf("  one round, cargomon: median %.1f ms wall (%s), %.1f ms CPU\n", ours_p50, spread(ours_ms).c_str(),
                median(ours_cpu_ms));
    if (!theirs_group_ms.empty()) {
        const double group_p50 = median(theirs_group_ms);
        std::printf("  one round, prometheus rule group: median %.1f ms (%s); prometheus / cargomon: %.1fx\n",
                    group_p50, spread(theirs_group_ms).c_str(), group_p50 / ours_p50);
    } else {
        std::printf("  prometheus' rule group did not evaluate twice within 10 minutes\n");
    }
    const double at_t_p50 = median(theirs_at_t_ms);
    std::printf("  one round at T, prometheus' engine (sum of stats evalTotalTime of the 1,000 queries): median "
                "%.1f ms (%s); / cargomon: %.1fx\n",
                at_t_p50, spread(theirs_at_t_ms).c_str(), at_t_p50 / ours_p50);
    std::printf("  of which the %zu rules over all workflows: cargomon %.1f ms CPU, prometheus %.1f ms (first round "
                "of each)\n",
                kRules / 25, ours_all_workflows_ms, theirs_all_workflows_ms);

    const double held = static_cast<double>(stats.samples);
    std::printf("\nhistory: %zu series, %.0f samples; bytes per sample %.2f in chunks (cargomon_history_chunk_bytes), "
                "%.2f with labels and index (cargomon_history_bytes, %.1f MiB)\n",
                stats.series, held, static_cast<double>(stats.chunk_bytes) / held,
                static_cast<double>(stats.bytes) / held, static_cast<double>(stats.bytes) / 1048576);
    std::printf("RSS: %.1f MiB with the %zu series published and no history, %.1f MiB with the history: %.2fx "
                "(%.1f MiB added, %.2f bytes a sample)\n",
                rss_without_history, series.size(), rss_with_history, rss_with_history / rss_without_history,
                rss_with_history - rss_without_history, (rss_with_history - rss_without_history) * 1048576 / held);
    return differing || errors ? 1 : 0;
}
