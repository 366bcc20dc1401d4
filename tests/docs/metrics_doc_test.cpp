// docs/metrics.md names every metric cargomon exports and nothing else: the real daemon,
// with every collector kind, a rule that fires and a webhook receiver, runs against the
// real cargomon-sim (with errors injected on one endpoint so API retries happen too);
// its /metrics and the metric names written in the sources are compared with the tables
// of the doc, whose types must match the exposition's.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/net.h"
#include "tests/daemon/daemon_process.h"
#include "tests/docs/markdown.h"
#include "tests/support/sim_process.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;
using docs_test::code_spans;

// The metrics the test's own query collector defines: the user's, not cargomon's.
const std::set<std::string> kUserMetrics{"docs_test_runs", "docs_test_finished_runs_total"};

// A receiver that accepts every notification.
class Webhook {
public:
    Webhook() : port_(free_loopback_port()) {
        server_.Post("/hook", [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
        if (!server_.bind_to_port("127.0.0.1", port_)) throw std::runtime_error("webhook: cannot bind its port");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(1ms);
    }
    ~Webhook() {
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

private:
    int port_;
    httplib::Server server_;
    std::thread thread_;
};

std::string daemon_config(const SimProcess& sim, const std::string& rule_file, const Webhook& hook) {
    return "api_url: " + sim.url() + "\ntoken: " + sim.token() + R"(
client: {rate_limit: 500, retry: {max_attempts: 6, initial_backoff: 10ms, max_backoff: 50ms}}
defaults: {interval: 2s, timeout: 2s, jitter: 0}
collectors:
  - {name: discovery, kind: discovery}
  - {name: runs, kind: run_counts, windows: [1h]}
  - {name: nodes, kind: run_metrics}
  - {name: batches, kind: batches}
  - {name: subscription, kind: subscription}
  - {name: durations, kind: durations, window: 1d}
  - name: credits
    kind: credits
    group_by: [workflow_uuid, connector_uuid, integration_slug, model_uuid, agent_uuid]
  - name: custom
    kind: query
    sql: SELECT status, count() AS n FROM runs GROUP BY status
    metrics:
      - {name: docs_test_runs, value: n, labels: [status]}
  - name: custom_counter
    kind: query
    sql: |
      SELECT status, count() AS n FROM runs
      WHERE created_at >= $__from AND created_at < $__to GROUP BY status
    metrics:
      - {name: docs_test_finished_runs_total, type: counter, value: n, labels: [status]}
rule_files: [)" + rule_file + R"(]
alerting:
  delivery: {min_backoff: 100ms, max_backoff: 1s}
  route: {receiver: hook, group_by: [alertname], group_wait: 0s, group_interval: 1s}
  receivers:
    - name: hook
      webhook_configs: [{url: )" + hook.url() + R"(}]
)";
}

const char* kRules = R"(groups:
  - name: docs
    interval: 1s
    rules:
      - alert: DocsTestWorkflowCovered
        expr: cargo_workflow_info > 0
)";

// Metric family name -> type, from the # TYPE lines of an exposition.
std::map<std::string, std::string> exposed_families(const Scrape& scrape) {
    std::map<std::string, std::string> families;
    std::istringstream in(scrape.text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream words(line);
        std::string hash, keyword, name, type;
        if (words >> hash >> keyword >> name >> type && hash == "#" && keyword == "TYPE") families[name] = type;
    }
    return families;
}

// The families whose presence shows the scrape is the whole picture: every collector kind,
// the API client, a delivered notification and a rule's state.
constexpr const char* kExpectedFamilies[] = {
    "cargo_workflow_info", "cargo_workflow_runs", "cargo_node_executions", "cargo_batch_runs", "cargo_credits_used",
    "cargo_credits_exhaustion_forecast_seconds", "cargo_workflow_run_duration_seconds",
    "docs_test_runs", "cargomon_api_request_duration_seconds",
    "cargomon_api_retries_total", "cargomon_notifications_total", "cargomon_notification_delivery_latency_seconds",
    "ALERTS", "ALERTS_FOR_STATE"};

// Ready once every collector succeeded, a notification was delivered and every family the
// tests then check is exported: waiting for a subset let a scrape without
// cargo_node_executions through once under ASan.
bool ready(const Scrape& s) {
    for (const char* c :
         {"discovery", "runs", "nodes", "batches", "subscription", "durations", "credits", "custom", "custom_counter"})
        if (s.value("cargomon_collector_last_success_timestamp_seconds", {{"collector", c}}).value_or(0) <= 0)
            return false;
    const auto families = exposed_families(s);
    for (const char* family : kExpectedFamilies)
        if (!families.count(family)) return false;
    return !s.find("cargomon_notifications_total", {{"outcome", "delivered"}}).empty();
}

// The family a sample belongs to: its own name, or a histogram's or summary's without the suffix.
std::string family_of(const std::string& sample, const std::map<std::string, std::string>& families) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string base = sample.substr(0, sample.size() - std::string(suffix).size());
        if (sample.ends_with(suffix) && families.count(base) &&
            (families.at(base) == "histogram" || (families.at(base) == "summary" && suffix != std::string("_bucket"))))
            return base;
    }
    return sample;
}

