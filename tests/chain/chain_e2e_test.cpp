// The whole chain as deploy/compose runs it, on this machine without Docker: cargomon-sim
// with a scenario, cargomon with deploy/compose/cargomon.yml, the Debian prometheus with
// deploy/prometheus/prometheus.yml and the shipped rules, the Debian
// prometheus-alertmanager with deploy/alertmanager/alertmanager.yml, and the Slack and
// on-call endpoints it sends to played by a receiver here. The shipped files are used as
// they are but for addresses, secrets and timers (minutes become seconds). cargomon reaches
// Alertmanager through a recording proxy, Prometheus directly, so each one's alerts can be
// told apart.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/timefmt.h"
#include "tests/daemon/daemon_process.h"
#include "tests/daemon/sim_client.h"
#include "tests/support/http_receiver.h"
#include "tests/support/prom_process.h"
#include "tests/support/recording_proxy.h"
#include "tests/support/sim_process.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;

std::string source_file(const std::string& relative) {
    std::ifstream in(std::string(CARGOMON_SOURCE_DIR) + "/" + relative);
    if (!in) throw std::runtime_error("cannot read " + relative);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// `text` with every match of `pattern` replaced; throws when there is none, so a change
// of the shipped file that this test no longer adapts fails loudly.
std::string edit(const std::string& text, const std::string& pattern, const std::string& replacement) {
    const std::regex re(pattern);
    if (!std::regex_search(text, re)) throw std::runtime_error("no \"" + pattern + "\" in the shipped file");
    return std::regex_replace(text, re, replacement);
}

std::string host_port(const std::string& url) { return url.substr(url.find("://") + 3); }

// The scenario: a batch of some workflow finishes with half its runs failed (the shipped
// CargoBatchFinishedWithFailedRuns fires), and half the workflow listings fail for a while
// (so the retry and error panels have data). Not the SQL endpoint: the batches collector
// reads by SQL, and so does this test, to find the scenario's batch.
constexpr const char* kScenario = R"(events:
  - {at: 20s, kind: batch_failure, workflow: "*", failed_ratio: 0.5}
  - {at: 20s, kind: api_fault, endpoint: /v1/orchestration/workflows/list, error_ratio: 0.5, statuses: [503], for: 8s}
)";

constexpr auto kEventAt = std::chrono::seconds{20};

