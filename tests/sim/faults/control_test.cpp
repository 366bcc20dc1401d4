#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include "common/timefmt.h"
#include "tests/sim/faults/fake_api.h"

using namespace cargomon;
using namespace cargomon::sim;
using namespace cargomon::sim::testing;
using namespace std::chrono_literals;

namespace {

rapidjson::Document json_of(const httplib::Result& res) {
    rapidjson::Document doc;
    doc.Parse(res->body.c_str());
    EXPECT_FALSE(doc.HasParseError()) << res->body;
    return doc;
}

class ControlTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { api_ = new FakeApi(); }
    static void TearDownTestSuite() {
        delete api_;
        api_ = nullptr;
    }
    void SetUp() override {
        api_->faults.clear_all();
        api_->conditions.clear();
        api_->stats.reset();
        client_ = api_->client();
    }

    static FakeApi* api_;
    std::unique_ptr<httplib::Client> client_;
};
FakeApi* ControlTest::api_ = nullptr;

}  // namespace

TEST_F(ControlTest, RequiresTheBearerToken) {
    httplib::Client anonymous("127.0.0.1", api_->port);
    auto res = anonymous.Get("/_sim/faults");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_STREQ(json_of(res)["reason"].GetString(), "unauthorized");

    httplib::Client wrong("127.0.0.1", api_->port);
    wrong.set_bearer_token_auth("sim-secret-tokem");
    res = wrong.Post("/_sim/stats/reset", "", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(res->body.find("sim-secret"), std::string::npos);
}

TEST_F(ControlTest, FaultsRoundTrip) {
    auto put = client_->Put("/_sim/faults",
                            R"({"endpoint": "/v1/orchestration/runs/count", "error_ratio": 1, "statuses": [503],
                                "latency": "10ms", "for": "2m"})",
                            "application/json");
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 200) << put->body;

    auto get = client_->Get("/_sim/faults");
    ASSERT_TRUE(get);
    auto doc = json_of(get);
    ASSERT_EQ(doc["faults"].Size(), 1u);
    const auto& f = doc["faults"][0];
    EXPECT_STREQ(f["endpoint"].GetString(), "/v1/orchestration/runs/count");
    EXPECT_EQ(f["error_ratio"].GetDouble(), 1.0);
    ASSERT_EQ(f["statuses"].Size(), 1u);
    EXPECT_EQ(f["statuses"][0].GetInt(), 503);
    EXPECT_STREQ(f["latency"].GetString(), "10ms");
    EXPECT_EQ(f["until"].GetString(), format_iso8601(api_->clock.now() + 2min));

    auto faulted = client_->Post("/v1/orchestration/runs/count", "{}", "application/json");
    ASSERT_TRUE(faulted);
    EXPECT_EQ(faulted->status, 503);

    auto del = client_->Delete("/_sim/faults?endpoint=/v1/orchestration/runs/count");
    ASSERT_TRUE(del);
    EXPECT_EQ(json_of(del)["faults"].Size(), 0u);
    EXPECT_EQ(client_->Post("/v1/orchestration/runs/count", "{}", "application/json")->status, 200);
}

TEST_F(ControlTest, DeleteWithoutEndpointClearsAll) {
    ASSERT_EQ(client_->Put("/_sim/faults", R"({"endpoint": "*", "reset_ratio": 0.1})", "application/json")->status, 200);
    ASSERT_EQ(client_->Put("/_sim/faults", R"({"endpoint": "/v1/a", "slow_ratio": 0.1})", "application/json")->status, 200);
    EXPECT_EQ(api_->faults.snapshot().size(), 2u);
    auto del = client_->Delete("/_sim/faults");
    ASSERT_TRUE(del);
    EXPECT_EQ(del->status, 200);
    EXPECT_TRUE(api_->faults.snapshot().empty());
}

TEST_F(ControlTest, BadFaultIsA400WithItsPosition) {
    auto res = client_->Put("/_sim/faults", R"({"endpoint": "*", "error_ratio": 2})", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    auto doc = json_of(res);
    EXPECT_STREQ(doc["errorMessage"].GetString(), "request body:1:34: error_ratio: \"2\" is not a ratio in [0, 1]");
    EXPECT_STREQ(doc["reason"].GetString(), "invalidRequest");

    res = client_->Put("/_sim/faults", R"({"kind": "silence", "workflow": "*", "for": "1m"})", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    res = client_->Put("/_sim/faults", "{\"endpoint\": ", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_TRUE(api_->faults.snapshot().empty());
}

TEST_F(ControlTest, EventsApplyNow) {
    auto res = client_->Post("/_sim/events",
                             R"({"kind": "error_spike", "workflow": "Enrich inbound leads", "error_rate": 0.9, "for": "5m"})",
                             "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    auto doc = json_of(res);
    EXPECT_STREQ(doc["applied"].GetString(), "error_spike");
    EXPECT_STREQ(doc["workflow"].GetString(), kEnrichUuid);
    EXPECT_EQ(doc["until"].GetString(), format_iso8601(api_->clock.now() + 5min));
    EXPECT_EQ(api_->conditions.effects(kEnrichUuid, api_->clock.now()).error_rate, 0.9);
    EXPECT_EQ(api_->conditions.effects(kEnrichUuid, api_->clock.now() + 6min).error_rate, std::nullopt);

    res = client_->Post("/_sim/events", R"({"kind": "api_fault", "endpoint": "*", "throttle_ratio": 1})",
                        "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(client_->Post("/v1/orchestration/runs/count", "{}", "application/json")->status, 429);

    res = client_->Delete("/_sim/events");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(api_->conditions.effects(kEnrichUuid, api_->clock.now()).error_rate, std::nullopt);
}

TEST_F(ControlTest, EventsRefuseAtAndUnknownWorkflows) {
    auto res = client_->Post("/_sim/events", R"({"at": "1m", "kind": "silence", "workflow": "*", "for": "5m"})",
                             "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_STREQ(json_of(res)["errorMessage"].GetString(),
                 "request body:1:2: at is not accepted here: the event applies now");

    res = client_->Post("/_sim/events", R"({"kind": "silence", "workflow": "Nope", "for": "5m"})", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_FALSE(api_->conditions.effects(kEnrichUuid, api_->clock.now()).silent);
}

TEST_F(ControlTest, StatsAndReset) {
    for (int i = 0; i < 2; ++i) client_->Post("/v1/orchestration/runs/count", "{}", "application/json");
    client_->Get(std::string("/v1/orchestration/batches/") + kBatchUuid);

    auto res = client_->Get("/_sim/stats");
    ASSERT_TRUE(res);
    auto doc = json_of(res);
    EXPECT_EQ(doc["total"].GetUint64(), 3u);
    EXPECT_EQ(doc["endpoints"]["/v1/orchestration/runs/count"]["statuses"]["200"].GetUint64(), 2u);
    EXPECT_EQ(doc["endpoints"]["/v1/orchestration/batches/{uuid}"]["total"].GetUint64(), 1u);

    ASSERT_EQ(client_->Post("/_sim/stats/reset", "", "application/json")->status, 200);
    doc = json_of(client_->Get("/_sim/stats"));
    EXPECT_EQ(doc["total"].GetUint64(), 0u);
    EXPECT_TRUE(doc["endpoints"].ObjectEmpty());
}