// Metric names written as string literals in the daemon's sources.
std::set<std::string> source_metric_names() {
    static const std::regex literal{R"re("((?:cargo|cargomon)_[a-z0-9_]+|ALERTS|ALERTS_FOR_STATE)")re"};
    std::set<std::string> names;
    for (const char* dir : {"collectors", "cargo", "web", "alerts", "daemon", "metrics", "actions", "tsdb"})
        for (const auto& entry :
             std::filesystem::recursive_directory_iterator(std::filesystem::path(CARGOMON_SOURCE_DIR) / dir)) {
            const auto ext = entry.path().extension();
            if (ext != ".cpp" && ext != ".h") continue;
            const auto relative = std::filesystem::relative(entry.path(), CARGOMON_SOURCE_DIR).string();
            const auto text = docs_test::read_source_file(relative);
            for (std::sregex_iterator m(text.begin(), text.end(), literal), end; m != end; ++m) names.insert((*m)[1]);
        }
    return names;
}

struct DocumentedMetric {
    std::string type;
    std::set<std::string> label_words;  // every backticked word of the labels cell
};

// The rows of the doc's metric tables (| metric | type | labels | meaning | example |).
std::map<std::string, DocumentedMetric> documented_metrics() {
    std::map<std::string, DocumentedMetric> out;
    for (const auto& row : docs_test::table_rows(docs_test::read_source_file("docs/metrics.md"), "metric")) {
        if (row.size() != 5) throw std::runtime_error("docs/metrics.md: a metric row without 5 cells: " + row.at(0));
        const auto name = code_spans(row[0]);
        if (name.size() != 1) throw std::runtime_error("docs/metrics.md: not one `name` in " + row[0]);
        auto labels = code_spans(row[2]);
        if (!out.emplace(name[0], DocumentedMetric{row[1], {labels.begin(), labels.end()}}).second)
            throw std::runtime_error("docs/metrics.md: " + name[0] + " documented twice");
    }
    return out;
}

std::string list(const std::set<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += "\n  " + n;
    return out;
}

class MetricsDoc : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // A day of history, so every workflow has batches. Half the credit usage requests
        // fail once or more: the client retries them.
        sim_ = std::make_unique<SimProcess>(
            SimOptions{.workflows = 3,
                       .history = "1d",
                       .extra_args = {"--fault", "endpoint=/v1/billing/usage/metrics,error_ratio=0.5,statuses=500"}});
        hook_ = std::make_unique<Webhook>();
        dir_ = std::make_unique<TempDir>();
        DaemonProcess daemon(daemon_config(*sim_, dir_->write("docs.rules.yml", kRules), *hook_));
        scrape_ = std::make_unique<Scrape>(daemon.scrape_until(ready, 90s));
    }
    static void TearDownTestSuite() {
        scrape_.reset();
        dir_.reset();
        hook_.reset();
        sim_.reset();
    }
    void SetUp() override { ASSERT_TRUE(scrape_) << "the daemon never exported everything the test waits for"; }

    static inline std::unique_ptr<SimProcess> sim_;
    static inline std::unique_ptr<Webhook> hook_;
    static inline std::unique_ptr<TempDir> dir_;
    static inline std::unique_ptr<Scrape> scrape_;
};

TEST_F(MetricsDoc, EveryExportedMetricIsDocumentedWithItsTypeAndLabels) {
    const auto families = exposed_families(*scrape_);
    const auto doc = documented_metrics();
    std::set<std::string> undocumented, wrong;
    for (const auto& sample : scrape_->samples) {
        const auto family = family_of(sample.name, families);
        if (kUserMetrics.count(family)) continue;
        auto it = doc.find(family);
        if (it == doc.end()) {
            undocumented.insert(family);
            continue;
        }
        auto type = families.find(family);
        if (type == families.end() || type->second != it->second.type)
            wrong.insert(family + ": documented as " + it->second.type + ", exposed as " +
                         (type == families.end() ? "no TYPE" : type->second));
        // ALERTS carry the labels of the rule that made them.
        if (family == "ALERTS" || family == "ALERTS_FOR_STATE") continue;
        for (const auto& [label, _] : sample.labels)
            if (label != "le" && !it->second.label_words.count(label))
                wrong.insert(family + ": label " + label + " is not documented");
    }
    EXPECT_TRUE(undocumented.empty()) << "exported but not in docs/metrics.md:" << list(undocumented);
    EXPECT_TRUE(wrong.empty()) << "docs/metrics.md disagrees with /metrics:" << list(wrong);
    // The scrape is the whole picture only if it had what the test set out to produce.
    for (const char* family : kExpectedFamilies)
        EXPECT_TRUE(families.count(family)) << family << " missing from the scrape";
}

TEST(MetricsDocSources, EveryMetricNamedInTheSourcesIsDocumented) {
    const auto doc = documented_metrics();
    std::set<std::string> undocumented;
    for (const auto& name : source_metric_names())
        if (!doc.count(name)) undocumented.insert(name);
    EXPECT_TRUE(undocumented.empty()) << "named in the sources but not in docs/metrics.md:" << list(undocumented);
}

TEST_F(MetricsDoc, EveryDocumentedMetricExists) {
    const auto families = exposed_families(*scrape_);
    const auto sources = source_metric_names();
    std::set<std::string> dead;
    for (const auto& [name, _] : documented_metrics())
        if (!families.count(name) && !sources.count(name)) dead.insert(name);
    EXPECT_TRUE(dead.empty()) << "in docs/metrics.md but neither exported nor in the sources:" << list(dead);
}

}  // namespace
}  // namespace cargomon::testing
