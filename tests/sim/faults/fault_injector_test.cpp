#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include <rapidjson/document.h>

#include "tests/sim/faults/fake_api.h"

using namespace cargomon;
using namespace cargomon::sim;
using namespace cargomon::sim::testing;
using namespace std::chrono_literals;

namespace {

bool parses_as_json(const std::string& body) {
    rapidjson::Document doc;
    doc.Parse(body.c_str(), body.size());
    return !doc.HasParseError();
}

FaultSpec only(double FaultSpec::*ratio) {
    FaultSpec spec;
    spec.*ratio = 1.0;
    return spec;
}

class FaultInjectorTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { api_ = new FakeApi(); }
    static void TearDownTestSuite() {
        delete api_;
        api_ = nullptr;
    }
    void SetUp() override { api_->faults.clear_all(); }

    httplib::Result count(httplib::Client& c) {
        return c.Post("/v1/orchestration/runs/count", R"({"workflowUuid":"x"})", "application/json");
    }

    static FakeApi* api_;
};
FakeApi* FaultInjectorTest::api_ = nullptr;

}  // namespace

TEST_F(FaultInjectorTest, NoFaultLeavesTheAnswerAlone) {
    auto c = api_->client();
    auto res = count(*c);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, kRunsCountBody);
    EXPECT_FALSE(res->has_header(kFaultHeader));
}

TEST_F(FaultInjectorTest, ErrorAnswersOneOfTheStatusesWithTheContractBody) {
    FaultSpec spec = only(&FaultSpec::error_ratio);
    spec.statuses = {500, 503};
    api_->faults.set("*", spec);
    auto c = api_->client();
    std::set<int> seen;
    for (int i = 0; i < 20; ++i) {
        auto res = count(*c);
        ASSERT_TRUE(res);
        seen.insert(res->status);
        rapidjson::Document doc;
        doc.Parse(res->body.c_str());
        ASSERT_FALSE(doc.HasParseError()) << res->body;
        EXPECT_TRUE(doc["errorMessage"].IsString());
        EXPECT_STREQ(doc["reason"].GetString(), "simulatedServerError");
        EXPECT_EQ(res->get_header_value(kFaultHeader), "error");
    }
    EXPECT_EQ(seen, (std::set<int>{500, 503}));
}

TEST_F(FaultInjectorTest, ThrottleAnswers429WithRetryAfter) {
    FaultSpec spec = only(&FaultSpec::throttle_ratio);
    spec.retry_after = 7s;
    api_->faults.set("/v1/orchestration/runs/count", spec);
    auto c = api_->client();
    auto res = count(*c);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 429);
    EXPECT_EQ(res->get_header_value("Retry-After"), "7");
    EXPECT_TRUE(parses_as_json(res->body));
}

TEST_F(FaultInjectorTest, TruncatedBodyIsAValidStartThatDoesNotParse) {
    api_->faults.set("*", only(&FaultSpec::truncate_ratio));
    auto c = api_->client();
    auto res = count(*c);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_FALSE(res->body.empty());
    EXPECT_LT(res->body.size(), kRunsCountBody.size());
    EXPECT_EQ(kRunsCountBody.substr(0, res->body.size()), res->body);
    EXPECT_FALSE(parses_as_json(res->body));
}

TEST_F(FaultInjectorTest, MalformedBodyDoesNotParse) {
    api_->faults.set("*", only(&FaultSpec::malformed_ratio));
    auto c = api_->client();
    auto res = count(*c);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_FALSE(parses_as_json(res->body));
}

TEST_F(FaultInjectorTest, ResetIsAConnectionErrorWithoutStatus) {
    api_->faults.set("*", only(&FaultSpec::reset_ratio));
    auto c = api_->client();
    auto res = count(*c);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error(), httplib::Error::Read);

    api_->faults.clear("*");
    auto after = count(*c);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status, 200);
}

TEST_F(FaultInjectorTest, SlowBodyTricklesInChunks) {
    FaultSpec spec = only(&FaultSpec::slow_ratio);
    spec.slow_chunk_bytes = 8;
    spec.slow_interval = 20ms;
    api_->faults.set("*", spec);
    auto c = api_->client();
    auto start = std::chrono::steady_clock::now();
    auto res = count(*c);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, kRunsCountBody);
    EXPECT_EQ(res->get_header_value(kFaultHeader), "slow");
    size_t chunks = (kRunsCountBody.size() + 7) / 8;
    EXPECT_GE(took, chunks * spec.slow_interval);
}

TEST_F(FaultInjectorTest, LatencyDelaysTheAnswer) {
    FaultSpec spec;
    spec.latency = 100ms;
    api_->faults.set("*", spec);
    auto c = api_->client();
    auto start = std::chrono::steady_clock::now();
    auto res = count(*c);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_GE(took, 100ms);
}

