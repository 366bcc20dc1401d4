// deploy/grafana/cargomon.json: the structure Grafana needs, the provisioned datasource,
// metric names that cargomon really exports, and PromQL that a real Prometheus accepts.
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "common/net.h"
#include "common/process.h"
#include "tests/deploy/deploy_files.h"
#include "tests/daemon/daemon_process.h"
#include "tests/support/prom_process.h"
#include "tests/support/sim_process.h"
#include "tests/support/tools.h"

namespace cargomon::deploy_test {
namespace {

using namespace std::chrono_literals;

struct Query {
    std::string panel;
    std::string expr;
};

class Dashboard : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        json_ = read_text(source_path("deploy/grafana/cargomon.json"));
        doc_.Parse(json_.c_str());
    }

    // Every panel, those inside rows included.
    static std::vector<const rapidjson::Value*> panels() {
        std::vector<const rapidjson::Value*> all;
        for (const auto& p : doc_["panels"].GetArray()) {
            all.push_back(&p);
            if (p.HasMember("panels"))
                for (const auto& inner : p["panels"].GetArray()) all.push_back(&inner);
        }
        return all;
    }

    static bool is_row(const rapidjson::Value& panel) { return std::string(panel["type"].GetString()) == "row"; }

    static std::vector<Query> queries() {
        std::vector<Query> all;
        for (const auto* p : panels())
            if (!is_row(*p))
                for (const auto& t : (*p)["targets"].GetArray())
                    all.push_back({(*p)["title"].GetString(), t["expr"].GetString()});
        return all;
    }

    static const rapidjson::Value* variable(const std::string& name) {
        for (const auto& v : doc_["templating"]["list"].GetArray())
            if (name == v["name"].GetString()) return &v;
        return nullptr;
    }

    static std::string json_;
    static rapidjson::Document doc_;
};

std::string Dashboard::json_;
rapidjson::Document Dashboard::doc_;

TEST_F(Dashboard, IsValidJsonWithIdentity) {
    ASSERT_FALSE(doc_.HasParseError()) << "offset " << doc_.GetErrorOffset();
    ASSERT_TRUE(doc_.IsObject());
    ASSERT_TRUE(doc_.HasMember("schemaVersion") && doc_["schemaVersion"].IsInt());
    EXPECT_GE(doc_["schemaVersion"].GetInt(), 36) << "older schemas lack datasource references by uid";
    EXPECT_STRNE(doc_["uid"].GetString(), "");
    EXPECT_STRNE(doc_["title"].GetString(), "");
    ASSERT_TRUE(doc_["panels"].IsArray());
    EXPECT_GE(doc_["panels"].Size(), 10u);
}

TEST_F(Dashboard, PanelsHaveUniqueIdsAndFitTheGrid) {
    std::set<int> ids;
    for (const auto* p : panels()) {
        const std::string title = (*p)["title"].GetString();
        ASSERT_TRUE(p->HasMember("id") && (*p)["id"].IsInt()) << title;
        EXPECT_TRUE(ids.insert((*p)["id"].GetInt()).second) << "duplicate id in " << title;
        ASSERT_TRUE(p->HasMember("gridPos")) << title;
        const auto& pos = (*p)["gridPos"];
        for (const char* key : {"h", "w", "x", "y"}) ASSERT_TRUE(pos.HasMember(key) && pos[key].IsInt()) << title;
        EXPECT_GT(pos["w"].GetInt(), 0) << title;
        EXPECT_GT(pos["h"].GetInt(), 0) << title;
        EXPECT_LE(pos["x"].GetInt() + pos["w"].GetInt(), 24) << title;
    }
}

TEST_F(Dashboard, EveryPanelQueriesWithAnExpr) {
    for (const auto* p : panels()) {
        if (is_row(*p)) continue;
        const std::string title = (*p)["title"].GetString();
        ASSERT_TRUE(p->HasMember("targets") && (*p)["targets"].IsArray() && !(*p)["targets"].Empty()) << title;
        std::set<std::string> ref_ids;
        for (const auto& t : (*p)["targets"].GetArray()) {
            ASSERT_TRUE(t.HasMember("expr") && t["expr"].IsString()) << title;
            EXPECT_STRNE(t["expr"].GetString(), "") << title;
            EXPECT_TRUE(ref_ids.insert(t["refId"].GetString()).second) << "duplicate refId in " << title;
        }
    }
}

