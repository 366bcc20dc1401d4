#include "cargo/client.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <rapidjson/document.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <map>
#include <sstream>
#include <thread>

#include "common/timefmt.h"
#include "tests/cargo/fake_transport.h"
#include "tests/support/registry_sample.h"

namespace cargomon::cargo {
namespace {

using namespace std::chrono_literals;
using testing::FakeTransport;

constexpr const char* kToken = "sk-live-9f8e7d6c5b4a";

ClientOptions test_options() {
    return ClientOptions{.base_url = "http://cargo.test",
                         .token = kToken,
                         .workspace_uuid = "ws-1",
                         .rate_limit_per_s = 0,
                         .retry = {.max_attempts = 4, .initial_backoff = 100ms, .max_backoff = 1000ms, .budget = 60s}};
}

std::optional<std::string> header(const Request& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
        if (k == name) return v;
    return std::nullopt;
}

// The value of a counter, or a histogram's observation count; 0 when absent.
double metric(prometheus::Registry& registry, const std::string& name, const std::map<std::string, std::string>& labels) {
    return cargomon::testing::sample_value(registry, name, labels).value_or(0);
}

class ClientTest : public ::testing::Test {
protected:
    ApiClient& client(ClientOptions options = test_options()) {
        client_ = std::make_unique<ApiClient>(std::move(options), transport, registry, clock, sleeper, nullptr, 1234);
        return *client_;
    }
    std::vector<Millis> waits() const {
        std::vector<Millis> out;
        for (auto w : sleeper.waits()) out.push_back(std::chrono::duration_cast<Millis>(w));
        return out;
    }

    FakeClock clock;
    FakeSleeper sleeper{clock};
    FakeTransport transport{clock};
    prometheus::Registry registry;
    std::unique_ptr<ApiClient> client_;
};

TEST_F(ClientTest, PostCarriesTheContractHeadersAndOnlyTheGivenFilters) {
    SystemTime after = clock.now() - 1h;
    EXPECT_EQ(client().count_runs({.workflow_uuid = "wf-1", .statuses = {"error", "cancelled"}, .is_finished = true,
                                   .created_after = after}),
              1);
    auto sent = transport.sent();
    ASSERT_EQ(sent.size(), 1u);
    const Request& r = sent[0].request;
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/v1/orchestration/runs/count");
    EXPECT_EQ(header(r, "authorization"), std::string("Bearer ") + kToken);
    EXPECT_EQ(header(r, "selected-workspace-uuid"), "ws-1");
    EXPECT_EQ(header(r, "content-type"), "application/json");
    EXPECT_EQ(header(r, "x-cargo-origin"), "cargomon");
    EXPECT_TRUE(header(r, "x-cargo-origin-version").has_value());

    rapidjson::Document body;
    body.Parse(r.body.c_str());
    ASSERT_TRUE(body.IsObject());
    EXPECT_STREQ(body["workflowUuid"].GetString(), "wf-1");
    ASSERT_EQ(body["statuses"].Size(), 2u);
    EXPECT_STREQ(body["statuses"][1].GetString(), "cancelled");
    EXPECT_TRUE(body["isFinished"].GetBool());
    EXPECT_EQ(body["createdAfter"].GetString(), format_iso8601(after));
    EXPECT_FALSE(body.HasMember("batchUuid"));
    EXPECT_FALSE(body.HasMember("createdBefore"));
}

TEST_F(ClientTest, ListRunsPagesWithTheRunFilters) {
    transport.set_fallback(200, R"({"runs": [{"uuid": "r1", "status": "error", "recordId": "rec-1",
        "errorMessage": null, "executions": [{"nodeUuid": "n2", "nodeSlug": "enrich", "status": "error",
        "errorMessage": "rate limited"}]}], "count": 41})");
    RunPage page = client().list_runs({.statuses = {"error"}, .batch_uuid = "b-1"}, 1, 40);
    EXPECT_EQ(page.count, 41);
    ASSERT_EQ(page.runs.size(), 1u);
    EXPECT_EQ(page.runs[0].executions.at(0).error_message, "rate limited");
    const auto sent = transport.sent();
    const Request& r = sent.at(0).request;
    EXPECT_EQ(r.target, "/v1/orchestration/runs/list");
    rapidjson::Document body;
    body.Parse(r.body.c_str());
    EXPECT_STREQ(body["batchUuid"].GetString(), "b-1");
    EXPECT_STREQ(body["statuses"][0].GetString(), "error");
    EXPECT_EQ(body["limit"].GetInt(), 1);
    EXPECT_EQ(body["offset"].GetInt(), 40);
    EXPECT_THROW(client().list_runs({}, 1001), std::invalid_argument);
}

