// cargomon beside its peers on the same work, in one run (issue 11 item 5):
//  - rule evaluation: the 1,000 rules of bench_rule_eval over its 100,000 series, by
//    cargomon's engine and by the Debian `prometheus` scraping the same series from
//    cargomon's /metrics (its own figure: prometheus_rule_group_last_duration_seconds),
//    with each rule's result series compared between the two;
//  - /metrics: the same exposition served by cargomon and by the Debian
//    `prometheus-pushgateway` (pushed to it), scraped the same way, plain and gzip.
#include <httplib.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "alerts/promql/promql.h"
#include "alerts/promql/store_source.h"
#include "bench/rule_eval/workload.h"
#include "bench/support/figures.h"
#include "bench/support/metrics_endpoint.h"
#include "bench/support/scrape.h"
#include "exporters/exposition.h"
#include "metrics/metric_store.h"
#include "tests/support/prom_process.h"

using namespace cargomon;
using namespace cargomon::bench;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

namespace {

// A result series as both engines can name it: its labels without __name__ (a recording
// rule renames it), sorted.
std::string key(std::map<std::string, std::string> labels) {
    labels.erase("__name__");
    std::string out;
    for (const auto& [name, value] : labels) out += name + "=\"" + value + "\",";
    return out;
}

class Pushgateway : public testing::ToolServer {
public:
    Pushgateway() : ToolServer("prometheus-pushgateway", {"--web.listen-address=127.0.0.1:{port}"}, {}) {}
};

// p50 of `requests` scrapes of `port`'s /metrics, in ms, and the body size.
std::pair<double, std::size_t> scrape(int port, int requests, bool gzip) {
    const auto times = time_scrapes(port, requests, gzip);
    return {median(times.ms), times.bytes};
}

}  // namespace

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("cargomon beside prometheus and prometheus-pushgateway (Debian 12 packages; 2 shared cores)\n");
    auto work = workload();
    metrics::MetricStore store;
    store.publish("workflows", std::move(work.snapshot), SystemTime{});
    prometheus::Registry registry;
    const bench::MetricsEndpoint server(store, registry);

    // cargomon's engine: rounds as the rule manager runs them, and each rule's results.
    std::vector<std::string> exprs;
    std::vector<std::shared_ptr<const alerts::promql::Expr>> rules;
    for (std::size_t i = 0; i < kRules; ++i) {
        exprs.push_back(rule(i, work.workflows));
        rules.push_back(alerts::promql::parse_expr(exprs.back()));
    }
    std::vector<double> ours_ms;
    std::map<std::string, std::set<std::string>> ours;  // record name -> result series
    for (int round = 0; round < 10; ++round) {
        auto start = Steady::now();
        alerts::promql::StoreSource source(store.view(), {}, 0);
        for (std::size_t i = 0; i < rules.size(); ++i) {
            auto result = alerts::promql::evaluate_checked(*rules[i], source, 0);
            if (round > 0) continue;
            auto& set = ours["bench_rule_" + std::to_string(i)];
            if (const auto* vector = std::get_if<alerts::promql::Vector>(&result.value))
                for (const auto& s : *vector) set.insert(key({s.labels.begin(), s.labels.end()}));
        }
        ours_ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - start).count());
    }
    std::size_t our_series = 0;
    for (const auto& [name, set] : ours) our_series += set.size();

    // Prometheus: the same rules as recording rules, over the same series scraped from us
    // (job and instance dropped, so its series carry exactly our labels).
    std::vector<double> theirs_ms;
    std::map<std::string, std::set<std::string>> theirs;
    {
        std::ostringstream rules_yml;
        rules_yml << "groups:\n  - name: bench\n    interval: 5s\n    rules:\n";
        for (std::size_t i = 0; i < exprs.size(); ++i)
            rules_yml << "      - record: bench_rule_" << i << "\n        expr: '" << exprs[i] << "'\n";
        std::string config = "global:\n  scrape_interval: 10s\n  scrape_timeout: 10s\n"
                             "rule_files: [rules.yml]\n"
                             "scrape_configs:\n  - job_name: cargomon\n    static_configs:\n"
                             "      - targets: ['127.0.0.1:" + std::to_string(server.port()) + "']\n"
                             "    metric_relabel_configs:\n      - action: labeldrop\n        regex: job|instance\n";
        testing::PrometheusServer prom(config, {{"rules.yml", rules_yml.str()}});
        httplib::Client client("127.0.0.1", prom.port());
        // Each evaluation after the first scrape landed; the gauge is the last one's time.
        auto deadline = Steady::now() + 180s;
        double last = -1;
        while (theirs_ms.size() < 6 && Steady::now() < deadline) {
            std::this_thread::sleep_for(1s);
            if (prom.query("count(cargo_workflow_info)").empty()) continue;
            auto res = client.Get("/metrics");
            if (!res) continue;
            auto seconds = exposition_sample(res->body, "prometheus_rule_group_last_duration_seconds{");
            auto evaluations = exposition_sample(res->body, "prometheus_rule_group_iterations_total{");
            if (!seconds || !evaluations || *evaluations == last) continue;
            if (last >= 0) theirs_ms.push_back(*seconds * 1000);  // skip the one that may predate the data
            last = *evaluations;
        }
        if (theirs_ms.empty()) {
            std::printf("prometheus never evaluated the rules over the data:\n%s\n", prom.log().c_str());
            return 1;
        }
        for (const auto& s : prom.query(R"({__name__=~"bench_rule_.+"})"))
            theirs[s.labels.at("__name__")].insert(key(s.labels));
    }
    std::size_t their_series = 0, differing = 0;
    for (const auto& [name, set] : theirs) their_series += set.size();
    for (std::size_t i = 0; i < kRules; ++i) {
        auto name = "bench_rule_" + std::to_string(i);
        if (ours[name] != theirs[name]) ++differing;
    }
    double ours_p50 = median(ours_ms), theirs_p50 = median(theirs_ms);
    std::printf("\nrule evaluation: %zu rules over %zu series (%zu workflows)\n", kRules, store.series_count(),
                work.workflows);
    std::printf("  result series: cargomon %zu, prometheus %zu; rules whose results differ: %zu%s\n", our_series,
                their_series, differing, differing ? "  RESULTS DIFFER" : " (identical)");
    std::printf("  one round: cargomon median %.1f ms (%s), prometheus median %.1f ms (%s)\n", ours_p50,
                spread(ours_ms).c_str(), theirs_p50, spread(theirs_ms).c_str());
    std::printf("  prometheus / cargomon: %.1fx\n", theirs_p50 / ours_p50);

    // The same exposition from the Pushgateway, scraped the same way.
    Pushgateway gateway;
    auto body = exporters::Exposition({}, store.view(), metrics::Format::text).str();
    httplib::Client push("127.0.0.1", gateway.port());
    auto pushed = push.Put("/metrics/job/cargomon", body, "text/plain; version=0.0.4");
    if (!pushed || pushed->status / 100 != 2) {
        std::printf("push failed: %s\n", pushed ? pushed->body.c_str() : "no answer");
        return 1;
    }
    std::printf("\n/metrics with the same %zu series (%zu KiB of exposition pushed to the gateway), p50 of 20 scrapes "
                "each, keep-alive:\n",
                store.series_count(), body.size() / 1024);
    for (bool gzip : {false, true}) {
        auto [ours_scrape, ours_bytes] = scrape(server.port(), 20, gzip);
        auto [theirs_scrape, theirs_bytes] = scrape(gateway.port(), 20, gzip);
        std::printf("  %-5s cargomon %.1f ms (%zu KiB), pushgateway %.1f ms (%zu KiB); pushgateway / cargomon: %.1fx\n",
                    gzip ? "gzip" : "plain", ours_scrape, ours_bytes / 1024, theirs_scrape, theirs_bytes / 1024,
                    theirs_scrape / ours_scrape);
    }
    return 0;
}