TEST_F(Dashboard, WorkflowNameVariableListsLabelValues) {
    const auto* v = variable("workflow_name");
    ASSERT_NE(v, nullptr);
    EXPECT_STREQ((*v)["type"].GetString(), "query");
    const std::string query = (*v)["query"]["query"].GetString();
    EXPECT_NE(query.find("label_values("), std::string::npos) << query;
    EXPECT_NE(query.find(", workflow_name)"), std::string::npos) << query;
    EXPECT_TRUE((*v)["multi"].GetBool());
    EXPECT_STREQ((*v)["allValue"].GetString(), ".*");
}

TEST_F(Dashboard, EveryVariableAQueryUsesIsDefined) {
    const std::regex reference(R"(\$\{?(\w+)\}?)");
    for (const auto& q : queries())
        for (std::sregex_iterator m(q.expr.begin(), q.expr.end(), reference), end; m != end; ++m) {
            const std::string name = (*m)[1];
            if (name.rfind("__", 0) == 0) continue;  // Grafana's own ($__rate_interval)
            EXPECT_NE(variable(name), nullptr) << "$" << name << " in panel " << q.panel;
        }
}

TEST_F(Dashboard, QueriesTheProvisionedDatasource) {
    const auto provisioning = YAML::LoadFile(source_path("deploy/grafana/provisioning/datasources/cargomon.yml").string());
    const auto uid = provisioning["datasources"][0]["uid"].as<std::string>();
    EXPECT_EQ(provisioning["datasources"][0]["type"].as<std::string>(), "prometheus");

    const auto* v = variable("datasource");
    ASSERT_NE(v, nullptr);
    EXPECT_STREQ((*v)["type"].GetString(), "datasource");
    EXPECT_STREQ((*v)["query"].GetString(), "prometheus");
    EXPECT_EQ((*v)["current"]["value"].GetString(), uid) << "the default must be the provisioned datasource";

    auto uses_variable = [](const rapidjson::Value& ds) {
        return std::string(ds["type"].GetString()) == "prometheus" && std::string(ds["uid"].GetString()) == "${datasource}";
    };
    for (const auto* p : panels()) {
        if (is_row(*p)) continue;
        const std::string title = (*p)["title"].GetString();
        EXPECT_TRUE(uses_variable((*p)["datasource"])) << title;
        for (const auto& t : (*p)["targets"].GetArray()) EXPECT_TRUE(uses_variable(t["datasource"])) << title;
    }
}

// A typo in a metric name is valid PromQL that silently shows nothing: every name must
// be one cargomon registers (its sources spell each one as a string literal).
TEST_F(Dashboard, MetricNamesAreOnesCargomonExports) {
    std::string sources;
    for (const char* dir : {"collectors", "cargo", "web", "daemon", "alerts"})
        for (const auto& entry : std::filesystem::recursive_directory_iterator(source_path(dir)))
            if (entry.path().extension() == ".cpp") sources += read_text(entry.path());
    const std::regex metric(R"(\b((?:cargo|cargomon)_[a-z_]+|ALERTS)\b)");
    std::set<std::string> checked;
    for (const auto& q : queries())
        for (std::sregex_iterator m(q.expr.begin(), q.expr.end(), metric), end; m != end; ++m) {
            std::string name = (*m)[1];
            if (name.ends_with("_bucket")) name.resize(name.size() - 7);  // a histogram's series
            if (checked.insert(name).second) {
                EXPECT_NE(sources.find('"' + name + '"'), std::string::npos) << name << " (panel " << q.panel << ")";
            }
        }
    EXPECT_GE(checked.size(), 20u);
}

// Prometheus itself parses every query: an instant query with the variables filled in
// must come back "success" (the values are checked end to end elsewhere).
class DashboardPromql : public Dashboard {
protected:
    static void SetUpTestSuite() {
        Dashboard::SetUpTestSuite();
        if (find_executable("prometheus").empty()) return;
        prometheus_ = std::make_unique<testing::PrometheusServer>("global: {}\nscrape_configs: []\n");
    }
    static void TearDownTestSuite() { prometheus_.reset(); }

    void SetUp() override {
        CARGOMON_REQUIRE_TOOL(prometheus_ != nullptr, "prometheus not installed");
    }

    static inline std::unique_ptr<testing::PrometheusServer> prometheus_;
};

std::string substitute(std::string expr) {
    const std::pair<std::string, std::string> values[] = {
        {"$__rate_interval", "2m"}, {"$workflow_name", R"(Enrich \"leads\" \\(EU\\))"}, {"$window", "1h"}, {"$job", "cargomon"}};
    for (const auto& [name, value] : values)
        for (auto at = expr.find(name); at != std::string::npos; at = expr.find(name, at + value.size()))
            expr.replace(at, name.size(), value);
    return expr;
}