TEST_F(ClientTest, DownloadRunsAnswersTheSignedUrl) {
    transport.set_fallback(200, R"({"url": "https://files.test/runs.csv.gz?signature=abc"})");
    EXPECT_EQ(client().download_runs({.workflow_uuid = "wf-1", .batch_uuid = "b-1"}, {"r1", "r2"}),
              "https://files.test/runs.csv.gz?signature=abc");
    rapidjson::Document body;
    body.Parse(transport.sent().at(0).request.body.c_str());
    EXPECT_STREQ(body["workflowUuid"].GetString(), "wf-1");
    EXPECT_EQ(body["uuids"].Size(), 2u);
    EXPECT_THROW(client().download_runs({}), std::invalid_argument);
}

TEST_F(ClientTest, CreateBatchSendsDataAsIsAndIsNeverRetried) {
    const std::string data = R"({"kind":"runs","filter":{"kind":"runs","batchUuid":"b-1","statuses":["error"]},"reset":{"from":"firstNode"}})";
    // A 503 may come after the batch was created: sending again could re-run the records twice.
    transport.then(503, R"({"errorMessage": "upstream timeout", "reason": "failedToStart"})");
    transport.set_fallback(200, R"({"batch": {"uuid": "b-2", "status": "pending"}})");
    try {
        client().create_batch("wf-1", data);
        FAIL() << "a 503 must not be retried";
    } catch (const ServerError& e) {
        EXPECT_EQ(e.reason(), "failedToStart");
    }
    EXPECT_EQ(transport.sent().size(), 1u);
    Batch created = client().create_batch("wf-1", data);
    EXPECT_EQ(created.uuid, "b-2");
    const auto sent = transport.sent();
    const Request& r = sent.at(1).request;
    EXPECT_EQ(r.target, "/v1/orchestration/batches");
    rapidjson::Document body;
    body.Parse(r.body.c_str());
    ASSERT_TRUE(body.IsObject()) << r.body;
    EXPECT_STREQ(body["workflowUuid"].GetString(), "wf-1");
    EXPECT_STREQ(body["data"]["filter"]["batchUuid"].GetString(), "b-1");
    // Refusals keep the API's reason for the caller to explain.
    transport.then(400, R"({"errorMessage": "Not enough credits.", "reason": "notEnoughCredits"})");
    try {
        client().create_batch("wf-1", data);
        FAIL();
    } catch (const RequestError& e) {
        EXPECT_EQ(e.reason(), "notEnoughCredits");
        EXPECT_EQ(e.error_message(), "Not enough credits.");
    }
}

TEST_F(ClientTest, WorkspaceHeaderOnlyWhenConfigured) {
    auto options = test_options();
    options.workspace_uuid.clear();
    transport.set_fallback(200, R"({"tools": []})");
    client(options).list_tools();
    EXPECT_EQ(header(transport.sent()[0].request, "selected-workspace-uuid"), std::nullopt);
}

TEST_F(ClientTest, GetParametersAreSerialisedLikeAxios) {
    transport.set_fallback(200, R"({"batches": []})");
    client().list_batches({.workflow_uuids = {"a", "b"}, .statuses = {"error"}, .is_finished = true, .limit = 10});
    auto sent = transport.sent();
    const Request& r = sent[0].request;
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.target,
              "/v1/orchestration/batches/list?workflowUuids%5B%5D=a&workflowUuids%5B%5D=b&statuses%5B%5D=error"
              "&isFinished=true&limit=10");
    EXPECT_EQ(header(r, "content-type"), std::nullopt);
    EXPECT_TRUE(r.body.empty());
}

TEST_F(ClientTest, UsageMetricsSendsIsoTimestamps) {
    transport.set_fallback(200, R"({"metrics": []})");
    SystemTime from = std::chrono::sys_days{std::chrono::year{2026} / 11 / 1};
    client().usage_metrics({.from = from, .to = from + 24h, .group_by = "workflow_uuid"});
    EXPECT_EQ(transport.sent()[0].request.target,
              "/v1/billing/usage/metrics?from=2026-11-01T00:00:00.000Z&to=2026-11-02T00:00:00.000Z"
              "&groupBy=workflow_uuid");
}