TEST_F(FaultInjectorTest, RatiosAreRoughlyHonoured) {
    FaultSpec spec;
    spec.error_ratio = 0.3;
    spec.statuses = {502};
    spec.throttle_ratio = 0.2;
    api_->faults.set("*", spec);
    auto c = api_->client();
    std::map<int, int> by_status;
    const int n = 400;
    for (int i = 0; i < n; ++i) {
        auto res = count(*c);
        ASSERT_TRUE(res);
        ++by_status[res->status];
    }
    EXPECT_NEAR(by_status[502] / double(n), 0.3, 0.07);
    EXPECT_NEAR(by_status[429] / double(n), 0.2, 0.07);
    EXPECT_NEAR(by_status[200] / double(n), 0.5, 0.07);
}

TEST(FaultInjectorSeed, SameSeedSameFaults) {
    auto statuses = [](std::uint64_t seed) {
        FakeApi api(seed);
        FaultSpec spec;
        spec.error_ratio = 0.5;
        api.faults.set("*", spec);
        auto c = api.client();
        std::vector<int> out;
        for (int i = 0; i < 40; ++i) {
            auto res = c->Post("/v1/orchestration/runs/count", "{}", "application/json");
            out.push_back(res ? res->status : -1);
        }
        return out;
    };
    EXPECT_EQ(statuses(7), statuses(7));
    EXPECT_NE(statuses(7), statuses(8));
}

TEST_F(FaultInjectorTest, MostSpecificEndpointWins) {
    api_->faults.set("*", only(&FaultSpec::error_ratio));
    api_->faults.set("/v1/orchestration/runs/count", FaultSpec{});
    auto c = api_->client();
    EXPECT_EQ(count(*c)->status, 200);
    auto batch = c->Get(std::string("/v1/orchestration/batches/") + kBatchUuid);
    ASSERT_TRUE(batch);
    EXPECT_GE(batch->status, 500);

    api_->faults.clear("*");
    FaultSpec throttle = only(&FaultSpec::throttle_ratio);
    api_->faults.set("/v1/orchestration/batches/{uuid}", throttle);
    EXPECT_EQ(c->Get(std::string("/v1/orchestration/batches/") + kBatchUuid)->status, 429);
}

TEST_F(FaultInjectorTest, ClearingRestoresNormalAnswers) {
    api_->faults.set("*", only(&FaultSpec::error_ratio));
    api_->faults.set("/v1/orchestration/runs/count", only(&FaultSpec::throttle_ratio));
    auto c = api_->client();
    EXPECT_EQ(count(*c)->status, 429);
    api_->faults.clear("/v1/orchestration/runs/count");
    EXPECT_GE(count(*c)->status, 500);
    api_->faults.clear_all();
    EXPECT_EQ(count(*c)->status, 200);
    EXPECT_TRUE(api_->faults.snapshot().empty());
}

TEST_F(FaultInjectorTest, TimedFaultsExpireWithTheClock) {
    api_->faults.set("*", only(&FaultSpec::error_ratio), api_->clock.now() + 1min);
    auto c = api_->client();
    EXPECT_GE(count(*c)->status, 500);
    ASSERT_EQ(api_->faults.snapshot().size(), 1u);
    api_->clock.advance(61s);
    EXPECT_EQ(count(*c)->status, 200);
    EXPECT_TRUE(api_->faults.snapshot().empty());
}

TEST_F(FaultInjectorTest, KeepAliveSurvivesFaultsOnRequestsWithBodies) {
    api_->faults.set("*", only(&FaultSpec::error_ratio));
    auto c = api_->client();
    std::string big(100000, ' ');
    big += "{}";
    auto faulted = c->Post("/v1/orchestration/runs/count", big, "application/json");
    ASSERT_TRUE(faulted);
    EXPECT_GE(faulted->status, 500);
    api_->faults.clear_all();
    auto next = c->Post("/v1/orchestration/runs/count", big, "application/json");
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
    // A reconnect would give the second 200 too: one connection must have served both.
    // (The FakeApi is shared by the suite: these two are the last it answered.)
    const auto ports = api_->remote_ports();
    ASSERT_GE(ports.size(), 2u);
    EXPECT_EQ(ports[ports.size() - 2], ports.back()) << "the faulted answer closed the connection; the client reconnected";
}

TEST_F(FaultInjectorTest, ControlPathsAreNeverFaulted) {
    api_->faults.set("*", only(&FaultSpec::reset_ratio));
    auto c = api_->client();
    auto res = c->Get("/_sim/faults");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
}

TEST_F(FaultInjectorTest, RejectsBadSpecs) {
    FaultSpec spec;
    spec.error_ratio = 0.6;
    spec.slow_ratio = 0.6;
    EXPECT_THROW(api_->faults.set("*", spec), FaultSpecError);
    EXPECT_THROW(api_->faults.set("/orchestration/query", FaultSpec{}), FaultSpecError);
    EXPECT_TRUE(api_->faults.snapshot().empty());
}
