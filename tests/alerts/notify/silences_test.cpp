#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>

#include "alerts/notify/silences.h"
#include "common/timefmt.h"
#include "fixtures.h"

namespace cargomon::alerts {
namespace {

using namespace std::chrono_literals;

metrics::Matcher m(const char* text) { return std::get<metrics::Matcher>(metrics::parse_matcher(text)); }

TEST(Silences, MatchWhileActiveAndSurviveARestart) {
    testing::TempDir dir;
    FakeClock clock;
    std::string id;
    {
        SilenceStore store(dir.file("s.db"), clock);
        auto added = store.add({.matchers = {m("workflow_name=~\"bill.*\""), m("severity!=page")},
                                .starts_at = clock.now() + 1min,
                                .ends_at = clock.now() + 1h,
                                .created_by = "ops",
                                .comment = "migration"});
        ASSERT_TRUE(std::holds_alternative<std::string>(added)) << std::get<SilenceRejected>(added).reason;
        id = std::get<std::string>(added);
        EXPECT_FALSE(store.silenced({{"workflow_name", "billing"}}));  // pending
    }
    clock.advance(2min);
    SilenceStore store(dir.file("s.db"), clock);
    ASSERT_EQ(store.list().size(), 1u);
    EXPECT_EQ(store.list()[0].id, id);
    EXPECT_EQ(store.list()[0].comment, "migration");
    EXPECT_TRUE(store.silenced({{"workflow_name", "billing"}}));
    EXPECT_FALSE(store.silenced({{"severity", "page"}, {"workflow_name", "billing"}}));
    EXPECT_FALSE(store.silenced({{"workflow_name", "shipping"}}));
    clock.advance(1h);
    EXPECT_FALSE(store.silenced({{"workflow_name", "billing"}}));  // ended on its own
    EXPECT_EQ(store.state(store.list()[0]), SilenceState::expired);
    clock.advance(6 * 24h);
    store.gc();
    EXPECT_TRUE(store.list().empty());
}

// Expired silences stay listed for 5 days (docs/alerting.md), gc() or not; then they go.
TEST(Silences, ExpiredOnesStayListedForFiveDays) {
    testing::TempDir dir;
    FakeClock clock;
    SilenceStore store(dir.file("s.db"), clock);
    auto ended = store.add({.matchers = {m("workflow_name=a")}, .ends_at = clock.now() + 1h, .comment = "ends"});
    ASSERT_TRUE(std::holds_alternative<std::string>(ended));
    auto expired_now = store.add({.matchers = {m("workflow_name=b")}, .ends_at = clock.now() + 1h, .comment = "expired"});
    ASSERT_TRUE(std::holds_alternative<std::string>(expired_now));
    clock.advance(59min);
    ASSERT_TRUE(store.expire(std::get<std::string>(expired_now)));  // expired by hand at 59m
    clock.advance(1min);  // the other one ends on its own at 1h
    const SystemTime ends = clock.now();
    auto listed = [&] {
        std::set<std::string> comments;
        for (const auto& s : store.list()) {
            EXPECT_EQ(store.state(s), SilenceState::expired) << s.comment;
            comments.insert(s.comment);
        }
        return comments;
    };
    for (auto later : {std::chrono::milliseconds{1s}, std::chrono::milliseconds{24h},
                       std::chrono::milliseconds{4 * 24h}, std::chrono::milliseconds{5 * 24h - 2min}}) {
        clock.set(ends + later);
        store.gc();
        EXPECT_EQ(listed(), (std::set<std::string>{"ends", "expired"})) << "dropped " << later.count() << " ms after";
    }
    // And across a restart.
    {
        SilenceStore reopened(dir.file("s.db"), clock);
        EXPECT_EQ(reopened.list().size(), 2u);
    }
    clock.set(ends + 5 * 24h + 1min);
    store.gc();
    EXPECT_TRUE(store.list().empty());
}

TEST(Silences, RefuseSilencesThatCouldSilenceEverything) {
    testing::TempDir dir;
    FakeClock clock;
    SilenceStore store(dir.file("s.db"), clock);
    auto rejected = [&](Silence s) { return std::holds_alternative<SilenceRejected>(store.add(std::move(s))); };
    EXPECT_TRUE(rejected({.ends_at = clock.now() + 1h, .comment = "c"}));
    EXPECT_TRUE(rejected({.matchers = {m("a=~\".*\"")}, .ends_at = clock.now() + 1h, .comment = "c"}));
    EXPECT_TRUE(rejected({.matchers = {m("a=b")}, .ends_at = clock.now() + 1h}));  // no comment
    EXPECT_TRUE(rejected({.matchers = {m("a=b")}, .ends_at = clock.now() - 1s, .comment = "c"}));
    EXPECT_TRUE(store.list().empty());
}

class SilencesHttp : public ::testing::Test {
protected:
    void SetUp() override {
        store = std::make_unique<SilenceStore>(dir.file("s.db"), clock);
        // The answers as the daemon's web layer serves them (daemon/alerting.cpp).
        auto reply = [](httplib::Response& res, SilenceApiAnswer answer) {
            res.status = answer.status;
            res.set_content(answer.json, "application/json");
        };
        server.Get("/api/v1/silences", [this, reply](const auto&, auto& res) { reply(res, list_silences_answer(*store)); });
        server.Post("/api/v1/silences",
                    [this, reply](const auto& req, auto& res) { reply(res, create_silence_answer(*store, req.body)); });
        server.Delete("/api/v1/silences/([^/]+)", [this, reply](const auto& req, auto& res) {
            reply(res, expire_silence_answer(*store, req.matches[1].str()));
        });
        port = server.bind_to_any_port("127.0.0.1");
        thread = std::thread([this] { server.listen_after_bind(); });
    }
    void TearDown() override {
        server.stop();
        thread.join();
    }
    httplib::Client client() { return httplib::Client("127.0.0.1", port); }