TEST_F(ClientTest, BaseUrlPathPrefixesV1) {
    auto options = test_options();
    options.base_url = "http://proxy.test:8080/cargo/";
    transport.set_fallback(200, R"({"tools": []})");
    client(options).list_tools();
    EXPECT_EQ(transport.sent()[0].request.target, "/cargo/v1/orchestration/tools/list");
}

TEST_F(ClientTest, BadOptionsAreRejectedWithoutEchoingTheToken) {
    auto expect_rejected = [&](ClientOptions options, const std::string& mentions) {
        try {
            client(std::move(options));
            ADD_FAILURE() << "accepted options that should mention " << mentions;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(mentions), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).find("sk-live"), std::string::npos) << e.what();
        }
    };
    auto o = test_options();
    o.base_url = "ftp://x";
    expect_rejected(o, "base_url");
    o = test_options();
    o.base_url = "http://";
    expect_rejected(o, "base_url");
    o = test_options();
    o.token = "";
    expect_rejected(o, "token");
    o = test_options();
    o.token = std::string(kToken) + "\r\nx-evil: 1";
    expect_rejected(o, "token");
    o = test_options();
    o.max_in_flight = 0;
    expect_rejected(o, "max_in_flight");
    o = test_options();
    o.retry.max_attempts = 0;
    expect_rejected(o, "max_attempts");
    o = test_options();
    o.rate_limit_per_s = -1;
    expect_rejected(o, "rate_limit_per_s");
    o = test_options();
    o.retry.max_backoff = 1ms;
    expect_rejected(o, "max_backoff");
}

class RetriedFailure : public ClientTest, public ::testing::WithParamInterface<int> {};

TEST_P(RetriedFailure, IsRetriedThenSucceeds) {
    int status = GetParam();
    if (status == 0)
        transport.then_network_error();
    else
        transport.then(status, "");
    transport.then(200, R"({"count": 7})");
    EXPECT_EQ(client().count_runs({}), 7);
    EXPECT_EQ(transport.sent().size(), 2u);
    ASSERT_EQ(waits().size(), 1u);
    EXPECT_LE(waits()[0], 100ms);
    std::string reason = status == 0 ? "network" : status == 429 ? "429" : "5xx";
    EXPECT_EQ(metric(registry, "cargomon_api_retries_total", {{"endpoint", "/orchestration/runs/count"}, {"reason", reason}}),
              1);
    EXPECT_EQ(metric(registry, "cargomon_api_requests_total",
                     {{"endpoint", "/orchestration/runs/count"}, {"code", status == 0 ? "error" : std::to_string(status)}}),
              1);
    EXPECT_EQ(metric(registry, "cargomon_api_requests_total", {{"endpoint", "/orchestration/runs/count"}, {"code", "200"}}),
              1);
}

INSTANTIATE_TEST_SUITE_P(Safe, RetriedFailure, ::testing::Values(0, 500, 502, 503, 429));

struct Refused {
    int status;
    std::string type;
};

class RefusedRequest : public ClientTest, public ::testing::WithParamInterface<Refused> {};

TEST_P(RefusedRequest, IsNotRetriedAndIsTyped) {
    transport.set_fallback(GetParam().status, R"({"errorMessage": "Workflow not found", "reason": "workflowNotFound"})");
    try {
        client().count_runs({});
        FAIL() << "no error";
    } catch (const AuthorizationError& e) {
        EXPECT_EQ(GetParam().type, "AuthorizationError");
        EXPECT_EQ(e.status(), 401);
    } catch (const RequestError& e) {
        EXPECT_EQ(GetParam().type, "RequestError");
        EXPECT_EQ(e.status(), GetParam().status);
        EXPECT_EQ(e.error_message(), "Workflow not found");
        EXPECT_EQ(e.reason(), "workflowNotFound");
        EXPECT_NE(std::string(e.what()).find("workflowNotFound"), std::string::npos) << e.what();
    }
    EXPECT_EQ(transport.sent().size(), 1u);
    EXPECT_TRUE(waits().empty());
}

INSTANTIATE_TEST_SUITE_P(Unsafe, RefusedRequest,
                         ::testing::Values(Refused{400, "RequestError"}, Refused{401, "AuthorizationError"},
                                           Refused{404, "RequestError"}, Refused{422, "RequestError"}),
                         [](const auto& info) { return std::to_string(info.param.status); });