class Chain : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new TempDir;
        receiver_ = new HttpReceiver;
        receiver_->start();
        sim_ = new SimProcess(SimOptions{.workflows = 5,
                                         .history = "1d",
                                         .live = true,
                                         .rate = 10,
                                         .extra_args = {"--scenario", dir_->write("scenario.yml", kScenario)}});
        // The sim counts the scenario's offsets from when it serves, just before this.
        scenario_event_ = SystemClock{}.now() + kEventAt - std::chrono::seconds{1};

        std::string am = source_file("deploy/alertmanager/alertmanager.yml");
        am = edit(am, R"(slack_api_url_file: \S+)", "slack_api_url_file: {dir}/slack_url");
        am = edit(am, R"(url: http://oncall-bridge\S+)", "url: " + receiver_->url("/oncall"));
        am = edit(am, R"(group_wait: 30s)", "group_wait: 1s");
        am = edit(am, R"(group_interval: 5m)", "group_interval: 2s");
        alertmanager_ = new AlertmanagerServer(am, {{"slack_url", receiver_->url("/slack")}});
        to_alertmanager_ = new RecordingProxy(alertmanager_->url());

        // The daemon reads rules/*.yml beside its config; its temp dir is its own, so the
        // rules go in ours and the config names them absolutely.
        std::string rules = source_file("config/rules/cargo.rules.yml");
        rules = edit(rules, R"(interval: (1m|5m|30s))", "interval: 2s");
        std::filesystem::create_directory(dir_->path() + "/rules");
        dir_->write("rules/cargo.rules.yml", rules);
        std::string config = source_file("deploy/compose/cargomon.yml");
        // The token comes from CARGO_API_TOKEN; the default 5 requests a second suits
        // minute intervals, not these.
        config = edit(config, R"(token_file: \S+\n)", "client: {rate_limit: 100}\n");
        config = edit(config, R"(interval: (5m|15m))", "interval: 2s");
        config = edit(config, R"(group_interval: 30s)", "group_interval: 2s");
        config = edit(config, R"(rule_files: \["rules/\*\.yml"\])", "rule_files: [\"" + dir_->path() + "/rules/*.yml\"]");
        daemon_ = new DaemonProcess(config, {.env = {{"CARGO_API_URL", sim_->url()},
                                                     {"CARGO_API_TOKEN", sim_->token()},
                                                     {"CARGOMON_INTERVAL", "2s"},
                                                     {"CARGOMON_ALERTMANAGER_URL", to_alertmanager_->url()}}});

        std::string prom = source_file("deploy/prometheus/prometheus.yml");
        prom = edit(prom, R"((scrape_interval|evaluation_interval): 30s)", "$1: 2s");
        prom = edit(prom, R"(scrape_timeout: 20s)", "scrape_timeout: 2s");
        prom = edit(prom, R"(cargomon:9464)", host_port(daemon_->url()));
        prom = edit(prom, R"(alertmanager:9093)", host_port(alertmanager_->url()));
        prom = edit(prom, R"(localhost:9090)", "127.0.0.1:{port}");
        prometheus_ = new PrometheusServer(prom, {{"rules/cargo.rules.yml", rules}});
    }
    static void TearDownTestSuite() {
        delete prometheus_;
        delete daemon_;
        delete to_alertmanager_;
        delete alertmanager_;
        delete sim_;
        delete receiver_;
        delete dir_;
    }

    // Waits until `done` holds; false after `limit`.
    static bool eventually(const std::function<bool()>& done, std::chrono::seconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(500ms);
        }
        return true;
    }

    static std::string logs() {
        return "\ncargomon:\n" + daemon_->log() + "\nprometheus:\n" + prometheus_->log() + "\nalertmanager:\n" +
               alertmanager_->log();
    }

    // Where an alert about `batch` got lost on its way.
    static std::string what_was_seen(const std::string& batch) {
        std::string out = "\nreceived:";
        for (const auto& r : receiver_->received()) out += "\n  " + r.path + " " + r.body.substr(0, 300);
        out += "\ncargomon alerts: " + daemon_->get("/api/v1/alerts").body;
        out += "\ncargomon series of the batch:";
        for (const auto& s : daemon_->scrape().samples)
            if (s.labels.count("batch_uuid") && s.labels.at("batch_uuid") == batch)
                out += "\n  " + s.name + " " + std::to_string(s.value);
        return out;
    }

    // What the webhook and Slack endpoints got through Alertmanager for `alertname`.
    static std::vector<Received> delivered(const std::string& path, const std::string& alertname) {
        std::vector<Received> out;
        for (const auto& r : receiver_->received())
            if (r.path == path && r.body.find(alertname) != std::string::npos) out.push_back(r);
        return out;
    }

    static inline SystemTime scenario_event_;
    static inline TempDir* dir_ = nullptr;
    static inline HttpReceiver* receiver_ = nullptr;
    static inline SimProcess* sim_ = nullptr;
    static inline AlertmanagerServer* alertmanager_ = nullptr;
    static inline RecordingProxy* to_alertmanager_ = nullptr;
    static inline DaemonProcess* daemon_ = nullptr;
    static inline PrometheusServer* prometheus_ = nullptr;
};