    testing::TempDir dir;
    FakeClock clock;
    std::unique_ptr<SilenceStore> store;
    httplib::Server server;
    int port = 0;
    std::thread thread;
};

TEST_F(SilencesHttp, CreateListDelete) {
    auto c = client();
    const std::string ends = format_iso8601(clock.now() + 2h);
    auto created = c.Post("/api/v1/silences",
                          R"({"matchers":[{"name":"alertname","value":"Down","isRegex":false}],"endsAt":")" + ends +
                              R"(","createdBy":"me","comment":"deploy"})",
                          "application/json");
    ASSERT_TRUE(created);
    ASSERT_EQ(created->status, 200) << created->body;
    rapidjson::Document doc;
    doc.Parse(created->body);
    const std::string id = doc["silenceID"].GetString();
    EXPECT_TRUE(store->silenced({{"alertname", "Down"}}));

    auto listed = c.Get("/api/v1/silences");
    ASSERT_TRUE(listed);
    doc.Parse(listed->body);
    ASSERT_EQ(doc.Size(), 1u);
    EXPECT_EQ(doc[0]["id"].GetString(), id);
    EXPECT_STREQ(doc[0]["status"]["state"].GetString(), "active");
    EXPECT_STREQ(doc[0]["matchers"][0]["name"].GetString(), "alertname");
    EXPECT_TRUE(doc[0]["matchers"][0]["isEqual"].GetBool());
    EXPECT_STREQ(doc[0]["comment"].GetString(), "deploy");
    EXPECT_STREQ(doc[0]["endsAt"].GetString(), ends.c_str());

    auto deleted = c.Delete("/api/v1/silences/" + id);
    ASSERT_TRUE(deleted);
    EXPECT_EQ(deleted->status, 200);
    EXPECT_FALSE(store->silenced({{"alertname", "Down"}}));
    EXPECT_EQ(c.Delete("/api/v1/silences/" + id)->status, 404);
    EXPECT_EQ(c.Delete("/api/v1/silences/nope")->status, 404);
}

TEST_F(SilencesHttp, BadRequestsGetClearErrors) {
    auto c = client();
    const std::string ends = format_iso8601(clock.now() + 2h);
    auto expect_400 = [&](const std::string& body, const std::string& says) {
        auto res = c.Post("/api/v1/silences", body, "application/json");
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 400) << body;
        EXPECT_NE(res->body.find(says), std::string::npos) << res->body;
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
    EXPECT_TRUE(store->list().empty());
}

}  // namespace
}  // namespace cargomon::alerts