TEST_F(ClientTest, PersistentServerErrorEndsAsServerErrorAfterMaxAttempts) {
    transport.set_fallback(503, R"({"errorMessage": "overloaded"})");
    try {
        client().list_workflows();
        FAIL() << "no error";
    } catch (const ServerError& e) {
        EXPECT_EQ(e.status(), 503);
        EXPECT_EQ(e.error_message(), "overloaded");
        EXPECT_EQ(e.reason(), "");
    }
    EXPECT_EQ(transport.sent().size(), 4u);
    EXPECT_EQ(metric(registry, "cargomon_api_retries_total", {{"endpoint", "/orchestration/workflows/list"}, {"reason", "5xx"}}),
              3);
}

// The contract gives no status for a query that fails on its own: under a 5xx, ClickHouse's
// message says it is the query's, and sending it again would only fail again.
TEST_F(ClientTest, AQuerysOwnFailureUnderA5xxIsNotRetried) {
    transport.set_fallback(500, R"({"errorMessage": "Code: 62. DB::Exception: Syntax error: failed at position 1"})");
    try {
        client().query("SELEC 1");
        FAIL() << "no error";
    } catch (const ServerError& e) {
        EXPECT_EQ(e.status(), 500);
        EXPECT_NE(e.error_message().find("Code: 62."), std::string::npos);
    }
    EXPECT_EQ(transport.sent().size(), 1u);
    EXPECT_THROW(client().query_body("SELEC 1"), ServerError);
    EXPECT_EQ(transport.sent().size(), 2u);
    // The server's passing trouble (too many queries at once) and a bare 5xx are retried.
    transport.set_fallback(500, R"({"errorMessage": "Code: 202. DB::Exception: Too many simultaneous queries"})");
    EXPECT_THROW(client().query("SELECT 1"), ServerError);
    EXPECT_EQ(transport.sent().size(), 6u);
    transport.set_fallback(502, "");
    EXPECT_THROW(client().query("SELECT 1"), ServerError);
    EXPECT_EQ(transport.sent().size(), 10u);
    // The same message on another endpoint is that endpoint's 5xx: retried.
    transport.set_fallback(500, R"({"errorMessage": "Code: 62. DB::Exception: Syntax error"})");
    EXPECT_THROW(client().count_runs({}), ServerError);
    EXPECT_EQ(transport.sent().size(), 14u);
}

TEST_F(ClientTest, PersistentNetworkFailureEndsAsNetworkError) {
    for (int i = 0; i < 4; ++i) transport.then_network_error();
    EXPECT_THROW(client().list_tools(), NetworkError);
    EXPECT_EQ(transport.sent().size(), 4u);
}

// A batch create refused for its data says why one level down, as the typings read it.
TEST_F(ClientTest, ADataErrorCarriesItsOwnReason) {
    transport.then(400, R"({"errorMessage": "Data error", "reason": "dataError", "dataError": {"reason": "noRecords"}})");
    transport.then(400, R"({"reason": "dataError", "dataError": "not an object"})");
    try {
        client().create_batch("wf-1", R"({"kind":"recordIds","modelUuid":"m","ids":["1"]})");
        FAIL() << "no error";
    } catch (const RequestError& e) {
        EXPECT_EQ(e.reason(), "dataError");
        EXPECT_EQ(e.data_error_reason(), "noRecords");
        EXPECT_NE(std::string(e.what()).find("(reason dataError: noRecords)"), std::string::npos) << e.what();
    }
    try {
        client().create_batch("wf-1", R"({"kind":"recordIds","modelUuid":"m","ids":["1"]})");
        FAIL() << "no error";
    } catch (const RequestError& e) {
        EXPECT_EQ(e.reason(), "dataError");
        EXPECT_EQ(e.data_error_reason(), "");
    }
}

TEST_F(ClientTest, ErrorBodyMayBeEmptyOrNotJson) {
    transport.then(400, "");
    transport.then(400, "<html>Bad Gateway</html>");
    transport.then(418, R"({"errorMessage": 12, "reason": null})");
    for (int i = 0; i < 3; ++i) {
        try {
            client().list_tools();
            FAIL() << "no error";
        } catch (const RequestError& e) {
            EXPECT_EQ(e.error_message(), "");
            EXPECT_EQ(e.reason(), "");
            EXPECT_NE(std::string(e.what()).find("HTTP 4"), std::string::npos) << e.what();
        }
    }
}