// Test order matters only for speed: the first case waits for the scenario's alert,
// which the dashboard case also needs.
TEST_F(Chain, TheScenarioAlertReachesSlackThroughAlertmanager) {
    const std::string alert = "CargoBatchFinishedWithFailedRuns";
    // The scenario's batch: the first to finish with half its runs failed once the event
    // applied (history and live traffic have batches with a failed run too, but rarely
    // half of them).
    SimClient sim(*sim_);
    std::string batch;
    ASSERT_TRUE(eventually(
        [&] {
            auto rows = sim.sql("SELECT uuid FROM batches WHERE status = 'success' AND failed_runs_count >= 1 "
                                "AND failed_runs_count * 2 >= runs_count AND created_at >= '" +
                                format_sql_datetime(scenario_event_) + "' ORDER BY created_at LIMIT 1");
            if (rows.empty()) return false;
            batch = rows[0].at("uuid");
            return true;
        },
        120s))
        << "the scenario's batch never finished" << logs();
    auto slack_about_batch = [&] {
        for (const auto& r : delivered("/slack", alert))
            if (r.body.find(batch) != std::string::npos) return std::optional<Received>(r);
        return std::optional<Received>();
    };
    ASSERT_TRUE(eventually([&] { return slack_about_batch().has_value(); }, 60s))
        << "no Slack message about batch " << batch << what_was_seen(batch);
    rapidjson::Document body;
    ASSERT_FALSE(body.Parse(slack_about_batch()->body.c_str()).HasParseError());
    // deploy/alertmanager's Slack template: "[FIRING:n] alertname", the summary in the text.
    const std::string title = body["attachments"][0]["title"].GetString();
    EXPECT_NE(title.find("[FIRING:"), std::string::npos) << title;
    EXPECT_NE(title.find(alert), std::string::npos) << title;
    EXPECT_EQ(std::string(body["channel"].GetString()), "#cargo-alerts");

    // Prometheus evaluates the same rules and sends its copy straight to Alertmanager, so
    // the Slack message alone does not show cargomon sent anything: its own POST about the
    // batch, recorded on the way, must have been accepted by Alertmanager.
    using LabelMap = std::map<std::string, std::string>;
    auto labels_of = [](const rapidjson::Value& object) {
        LabelMap out;
        if (object.IsObject())
            for (const auto& m : object.GetObject())
                out[m.name.GetString()] = m.value.IsString() ? m.value.GetString() : "(not a string)";
        return out;
    };
    auto cargomon_about_batch = [&] {
        for (const auto& r : to_alertmanager_->received()) {
            rapidjson::Document posted;
            if (r.path != "/api/v2/alerts" || !r.accepted() || posted.Parse(r.body.c_str()).HasParseError() ||
                !posted.IsArray())
                continue;
            for (const auto& a : posted.GetArray()) {
                if (!a.IsObject() || !a.HasMember("labels")) continue;
                LabelMap labels = labels_of(a["labels"]);
                if (labels["batch_uuid"] == batch && labels["alertname"] == alert) return std::optional(labels);
            }
        }
        return std::optional<LabelMap>();
    };
    ASSERT_TRUE(eventually([&] { return cargomon_about_batch().has_value(); }, 60s))
        << "cargomon posted nothing about batch " << batch << " to Alertmanager (" << to_alertmanager_->received().size()
        << " requests)" << what_was_seen(batch) << logs();

    // Prometheus' alert about the batch has cargomon's labels and the target's job and
    // instance, which the shipped alert relabeling drops; so Alertmanager holds the two as
    // one alert, with the labels cargomon sent.
    std::optional<LabelMap> from_prometheus;
    ASSERT_TRUE(eventually(
        [&] {
            auto alerts = prometheus_->get_json("/api/v1/alerts");
            for (const auto& a : alerts["data"]["alerts"].GetArray()) {
                LabelMap labels = labels_of(a["labels"]);
                if (labels["batch_uuid"] == batch && labels["alertname"] == alert &&
                    std::string(a["state"].GetString()) == "firing") {
                    labels.erase("job");
                    labels.erase("instance");
                    from_prometheus = labels;
                }
            }
            return from_prometheus.has_value();
        },
        60s))
        << "Prometheus never fired " << alert << " for batch " << batch << logs();
    EXPECT_EQ(*from_prometheus, *cargomon_about_batch());
    auto held = alertmanager_->get_json("/api/v2/alerts?filter=batch_uuid%3D%22" + batch + "%22");
    ASSERT_EQ(held.GetArray().Size(), 1u) << "Alertmanager holds copies of one alert";
    EXPECT_EQ(labels_of(held[0]["labels"]), *cargomon_about_batch());
    EXPECT_FALSE(held[0]["labels"].HasMember("job"));
}

