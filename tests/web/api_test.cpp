// The rules and alerts answers in Prometheus' shapes, from the rule manager's values.
#include "web/api.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <rapidjson/document.h>

namespace cargomon::web {
namespace {

using namespace std::chrono_literals;
using alerts::AlertingRule, alerts::Evaluation, alerts::Vector;

AlertingRule rule(const std::string& severity, Millis for_duration) {
    AlertingRule r{.name = "ErrorRate", .expr_text = "cargo_workflow_error_ratio > 0.1", .for_duration = for_duration};
    r.labels.emplace_back("severity", alerts::Template::parse(severity));
    return r;
}

TEST(RulesAnswer, EachRuleListsItsOwnAlertsWithHealthAndLastEvaluation) {
    FakeClock clock;
    prometheus::Registry registry;
    alerts::RuleEvaluator evaluator = [](const AlertingRule& r) {
        alerts::VectorSample a{{{"workflow_name", "enrich"}}, 0.6}, b{{{"workflow_name", "score"}}, 0.2};
        return r.labels.at(0).second.text() == "critical" ? Evaluation{Vector{a}, ""} : Evaluation{Vector{a, b}, ""};
    };
    alerts::RuleManager m({{.file = "r.yml", .name = "g", .interval = 1min, .rules = {rule("warning", 5min), rule("critical", 0ms)}}},
                          evaluator, [](std::vector<alerts::Alert>) {}, clock, registry);
    m.evaluate_due();
    rapidjson::Document doc;
    doc.Parse(rules_answer(m.groups()).c_str());
    ASSERT_FALSE(doc.HasParseError());
    EXPECT_STREQ(doc["status"].GetString(), "success");
    const auto& rules = doc["data"]["groups"][0]["rules"];
    ASSERT_EQ(rules.Size(), 2u);
    EXPECT_EQ(rules[0]["alerts"].Size(), 2u);
    EXPECT_STREQ(rules[0]["state"].GetString(), "pending");
    EXPECT_EQ(rules[1]["alerts"].Size(), 1u);
    EXPECT_STREQ(rules[1]["state"].GetString(), "firing");
    EXPECT_STREQ(rules[1]["alerts"][0]["labels"]["severity"].GetString(), "critical");
    for (const auto& r : rules.GetArray()) {
        EXPECT_STREQ(r["health"].GetString(), "ok");
        EXPECT_STRNE(r["lastEvaluation"].GetString(), "0001-01-01T00:00:00Z");
        EXPECT_FALSE(r.HasMember("lastError"));
    }
    rapidjson::Document alerts_doc;
    alerts_doc.Parse(alerts_answer(m.alerts()).c_str());
    EXPECT_EQ(alerts_doc["data"]["alerts"].Size(), 3u);
}

TEST(StatusAnswer, TheDaemonThenEachCollector) {
    const SystemTime t{std::chrono::seconds{1'800'000'000}};
    DaemonStatus status{.version = "0.1.0",
                        .ready = true,
                        .config_file = "/etc/cargomon/cargomon.yml",
                        .config_last_reload_successful = true,
                        .series = 42,
                        .collectors = {{.name = "c",
                                        .kind = "discovery",
                                        .up = false,
                                        .running = false,
                                        .last_run_start = t,
                                        .last_duration_seconds = 0.5,
                                        .last_error = "server error 503",
                                        .next_run = t + 10s,
                                        .series = 0}}};
    EXPECT_EQ(status_answer(status),
              R"({"collectors":[{"name":"c","kind":"discovery","up":false,"running":false,)"
              R"("last_run_start":"2027-01-15T08:00:00.000Z","last_duration_seconds":0.5,"last_error":"server error 503",)"
              R"("next_run":"2027-01-15T08:00:10.000Z","series":0}],"version":"0.1.0","ready":true,)"
              R"("config_file":"/etc/cargomon/cargomon.yml","config_last_reload_successful":true,"series":42})");
    EXPECT_EQ(status_answer({.stopping = true}), R"({"status":"stopping"})");
}

}  // namespace
}  // namespace cargomon::web