TEST_F(ClientTest, RetryAfterSecondsIsHonoured) {
    transport.then(429, "", {{"Retry-After", "7"}});
    transport.then(200, R"({"count": 3})");
    EXPECT_EQ(client().count_runs({}), 3);
    EXPECT_EQ(waits(), std::vector<Millis>{7s});
    EXPECT_EQ(transport.sent()[1].at - transport.sent()[0].at, 7s);
}

TEST_F(ClientTest, RetryAfterHttpDateIsHonoured) {
    // The fake clock starts on a whole second, so the date loses nothing.
    SystemTime at = clock.now() + 12s;
    auto day = std::chrono::floor<std::chrono::days>(at);
    std::chrono::hh_mm_ss hms{at - day};
    std::chrono::year_month_day ymd{day};
    std::chrono::weekday wd{day};
    static const char* names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char date[64];
    std::snprintf(date, sizeof date, "%s, %02u %s %d %02d:%02d:%02d GMT", names[wd.c_encoding()],
                  static_cast<unsigned>(ymd.day()), months[static_cast<unsigned>(ymd.month()) - 1],
                  static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
    transport.then(503, "", {{"retry-after", date}});
    transport.then(200, R"({"count": 3})");
    EXPECT_EQ(client().count_runs({}), 3);
    EXPECT_EQ(waits(), std::vector<Millis>{12s}) << date;
}

TEST_F(ClientTest, RetryAfterBeyondTheBudgetGivesUpAtOnce) {
    transport.then(429, R"({"errorMessage": "slow down"})", {{"retry-after", "3600"}});
    try {
        client().count_runs({});
        FAIL() << "no error";
    } catch (const RequestError& e) {
        EXPECT_EQ(e.status(), 429);
        EXPECT_EQ(e.error_message(), "slow down");
    }
    EXPECT_EQ(transport.sent().size(), 1u);
    EXPECT_TRUE(waits().empty());
}

// Retry-After binds the client, not the one call: a call that gave up (or another
// collector's) must not ask again before the server said to.
TEST_F(ClientTest, RetryAfterHoldsEveryLaterCallOfTheClient) {
    auto options = test_options();
    options.retry.max_attempts = 1;
    auto& c = client(options);
    transport.then(429, "", {{"Retry-After", "7"}});
    transport.then(200, R"({"batches": []})");
    EXPECT_THROW(c.count_runs({}), RequestError);
    c.list_batches();
    auto sent = transport.sent();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[1].at - sent[0].at, 7s);
    EXPECT_EQ(sent[1].request.target, "/v1/orchestration/batches/list");
}

// Clients sharing a pacer (the daemon's collectors and its automatic actions) keep one
// rate limit and one Retry-After pause between them: the token's limits are the workspace's.
TEST_F(ClientTest, ClientsSharingAPacerKeepOneRateAndOnePause) {
    auto options = test_options();
    options.retry.max_attempts = 1;
    options.rate_limit_per_s = 1;
    auto& first = client(options);
    prometheus::Registry other_registry;
    ApiClient second(options, transport, other_registry, clock, sleeper, first.pacer(), 99);
    ApiClient alone(options, transport, other_registry, clock, sleeper, nullptr, 7);
    ASSERT_EQ(second.pacer(), first.pacer());
    ASSERT_NE(alone.pacer(), first.pacer());

    transport.set_fallback(200, R"({"batches": []})");
    first.list_batches();
    second.list_batches();  // the bucket's one token a second is spent: one second later
    alone.list_batches();   // a pacer of its own: at once
    auto sent = transport.sent();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[1].at - sent[0].at, 1s);
    EXPECT_EQ(sent[2].at, sent[1].at);

    transport.then(429, "", {{"Retry-After", "7"}});
    const SteadyTime refused_at = clock.monotonic() + 1s;  // after the next token
    EXPECT_THROW(first.count_runs({}), RequestError);
    alone.list_batches();   // the fake clock moves only when a client sleeps: this one first
    second.list_batches();
    sent = transport.sent();
    ASSERT_EQ(sent.size(), 6u);
    EXPECT_EQ(sent[3].at, refused_at);
    EXPECT_EQ(sent[4].at, refused_at) << "a client with a pacer of its own is not held";
    EXPECT_EQ(sent[5].at - sent[3].at, 7s) << "the other client asked again before the server said to";
}