TEST_F(Chain, PrometheusStoresTheSeriesCargomonExports) {
    ASSERT_TRUE(eventually([&] { return !prometheus_->query("cargo_workflow_info").empty(); }, 60s)) << logs();
    // Series whose value did not change across three scrapes, with a successful Prometheus
    // scrape between the second and the third, are the ones Prometheus must hold exactly;
    // the others may have moved since it scraped. (On a loaded machine a Prometheus scrape
    // can time out, so "Prometheus scraped since" is waited for, not assumed.)
    const auto first = daemon_->scrape();
    std::this_thread::sleep_for(5s);
    const auto second = daemon_->scrape();
    const double since = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    ASSERT_TRUE(eventually(
        [&] {
            return !prometheus_
                        ->query("up{job=\"cargomon\"} == 1 and timestamp(up{job=\"cargomon\"}) > " +
                                std::to_string(since))
                        .empty();
        },
        60s))
        << "Prometheus never scraped cargomon successfully again\n" << logs();
    const auto third = daemon_->scrape();
    std::map<std::string, double> stable;
    auto key = [](const std::string& name, const Labels& labels) {
        std::string k = name;
        for (const auto& [n, v] : labels) k += "|" + n + "=" + v;
        return k;
    };
    std::map<std::string, double> before, middle;
    for (const auto& s : first.samples) before[key(s.name, s.labels)] = s.value;
    for (const auto& s : second.samples) middle[key(s.name, s.labels)] = s.value;
    for (const auto& s : third.samples) {
        const std::string k = key(s.name, s.labels);
        if (s.name.rfind("cargo_", 0) == 0 && before.count(k) && middle.count(k) && before[k] == s.value &&
            middle[k] == s.value)
            stable[k] = s.value;
    }
    ASSERT_GE(stable.size(), 50u) << "too few stable cargo_* series to compare";

    std::set<std::string> families;
    for (const auto& s : third.samples)
        if (s.name.rfind("cargo_", 0) == 0) families.insert(s.name);
    std::size_t compared = 0;
    for (const auto& family : families) {
        for (const auto& sample : prometheus_->query(family + "{job=\"cargomon\"}")) {
            Labels labels = sample.labels;
            EXPECT_EQ(labels["instance"], host_port(daemon_->url()));
            labels.erase("__name__");
            labels.erase("job");
            labels.erase("instance");
            auto it = stable.find(key(family, labels));
            if (it == stable.end()) continue;
            EXPECT_DOUBLE_EQ(sample.value, it->second) << key(family, labels);
            ++compared;
        }
    }
    EXPECT_GE(compared, stable.size() * 9 / 10) << "Prometheus lacks series cargomon exports";
    // Nothing lost to two writers of one series or to a rule Prometheus could not run.
    EXPECT_EQ(prometheus_->query("prometheus_target_scrapes_sample_out_of_order_total > 0").size(), 0u);
    EXPECT_EQ(prometheus_->query("prometheus_target_scrapes_sample_duplicate_timestamp_total > 0").size(), 0u);
    EXPECT_EQ(prometheus_->query("prometheus_rule_evaluation_failures_total > 0").size(), 0u);
    auto rules = prometheus_->get_json("/api/v1/rules");
    std::size_t rule_count = 0;
    for (const auto& group : rules["data"]["groups"].GetArray())
        for (const auto& rule : group["rules"].GetArray()) {
            ++rule_count;
            EXPECT_EQ(std::string(rule["health"].GetString()), "ok")
                << rule["name"].GetString() << ": " << (rule.HasMember("lastError") ? rule["lastError"].GetString() : "");
        }
    EXPECT_EQ(rule_count, 15u);
}

TEST_F(Chain, EveryDashboardQueryReturnsData) {
    rapidjson::Document dashboard;
    const std::string json = source_file("deploy/grafana/cargomon.json");
    ASSERT_FALSE(dashboard.Parse(json.c_str()).HasParseError());
    // The variables as Grafana would fill them: this job, the shortest run window, and a
    // workflow with failed runs (the scenario's batch makes one).
    std::string workflow;
    ASSERT_TRUE(eventually(
        [&] {
            auto failing = prometheus_->query(
                R"(topk(1, max by (workflow_name) (cargo_workflow_runs{status="error", window="1h"})) > 0)");
            if (failing.empty()) return false;
            workflow = failing[0].labels.at("workflow_name");
            return true;
        },
        60s));
    auto fill = [&](std::string expr) {
        expr = std::regex_replace(expr, std::regex(R"(\$job)"), "cargomon");
        expr = std::regex_replace(expr, std::regex(R"(\$window)"), "1h");
        expr = std::regex_replace(expr, std::regex(R"(\$workflow_name)"), workflow);
        return std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "1m");
    };
    struct Query {
        std::string panel, expr;
    };
    std::vector<Query> queries;
    for (const auto& panel : dashboard["panels"].GetArray()) {
        std::vector<const rapidjson::Value*> all = {&panel};
        if (panel.HasMember("panels"))
            for (const auto& inner : panel["panels"].GetArray()) all.push_back(&inner);
        for (const auto* p : all)
            if (p->HasMember("targets"))
                for (const auto& t : (*p)["targets"].GetArray())
                    queries.push_back({(*p)["title"].GetString(), fill(t["expr"].GetString())});
    }
    ASSERT_GE(queries.size(), 40u);
    // Rates need a minute of samples; wait for each query once, then it must answer.
    for (const auto& q : queries)
        EXPECT_TRUE(eventually([&] { return !prometheus_->query(q.expr).empty(); }, 90s))
            << "panel \"" << q.panel << "\": no data for " << q.expr;
}

TEST_F(Chain, PromtoolFindsNothingWrongWithTheExposition) {
    const std::string file = dir_->write("metrics.txt", daemon_->scrape().text);
    Process promtool({.argv = {"sh", "-c", "promtool check metrics < " + file},
                      .output_file = dir_->path() + "/promtool.log"});
    const auto code = promtool.wait_for(60s);
    std::ifstream in(dir_->path() + "/promtool.log");
    std::stringstream output;
    output << in.rdbuf();
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << output.str();
    EXPECT_EQ(output.str(), "") << "promtool has remarks";
}

}  // namespace
}  // namespace cargomon::testing