TEST_F(DashboardPromql, PrometheusAcceptsEveryQuery) {
    httplib::Client client("127.0.0.1", prometheus_->port());
    const auto all = queries();
    ASSERT_FALSE(all.empty());
    for (const auto& q : all) {
        const auto expr = substitute(q.expr);
        auto res = client.Post("/api/v1/query", httplib::Params{{"query", expr}});
        ASSERT_TRUE(res) << "no answer from Prometheus";
        rapidjson::Document answer;
        answer.Parse(res->body.c_str());
        ASSERT_FALSE(answer.HasParseError()) << res->body;
        EXPECT_STREQ(answer["status"].GetString(), "success")
            << "panel \"" << q.panel << "\": " << expr << "\n" << res->body;
    }
}

// The check above must be able to fail: Prometheus refuses a broken query.
TEST_F(DashboardPromql, PrometheusRefusesABrokenQuery) {
    httplib::Client client("127.0.0.1", prometheus_->port());
    auto res = client.Post("/api/v1/query", httplib::Params{{"query", substitute("sum by (le (rate(x[$__rate_interval]))")}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
}

// The dashboard with cargomon itself as the data source (docs/grafana.md): Grafana asks
// its query API as it asks Prometheus (query_range, POSTed form), with the `job`
// variable at its All value, as it is when cargomon (which has no scrape labels) lists no
// job. Every query is answered, and the panels an operator reads first show data.
class DashboardAgainstCargomon : public Dashboard {
protected:
    void SetUp() override {
        sim_ = std::make_unique<testing::SimProcess>(testing::SimOptions{.workflows = 4, .history = "2h", .live = true});
        daemon_ = std::make_unique<testing::DaemonProcess>("api_url: " + sim_->url() + "\ntoken: " + sim_->token() + R"(
defaults: {interval: 2s, timeout: 2s, jitter: 0}
collectors:
  - {name: discovery, kind: discovery}
  - {name: runs, kind: run_counts, windows: [1h]}
  - {name: batches, kind: batches}
  - {name: nodes, kind: run_metrics}
  - {name: credits, kind: credits}
)");
    }
    std::unique_ptr<testing::SimProcess> sim_;
    std::unique_ptr<testing::DaemonProcess> daemon_;
};

TEST_F(DashboardAgainstCargomon, EveryQueryIsAnsweredAndTheMainPanelsShowData) {
    httplib::Client client("127.0.0.1", static_cast<int>(std::stoi(daemon_->url().substr(daemon_->url().rfind(':') + 1))));
    auto ask = [&](const std::string& expr) {
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
        return client.Post("/api/v1/query_range", httplib::Params{{"query", expr},
                                                                 {"start", std::to_string(now - 300)},
                                                                 {"end", std::to_string(now)},
                                                                 {"step", "15"}});
    };
    auto with_all_jobs = [](std::string expr) {
        for (auto at = expr.find("$job"); at != std::string::npos; at = expr.find("$job", at)) expr.replace(at, 4, ".*");
        for (auto at = expr.find("$workflow_name"); at != std::string::npos; at = expr.find("$workflow_name", at))
            expr.replace(at, 14, ".*");
        return substitute(expr);
    };
    // The collectors have run and their series are in the history.
    for (auto deadline = std::chrono::steady_clock::now() + 60s;; std::this_thread::sleep_for(500ms)) {
        auto res = ask("cargo_workflow_runs");
        if (res && res->status == 200 && res->body.find("\"values\"") != std::string::npos) break;
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no cargo_workflow_runs in the history:\n" << daemon_->log();
    }
    std::this_thread::sleep_for(4s);  // two more collections of everything
    std::size_t with_data = 0;
    for (const auto& q : queries()) {
        const std::string expr = with_all_jobs(q.expr);
        auto res = ask(expr);
        ASSERT_TRUE(res) << "no answer from cargomon";
        rapidjson::Document answer;
        answer.Parse(res->body.c_str());
        ASSERT_FALSE(answer.HasParseError()) << res->body;
        ASSERT_STREQ(answer["status"].GetString(), "success") << "panel \"" << q.panel << "\": " << expr << "\n" << res->body;
        const bool empty = answer["data"]["result"].Empty();
        with_data += !empty;
        // What an operator reads first: runs, errors, workflows, and whether cargomon is up.
        for (const char* metric : {"cargo_workflow_runs{", "cargo_workflow_info{", "cargo_workflow_error_ratio{", "up{"})
            if (expr.find(metric) != std::string::npos) {
                EXPECT_FALSE(empty) << "panel \"" << q.panel << "\" shows no data: " << expr;
            }
    }
    std::printf("%zu of %zu dashboard queries return data from cargomon\n", with_data, queries().size());
}

}  // namespace
}  // namespace cargomon::deploy_test