TEST_F(ClientTest, AHoldBeyondTheBudgetFailsWithoutSending) {
    auto options = test_options();
    options.retry = {.max_attempts = 1, .budget = 10s};
    auto& c = client(options);
    transport.then(429, "", {{"Retry-After", "30"}});
    transport.then(200, R"({"batches": []})");
    EXPECT_THROW(c.count_runs({}), RequestError);
    try {
        c.list_batches();
        FAIL() << "no error";
    } catch (const RequestError& e) {
        EXPECT_EQ(e.status(), 429);
        EXPECT_NE(std::string(e.what()).find("Retry-After"), std::string::npos) << e.what();
    }
    EXPECT_EQ(transport.sent().size(), 1u);
    clock.advance(30s);
    c.list_batches();
    EXPECT_EQ(transport.sent().size(), 2u);
}

TEST_F(ClientTest, RetryAfterIsIgnoredOnOther5xx) {
    transport.then(500, "", {{"retry-after", "30"}});
    transport.then(200, R"({"count": 3})");
    client().count_runs({});
    ASSERT_EQ(waits().size(), 1u);
    EXPECT_LE(waits()[0], 100ms);
}

TEST_F(ClientTest, BackoffCeilingDoublesUpToTheMaximum) {
    auto options = test_options();
    options.retry = {.max_attempts = 6, .initial_backoff = 100ms, .max_backoff = 250ms, .budget = 60s};
    // Full jitter: retry i waits uniformly in [0, ceiling i]. One run only bounds it from
    // above (no backoff at all would pass), so over many seeds each retry's waits must also
    // reach close to its ceiling and average about half of it.
    const Millis ceilings[] = {100ms, 200ms, 250ms, 250ms, 250ms};
    constexpr int seeds = 300;
    const auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::err);  // 1500 retry warnings say nothing here
    struct Restore {
        spdlog::level::level_enum level;
        ~Restore() { spdlog::set_level(level); }
    } restore{level};
    Millis longest[5] = {};
    double total_ms[5] = {};
    for (int seed = 1; seed <= seeds; ++seed) {
        FakeClock c;
        FakeSleeper s{c};
        FakeTransport t{c};
        t.set_fallback(500, "");
        prometheus::Registry r;
        ApiClient api(options, t, r, c, s, nullptr, static_cast<std::uint64_t>(seed));
        EXPECT_THROW(api.list_tools(), ServerError);
        const auto sent = t.sent();
        ASSERT_EQ(sent.size(), 6u) << "seed " << seed;
        for (std::size_t i = 1; i < sent.size(); ++i) {
            auto gap = std::chrono::duration_cast<Millis>(sent[i].at - sent[i - 1].at);
            EXPECT_GE(gap, 0ms);
            EXPECT_LE(gap, ceilings[i - 1]) << "retry " << i << " seed " << seed;
            longest[i - 1] = std::max(longest[i - 1], gap);
            total_ms[i - 1] += static_cast<double>(gap.count());
        }
    }
    for (int i = 0; i < 5; ++i) {
        const double ceiling = static_cast<double>(ceilings[i].count());
        EXPECT_GE(static_cast<double>(longest[i].count()), 0.9 * ceiling) << "retry " << i + 1 << " never waits near its ceiling";
        const double mean = total_ms[i] / seeds;
        EXPECT_GT(mean, 0.4 * ceiling) << "retry " << i + 1;
        EXPECT_LT(mean, 0.6 * ceiling) << "retry " << i + 1;
    }
}

TEST_F(ClientTest, SameSeedSleepsTheSame) {
    transport.set_fallback(500, "");
    EXPECT_THROW(client().list_tools(), ServerError);
    auto first = waits();
    FakeClock clock2;
    FakeSleeper sleeper2{clock2};
    FakeTransport transport2{clock2};
    transport2.set_fallback(500, "");
    prometheus::Registry registry2;
    ApiClient again(test_options(), transport2, registry2, clock2, sleeper2, nullptr, 1234);
    EXPECT_THROW(again.list_tools(), ServerError);
    EXPECT_EQ(first.size(), sleeper2.waits().size());
    for (std::size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i], sleeper2.waits()[i]);
}

