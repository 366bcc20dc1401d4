#include <gtest/gtest.h>

#include "tests/sim/faults/fake_api.h"

using namespace cargomon;
using namespace cargomon::sim;
using namespace cargomon::sim::testing;

TEST(EndpointPattern, CollapsesIdSegments) {
    EXPECT_EQ(endpoint_pattern("/v1/orchestration/runs/count"), "/v1/orchestration/runs/count");
    EXPECT_EQ(endpoint_pattern(std::string("/v1/orchestration/batches/") + kBatchUuid),
              "/v1/orchestration/batches/{uuid}");
    EXPECT_EQ(endpoint_pattern(std::string("/v1/orchestration/batches/") + kBatchUuid + "/download"),
              "/v1/orchestration/batches/{uuid}/download");
    EXPECT_EQ(endpoint_pattern("/v1/orchestration/batches/list"), "/v1/orchestration/batches/list");
    EXPECT_EQ(endpoint_pattern("/"), "/");
    EXPECT_EQ(endpoint_pattern(""), "");
}

TEST(RequestStats, CountsPerEndpointAndStatus) {
    FakeApi api;
    auto c = api.client();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(c->Post("/v1/orchestration/runs/count", "{}", "application/json"));
    ASSERT_TRUE(c->Get(std::string("/v1/orchestration/batches/") + kBatchUuid));
    ASSERT_TRUE(c->Get("/v1/orchestration/batches/0b6f3f6e-8d0a-4d7e-9d6a-1f3c2b4a5e99"));
    ASSERT_TRUE(c->Get("/v1/nowhere"));

    FaultSpec error;
    error.error_ratio = 1;
    error.statuses = {503};
    api.faults.set("/v1/orchestration/runs/count", error);
    ASSERT_TRUE(c->Post("/v1/orchestration/runs/count", "{}", "application/json"));
    FaultSpec reset;
    reset.reset_ratio = 1;
    api.faults.set("/v1/orchestration/runs/count", reset);
    ASSERT_FALSE(c->Post("/v1/orchestration/runs/count", "{}", "application/json"));
    ASSERT_TRUE(c->Get("/_sim/stats"));  // the control API is not counted

    RequestStats::Snapshot s = api.stats.snapshot();
    EXPECT_EQ(s.total, 8u);
    ASSERT_EQ(s.endpoints.size(), 3u);
    const auto& runs = s.endpoints.at("/v1/orchestration/runs/count");
    EXPECT_EQ(runs.total, 5u);
    EXPECT_EQ(runs.by_status, (std::map<std::string, std::uint64_t>{{"200", 3}, {"503", 1}, {"reset", 1}}));
    const auto& batches = s.endpoints.at("/v1/orchestration/batches/{uuid}");
    EXPECT_EQ(batches.total, 2u);
    EXPECT_EQ(batches.by_status.at("200"), 2u);
    EXPECT_EQ(s.endpoints.at("/v1/nowhere").by_status.at("404"), 1u);

    api.stats.reset();
    s = api.stats.snapshot();
    EXPECT_EQ(s.total, 0u);
    EXPECT_TRUE(s.endpoints.empty());
}
