#include <gtest/gtest.h>

#include "sim/faults/faults.h"

using namespace cargomon;
using namespace cargomon::sim;
using namespace std::chrono_literals;

namespace {

std::string flag_error(const std::string& text) {
    try {
        parse_fault_flag(text);
    } catch (const FaultSpecError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(FaultFlag, ParsesEndpointRatiosAndStatuses) {
    auto [endpoint, spec] = parse_fault_flag("endpoint=/v1/orchestration/runs/count,error_ratio=0.5,statuses=500|503");
    EXPECT_EQ(endpoint, "/v1/orchestration/runs/count");
    EXPECT_DOUBLE_EQ(spec.error_ratio, 0.5);
    EXPECT_EQ(spec.statuses, (std::vector<int>{500, 503}));
    EXPECT_EQ(spec.latency, Millis{0});
}

TEST(FaultFlag, ParsesEveryField) {
    auto [endpoint, spec] = parse_fault_flag(
        "endpoint=*,latency=200ms,jitter=50ms,throttle_ratio=0.1,retry_after=3s,truncate_ratio=0.1,"
        "malformed_ratio=0.1,reset_ratio=0.1,slow_ratio=0.1,slow_chunk=8,slow_interval=1s");
    EXPECT_EQ(endpoint, "*");
    EXPECT_EQ(spec.latency, Millis{200});
    EXPECT_EQ(spec.jitter, Millis{50});
    EXPECT_DOUBLE_EQ(spec.throttle_ratio, 0.1);
    EXPECT_EQ(spec.retry_after, Millis{3s});
    EXPECT_DOUBLE_EQ(spec.truncate_ratio, 0.1);
    EXPECT_DOUBLE_EQ(spec.malformed_ratio, 0.1);
    EXPECT_DOUBLE_EQ(spec.reset_ratio, 0.1);
    EXPECT_DOUBLE_EQ(spec.slow_ratio, 0.1);
    EXPECT_EQ(spec.slow_chunk_bytes, 8);
    EXPECT_EQ(spec.slow_interval, Millis{1s});
}

TEST(FaultFlag, RetryAfterTakesWholeSecondsBareOrAsADuration) {
    EXPECT_EQ(parse_fault_flag("endpoint=*,throttle_ratio=1,retry_after=3").second.retry_after, Millis{3s});
    EXPECT_EQ(parse_fault_flag("endpoint=*,retry_after=0").second.retry_after, Millis{0});
    EXPECT_EQ(parse_fault_flag("endpoint=*,retry_after=2m").second.retry_after, Millis{120s});
    EXPECT_NE(flag_error("endpoint=/v1/x,retry_after=-3").find("retry_after: \"-3\" is not a duration"), std::string::npos);
}

TEST(FaultFlag, ExplainsEachMistake) {
    EXPECT_EQ(flag_error("error_ratio=0.5"), "--fault \"error_ratio=0.5\": missing endpoint=<path or *>");
    EXPECT_EQ(flag_error("endpoint=/v1/x,error_ratio=1.5"),
              "--fault \"endpoint=/v1/x,error_ratio=1.5\": error_ratio: \"1.5\" is not a ratio in [0, 1]");
    EXPECT_EQ(flag_error("endpoint=/v1/x,error_ratio=half"),
              "--fault \"endpoint=/v1/x,error_ratio=half\": error_ratio: \"half\" is not a number");
    EXPECT_EQ(flag_error("endpoint=/v1/x,statuses=500|200"),
              "--fault \"endpoint=/v1/x,statuses=500|200\": statuses: \"200\" is out of range [400, 599]");
    EXPECT_EQ(flag_error("endpoint=/v1/x,latency=5"),
              "--fault \"endpoint=/v1/x,latency=5\": latency: \"5\" is not a duration: missing unit (one of ms, s, m, h, d, w, y)");
    EXPECT_EQ(flag_error("endpoint=/v1/x,retry_after=1500ms"),
              "--fault \"endpoint=/v1/x,retry_after=1500ms\": retry_after: \"1500ms\" is not a whole number of seconds");
    EXPECT_EQ(flag_error("endpoint=/v1/x,error"), "--fault \"endpoint=/v1/x,error\": \"error\" is not key=value");
    EXPECT_EQ(flag_error("endpoint=/api/x"),
              "--fault \"endpoint=/api/x\": endpoint \"/api/x\" is neither a /v1/ path nor \"*\" (every /v1 path)");
    EXPECT_EQ(flag_error("endpoint=*,error_ratio=0.7,reset_ratio=0.5"),
              "--fault \"endpoint=*,error_ratio=0.7,reset_ratio=0.5\": the ratios add up to 1.200000, more than 1");
    EXPECT_EQ(flag_error("endpoint=*,boom=1"),
              "--fault \"endpoint=*,boom=1\": unknown fault field \"boom\" (one of latency, jitter, error_ratio, "
              "statuses, throttle_ratio, retry_after, truncate_ratio, malformed_ratio, reset_ratio, slow_ratio, "
              "slow_chunk, slow_interval)");
    EXPECT_EQ(flag_error("endpoint=*,slow_chunk=0"),
              "--fault \"endpoint=*,slow_chunk=0\": slow_chunk: \"0\" is out of range [1, 1048576]");
}