TEST_F(ClientTest, BudgetStopsRetriesAndShortensTheLastTimeout) {
    auto options = test_options();
    options.timeout = 30s;
    options.retry = {.max_attempts = 10, .initial_backoff = 100ms, .max_backoff = 100ms, .budget = 30s};
    transport.set_fallback(502, "");
    transport.on_send([&](const Request&) { clock.advance(20s); });  // every answer takes 20 s
    EXPECT_THROW(client(options).list_tools(), ServerError);
    auto sent = transport.sent();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].timeout, 30s);
    EXPECT_LE(sent[1].timeout, 10s);
    EXPECT_GT(sent[1].timeout, 9s);
}

TEST_F(ClientTest, RateLimitSpacesRequests) {
    auto options = test_options();
    options.rate_limit_per_s = 2;
    auto& c = client(options);
    for (int i = 0; i < 5; ++i) c.count_runs({});
    auto sent = transport.sent();
    ASSERT_EQ(sent.size(), 5u);
    const SteadyTime t0 = sent[0].at;
    EXPECT_EQ(sent[1].at - t0, 0ms);
    EXPECT_EQ(sent[2].at - t0, 500ms);
    EXPECT_EQ(sent[3].at - t0, 1000ms);
    EXPECT_EQ(sent[4].at - t0, 1500ms);
}

TEST_F(ClientTest, RateLimitAppliesToRetriesToo) {
    auto options = test_options();
    options.rate_limit_per_s = 1;
    options.retry.initial_backoff = 0ms;
    transport.then(500, "");
    transport.then(500, "");
    auto& c = client(options);
    c.count_runs({});
    auto sent = transport.sent();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[1].at - sent[0].at, 1s);
    EXPECT_EQ(sent[2].at - sent[1].at, 1s);
}

// Requests block inside the transport until released, so the test sees how many are in at once.
class Gate {
public:
    void enter() {
        std::unique_lock lock(mu_);
        ++inside_;
        most_ = std::max(most_, inside_);
        changed_.notify_all();
        changed_.wait(lock, [&] { return open_; });
        --inside_;
    }
    bool wait_inside(int n) {
        std::unique_lock lock(mu_);
        return changed_.wait_for(lock, 10s, [&] { return inside_ >= n; });
    }
    void open() {
        std::lock_guard lock(mu_);
        open_ = true;
        changed_.notify_all();
    }
    int most() {
        std::lock_guard lock(mu_);
        return most_;
    }

private:
    std::mutex mu_;
    std::condition_variable changed_;
    int inside_ = 0;
    int most_ = 0;
    bool open_ = false;
};

TEST_F(ClientTest, InFlightRequestsAreBounded) {
    auto options = test_options();
    options.max_in_flight = 2;
    auto& c = client(options);
    Gate gate;
    transport.on_send([&](const Request&) { gate.enter(); });
    std::vector<std::thread> callers;
    for (int i = 0; i < 6; ++i) callers.emplace_back([&] { c.count_runs({}); });
    ASSERT_TRUE(gate.wait_inside(2));
    // Give the other callers a chance to (wrongly) get in before opening the gate.
    std::this_thread::sleep_for(50ms);
    gate.open();
    for (auto& t : callers) t.join();
    EXPECT_EQ(gate.most(), 2);
    EXPECT_EQ(transport.sent().size(), 6u);
}

TEST_F(ClientTest, WaitingForASlotEndsWithTheBudget) {
    auto options = test_options();
    options.max_in_flight = 1;
    options.retry.budget = 100ms;
    auto& c = client(options);
    Gate gate;
    transport.on_send([&](const Request&) { gate.enter(); });
    std::thread holder([&] { c.count_runs({}); });
    ASSERT_TRUE(gate.wait_inside(1));
    try {
        c.count_runs({});
        ADD_FAILURE() << "got a slot";
    } catch (const NetworkError& e) {
        EXPECT_NE(std::string(e.what()).find("free request slot"), std::string::npos) << e.what();
    }
    gate.open();
    holder.join();
    EXPECT_EQ(transport.sent().size(), 1u);
}

