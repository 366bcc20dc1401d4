// The API's JSON: the rules and alerts answers in Prometheus' shapes from the rule
// manager's values, the status answer, and the silence API (both sides) over a real store.
#include "web/api.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <rapidjson/document.h>

#include "common/timefmt.h"
#include "tests/support/temp_dir.h"

namespace cargomon::web {
namespace {

using namespace std::chrono_literals;
using alerts::rules::AlertingRule, alerts::promql::Evaluation, alerts::promql::Vector;

AlertingRule rule(const std::string& severity, Millis for_duration) {
    AlertingRule r{.name = "ErrorRate", .expr_text = "cargo_workflow_error_ratio > 0.1", .for_duration = for_duration};
    r.labels.emplace_back("severity", alerts::rules::Template::parse(severity));
    return r;
}

TEST(RulesAnswer, EachRuleListsItsOwnAlertsWithHealthAndLastEvaluation) {
    FakeClock clock;
    prometheus::Registry registry;
    alerts::rules::RuleEvaluator evaluator = [](const alerts::rules::Rule& rule, std::int64_t) {
        const auto& r = std::get<AlertingRule>(rule);
        alerts::promql::VectorSample a{{{"workflow_name", "enrich"}}, 0.6}, b{{{"workflow_name", "score"}}, 0.2};
        return r.labels.at(0).second.text() == "critical" ? Evaluation{Vector{a}, ""} : Evaluation{Vector{a, b}, ""};
    };
    alerts::rules::RuleManager m({{.file = "r.yml", .name = "g", .interval = 1min, .rules = {rule("warning", 5min), rule("critical", 0ms)}}},
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

class SilencesApi : public ::testing::Test {
protected:
    rapidjson::Document json(const Answer& answer) {
        rapidjson::Document doc;
        doc.Parse(answer.json.c_str());
        EXPECT_FALSE(doc.HasParseError()) << answer.json;
        return doc;
    }
    Answer create(const std::string& body) { return create_silence_answer(store, body); }

    testing::TempDir dir;
    FakeClock clock;
    alerts::notify::SilenceStore store{dir.file("s.db"), clock};
    const std::string ends = format_iso8601(clock.now() + 2h);
};

TEST_F(SilencesApi, CreateListDelete) {
    Answer created = create(R"({"matchers":[{"name":"alertname","value":"Down","isRegex":false}],"endsAt":")" + ends +
                            R"(","createdBy":"me","comment":"deploy"})");
    ASSERT_EQ(created.status, 200) << created.json;
    const std::string id = json(created)["silenceID"].GetString();
    EXPECT_TRUE(store.silenced({{"alertname", "Down"}}));

    Answer listed = list_silences_answer(store);
    EXPECT_EQ(listed.status, 200);
    rapidjson::Document doc = json(listed);
    ASSERT_EQ(doc.Size(), 1u);
    EXPECT_EQ(doc[0]["id"].GetString(), id);
    EXPECT_STREQ(doc[0]["status"]["state"].GetString(), "active");
    EXPECT_STREQ(doc[0]["matchers"][0]["name"].GetString(), "alertname");
    EXPECT_TRUE(doc[0]["matchers"][0]["isEqual"].GetBool());
    EXPECT_STREQ(doc[0]["comment"].GetString(), "deploy");
    EXPECT_STREQ(doc[0]["endsAt"].GetString(), ends.c_str());

    Answer deleted = expire_silence_answer(store, id);
    EXPECT_EQ(deleted.status, 200);
    EXPECT_EQ(deleted.json, "");
    EXPECT_FALSE(store.silenced({{"alertname", "Down"}}));
    EXPECT_EQ(expire_silence_answer(store, id).status, 404);
    EXPECT_EQ(expire_silence_answer(store, "nope").status, 404);
    EXPECT_STREQ(json(expire_silence_answer(store, "nope"))["error"].GetString(),
                 "no active or pending silence with that id");
}

TEST_F(SilencesApi, BadRequestsGetClearErrors) {
    auto expect_400 = [&](const std::string& body, const std::string& says) {
        Answer res = create(body);
        EXPECT_EQ(res.status, 400) << body;
        EXPECT_NE(res.json.find(says), std::string::npos) << res.json;
    };
    expect_400("not json", "body is not JSON");
    expect_400("[1, 2]", "JSON object");
    expect_400(std::string(100'000, '['), "body is not JSON");  // once a stack overflow
    expect_400(R"({"endsAt":")" + ends + R"(","comment":"c"})", "missing matchers");
    expect_400(R"({"matchers":[{"name":"a","value":"b"}],"comment":"c"})", "missing endsAt");
    expect_400(R"({"matchers":[{"name":"a","value":"b"}],"endsAt":"tomorrow","comment":"c"})", "endsAt");
    expect_400(R"({"matchers":[{"name":"a","value":"(","isRegex":true}],"endsAt":")" + ends + R"(","comment":"c"})",
               "bad regex");
    expect_400(R"({"matchers":[{"name":"a","value":"b","isEqual":"yes"}],"endsAt":")" + ends + R"(","comment":"c"})",
               "isEqual");
    expect_400(R"({"matchers":[{"name":"a","value":"b"}],"endsAt":")" + ends + R"("})", "needs a comment");
    EXPECT_TRUE(store.list().empty());
}

// `cargomon silence add` sends what the daemon takes, and reads back what it answers.
TEST_F(SilencesApi, TheClientSideRoundTrips) {
    const alerts::notify::Silence sent{.matchers = {std::get<metrics::Matcher>(metrics::parse_matcher("team=~\"(?i)ops\"")),
                                            std::get<metrics::Matcher>(metrics::parse_matcher("severity!=page"))},
                               .ends_at = clock.now() + 1h,
                               .created_by = "me",
                               .comment = "maintenance \"window\""};
    const std::string body = silence_request(sent);
    EXPECT_EQ(body.find("startsAt"), std::string::npos) << body;  // the daemon's now
    Answer created = create(body);
    ASSERT_EQ(created.status, 200) << created.json;
    EXPECT_EQ(read_silence_id(json(created)), store.list().at(0).id);
    EXPECT_TRUE(store.silenced({{"team", "OPS"}}));

    rapidjson::Document listed = json(list_silences_answer(store));
    ListedSilence s = read_listed_silence(listed[0]);
    EXPECT_EQ(s.id, store.list().at(0).id);
    EXPECT_EQ(s.state, "active");
    EXPECT_EQ(s.matchers, (std::vector<std::string>{"team=~\"(?i)ops\"", "severity!=\"page\""}));
    EXPECT_EQ(s.starts_at, format_iso8601(clock.now()));
    EXPECT_EQ(s.ends_at, format_iso8601(clock.now() + 1h));
    EXPECT_EQ(s.created_by, "me");
    EXPECT_EQ(s.comment, "maintenance \"window\"");

    rapidjson::Document refusal = json(create(silence_request({.matchers = sent.matchers, .ends_at = clock.now() + 1h})));
    EXPECT_EQ(read_error(refusal), "a silence needs a comment");
    EXPECT_EQ(read_silence_id(refusal), std::nullopt);
}

// Another daemon's answer: what this client cannot compile is shown as sent, what is
// missing or of another type reads as empty.
TEST_F(SilencesApi, TheClientReadsWhatAnyPeerSends) {
    rapidjson::Document doc;
    doc.Parse(R"([{"id":7,"matchers":[{"name":"a","value":"(","isRegex":true},{"name":"b","value":"c","isEqual":false},)"
              R"(3],"status":"active","comment":"x"}])");
    ListedSilence s = read_listed_silence(doc[0]);
    EXPECT_EQ(s.id, "");
    EXPECT_EQ(s.state, "");
    EXPECT_EQ(s.matchers, (std::vector<std::string>{"a=~(", "b!=\"c\""}));
    EXPECT_EQ(s.comment, "x");
    EXPECT_EQ(s.created_by, "");
    EXPECT_EQ(read_listed_silence(doc).id, "");  // not an object at all
    EXPECT_EQ(read_error(doc), std::nullopt);
}

TEST(ErrorAnswer, PrometheusShapeWithEscapes) {
    EXPECT_EQ(error_answer("forbidden", "say \"no\" \\ here"),
              R"({"status":"error","errorType":"forbidden","error":"say \"no\" \\ here"})");
}

}  // namespace
}  // namespace cargomon::web