TEST_F(ClientTest, MetricsUseEndpointTemplatesNeverRawUuids) {
    transport.then(200, R"({"batch": {"uuid": "b-4f1c", "status": "running"}})");
    transport.then_network_error();
    transport.then(200, R"({"batch": {"uuid": "b-4f1c", "status": "success"}})");
    EXPECT_EQ(client().get_batch("b-4f1c").status, "running");
    EXPECT_EQ(client_->get_batch("b-4f1c").status, "success");
    EXPECT_EQ(transport.sent()[0].request.target, "/v1/orchestration/batches/b-4f1c");
    const std::string endpoint = "/orchestration/batches/{uuid}";
    EXPECT_EQ(metric(registry, "cargomon_api_requests_total", {{"endpoint", endpoint}, {"code", "200"}}), 2);
    EXPECT_EQ(metric(registry, "cargomon_api_requests_total", {{"endpoint", endpoint}, {"code", "error"}}), 1);
    EXPECT_EQ(metric(registry, "cargomon_api_request_duration_seconds", {{"endpoint", endpoint}}), 3);
    EXPECT_EQ(metric(registry, "cargomon_api_retries_total", {{"endpoint", endpoint}, {"reason", "network"}}), 1);
    std::string exposition = prometheus::TextSerializer().Serialize(registry.Collect());
    EXPECT_EQ(exposition.find("b-4f1c"), std::string::npos) << exposition;
}

TEST_F(ClientTest, PathSegmentsAreEncoded) {
    transport.then(200, R"({"batch": {"uuid": "x", "status": "running"}})");
    client().get_batch("../admin?x=1");
    EXPECT_EQ(transport.sent()[0].request.target, "/v1/orchestration/batches/..%2Fadmin%3Fx%3D1");
}

TEST_F(ClientTest, MissingRequiredArgumentsAreRejectedBeforeSending) {
    EXPECT_THROW(client().get_batch(""), std::invalid_argument);
    // runs/download-outputs' payload type has no updatedAfter: refused, never sent.
    EXPECT_THROW(client().download_outputs({.workflow_uuid = "wf-1", .updated_after = clock.now()}, std::nullopt, "csv"),
                 std::invalid_argument);
    EXPECT_THROW(client().run_metrics(""), std::invalid_argument);
    EXPECT_THROW(client().usage_metrics({.from = clock.now(), .to = clock.now() - 1s}), std::invalid_argument);
    EXPECT_TRUE(transport.sent().empty());
}

TEST_F(ClientTest, MalformedSuccessIsAParseError) {
    transport.then(200, R"({"count": 12)");
    try {
        client().count_runs({});
        FAIL() << "no error";
    } catch (const ParseError& e) {
        EXPECT_EQ(e.status(), 200);
        EXPECT_NE(std::string(e.what()).find("/v1/orchestration/runs/count"), std::string::npos) << e.what();
    }
    EXPECT_EQ(transport.sent().size(), 1u);  // a malformed answer is not retried
}

TEST_F(ClientTest, TheTokenAppearsInNoErrorLogLineOrMetric) {
    std::ostringstream logs;
    auto previous = spdlog::default_logger();
    auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(logs));
    capture->set_level(spdlog::level::trace);
    spdlog::set_default_logger(capture);

    std::vector<std::string> errors;
    // A server or proxy that echoes the authorization header back, in every place it can.
    const std::string echoed = std::string(R"({"errorMessage": "bad token Bearer )") + kToken +
                               R"(", "reason": ")" + kToken + R"("})";
    transport.set_network_error_text(std::string("proxy said: ") + kToken);
    transport.then_network_error();
    transport.then(500, echoed);
    transport.then(401, echoed);
    transport.then_network_error();
    transport.then_network_error();
    transport.then_network_error();
    transport.then_network_error();
    transport.then(200, std::string(R"({"count": ")") + kToken + R"("})");
    auto& c = client();
    for (int i = 0; i < 3; ++i) {
        try {
            c.count_runs({});
            ADD_FAILURE() << "call " << i << " succeeded";
        } catch (const ApiError& e) {
            errors.push_back(e.what());
            errors.push_back(e.error_message());
            errors.push_back(e.reason());
        }
    }
    spdlog::set_default_logger(previous);

    ASSERT_GE(errors.size(), 9u);
    for (const auto& e : errors) EXPECT_EQ(e.find(kToken), std::string::npos) << e;
    EXPECT_NE(logs.str().find("retry"), std::string::npos) << "nothing was logged, so nothing was tested";
    EXPECT_EQ(logs.str().find(kToken), std::string::npos) << logs.str();
    EXPECT_EQ(prometheus::TextSerializer().Serialize(registry.Collect()).find(kToken), std::string::npos);
}

}  // namespace
}  // namespace cargomon::cargo
