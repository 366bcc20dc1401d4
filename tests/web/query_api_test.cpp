// Prometheus' query API (web/query_api.h): parameters, answers in Prometheus' JSON shapes
// and its error shapes and status codes, over series held in memory; and the endpoints as
// web/routes.h serves them, GET and form-encoded POST.
#include "web/query_api.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/web/test_api.h"

namespace cargomon::web {
namespace {

using testing_support::TestApi;

constexpr std::int64_t kT = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

metrics::Labels labels(std::initializer_list<std::pair<std::string, std::string>> pairs) {
    metrics::Labels out(pairs.begin(), pairs.end());
    std::sort(out.begin(), out.end());
    return out;
}

QueryParams params(std::vector<std::pair<std::string, std::string>> values) { return QueryParams(std::move(values)); }

// A query API over two series of `up` and one of `cargo_credits_available`, a sample
// every 15 s for 10 minutes up to kT.
class QueryApiTest : public ::testing::Test {
protected:
    QueryApiTest() {
        for (std::int64_t t = kT - 600'000; t <= kT; t += 15'000) {
            api.history_source.add(labels({{"__name__", "up"}, {"job", "a"}}), t, 1);
            api.history_source.add(labels({{"__name__", "up"}, {"job", "b"}}), t, 0);
            api.history_source.add(labels({{"__name__", "cargo_credits_available"}, {"plan", "pro"}}), t,
                                   static_cast<double>((t - kT) / 1000) + 1000.25);
        }
        api.metadata_list = {{"cargo_credits_available", "gauge", "Credits left.", ""},
                             {"cargomon_http_requests_total", "counter", "HTTP requests.", ""}};
    }

    metrics::MetricStore store;
    prometheus::Registry registry;
    TestApi api{store, registry, {}, ServerOptions{.enable_admin_api = true}};
};

TEST(QueryParamsTest, TimesAreUnixSecondsOrRfc3339) {
    EXPECT_EQ(parse_query_time("1700000000"), kT);
    EXPECT_EQ(parse_query_time("1700000000.25"), kT + 250);
    EXPECT_EQ(parse_query_time("1700000000.0004"), kT);  // Prometheus keeps milliseconds
    EXPECT_EQ(parse_query_time("-1.5"), -1500);
    EXPECT_EQ(parse_query_time("2023-11-14T22:13:20Z"), kT);
    EXPECT_EQ(parse_query_time("2023-11-14T22:13:20.125Z"), kT + 125);
    EXPECT_EQ(parse_query_time("2023-11-15T00:13:20+02:00"), kT);
    // What Prometheus and Grafana send for "no bound".
    EXPECT_EQ(parse_query_time("-292273086-05-16T16:47:06Z"), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(parse_query_time("292277025-08-18T07:12:54.999999999Z"), std::numeric_limits<std::int64_t>::max());
    for (const char* bad : {"", "now", "2023-11-14", "NaN", "inf", "1e300", "12abc", "2023-13-14T00:00:00Z"})
        EXPECT_EQ(parse_query_time(bad), std::nullopt) << bad;
}

TEST(QueryParamsTest, DurationsArePrometheusNotationOrSeconds) {
    EXPECT_EQ(parse_query_duration("15s"), 15'000);
    EXPECT_EQ(parse_query_duration("1m30s"), 90'000);
    EXPECT_EQ(parse_query_duration("15"), 15'000);
    EXPECT_EQ(parse_query_duration("0.5"), 500);
    EXPECT_EQ(parse_query_duration("-3"), -3'000);
    for (const char* bad : {"", "15x", "s", "NaN", "1e300"}) EXPECT_EQ(parse_query_duration(bad), std::nullopt) << bad;
}

TEST(QueryParamsTest, AFormBodyComesBeforeTheQueryString) {
    Request req;
    req.method = "POST";
    req.headers = {{"content-type", "application/x-www-form-urlencoded; charset=UTF-8"}};
    req.body = "query=sum+by+(job)+(up%7Bjob%3D%22a%22%7D)&match[]=a&match%5B%5D=b";
    req.query = {{"query", "ignored"}, {"time", "5"}};
    Answer refusal;
    auto p = read_query_params(req, refusal);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->get("query"), "sum by (job) (up{job=\"a\"})");
    EXPECT_EQ(p->get("time"), "5");
    EXPECT_EQ(p->all("match[]"), (std::vector<std::string>{"a", "b"}));
    EXPECT_FALSE(p->has("step"));

    req.headers = {{"content-type", "application/json"}};
    EXPECT_FALSE(read_query_params(req, refusal));
    EXPECT_EQ(refusal.status, 400);
    EXPECT_NE(refusal.json.find(R"("errorType":"bad_data")"), std::string::npos) << refusal.json;
}

TEST_F(QueryApiTest, InstantVectorInPrometheusShape) {
    auto a = query_answer(api, params({{"query", "up"}, {"time", "1700000000.5"}}), 0);
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.json, R"({"status":"success","data":{"resultType":"vector","result":[)"
                      R"({"metric":{"__name__":"up","job":"a"},"value":[1700000000.500,"1"]},)"
                      R"({"metric":{"__name__":"up","job":"b"},"value":[1700000000.500,"0"]}]}})");
    // Without `time`: the time the caller gives (the route's now).
    a = query_answer(api, params({{"query", "cargo_credits_available - 0.5"}}), kT - 30'000);
    EXPECT_EQ(a.json, R"({"status":"success","data":{"resultType":"vector","result":[)"
                      R"({"metric":{"plan":"pro"},"value":[1699999970,"969.75"]}]}})");
}

TEST_F(QueryApiTest, ScalarStringAndMatrixResults) {
    EXPECT_EQ(query_answer(api, params({{"query", "1/3"}, {"time", "1700000000"}}), 0).json,
              R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.3333333333333333"]}})");
    EXPECT_EQ(query_answer(api, params({{"query", "1/0"}, {"time", "1"}}), 0).json,
              R"({"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}})");
    EXPECT_EQ(query_answer(api, params({{"query", "1e-7"}, {"time", "1"}}), 0).json,
              R"({"status":"success","data":{"resultType":"scalar","result":[1,"0.0000001"]}})");
    EXPECT_EQ(query_answer(api, params({{"query", "\"hi\""}, {"time", "1"}}), 0).json,
              R"({"status":"success","data":{"resultType":"string","result":[1,"hi"]}})");
    EXPECT_EQ(query_answer(api, params({{"query", "up{job=\"a\"}[30s]"}, {"time", "1700000000"}}), 0).json,
              R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},)"
              R"("values":[[1699999970,"1"],[1699999985,"1"],[1700000000,"1"]]}]}})");
}

TEST_F(QueryApiTest, RangeQueryGivesAMatrix) {
    auto a = query_range_answer(api, params({{"query", "rate(cargo_credits_available[1m])"},
                                             {"start", "2023-11-14T22:12:20Z"},
                                             {"end", "1700000000"},
                                             {"step", "30s"}}));
    EXPECT_EQ(a.status, 200) << a.json;
    EXPECT_EQ(a.json, R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"plan":"pro"},)"
                      R"("values":[[1699999940,"1"],[1699999970,"1"],[1700000000,"1"]]}]}})");
    a = query_range_answer(api, params({{"query", "2"}, {"start", "0"}, {"end", "1"}, {"step", "0.5"}}));
    EXPECT_EQ(a.json, R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},)"
                      R"("values":[[0,"2"],[0.500,"2"],[1,"2"]]}]}})");
}

// The error shape and status code of each refusal, and Prometheus' messages.
void expect_error(const Answer& a, int status, const std::string& type, const std::string& message_part) {
    EXPECT_EQ(a.status, status) << a.json;
    EXPECT_EQ(a.json.rfind(R"({"status":"error","errorType":")" + type + R"(","error":")", 0), 0u) << a.json;
    EXPECT_NE(a.json.find(message_part), std::string::npos) << a.json;
}

TEST_F(QueryApiTest, RefusalsInPrometheusShape) {
    expect_error(query_answer(api, params({{"query", "up["}}), kT), 400, "bad_data", R"(invalid parameter \"query\")");
    expect_error(query_answer(api, params({}), kT), 400, "bad_data", R"(invalid parameter \"query\")");
    expect_error(query_answer(api, params({{"query", "up"}, {"time", "yesterday"}}), kT), 400, "bad_data",
                 R"(invalid parameter \"time\": Invalid time value for 'time': cannot parse \"yesterday\")");
    expect_error(query_answer(api, params({{"query", "up"}, {"timeout", "soon"}}), kT), 400, "bad_data",
                 R"(invalid parameter \"timeout\")");
    auto range = [&](std::string start, std::string end, std::string step) {
        return query_range_answer(api, params({{"query", "up"}, {"start", start}, {"end", end}, {"step", step}}));
    };
    expect_error(range("", "10", "1"), 400, "bad_data", R"(invalid parameter \"start\")");
    expect_error(range("10", "5", "1"), 400, "bad_data", "end timestamp must not be before start time");
    expect_error(query_range_answer(api, params({{"query", "up[5m]"}, {"start", "0"}, {"end", "1"}, {"step", "1"}})),
                 400, "bad_data", R"(invalid parameter \"query\": invalid expression type \"range vector\" for range query)");
    expect_error(range("0", "10", "x"), 400, "bad_data", R"(invalid parameter \"step\")");
    expect_error(range("0", "10", "0"), 400, "bad_data", "zero or negative query resolution step widths");
    expect_error(range("0", "10", "-1"), 400, "bad_data", "zero or negative query resolution step widths");
    // 11,000 steps is the most (11,001 points, as Prometheus counts); one more is refused.
    EXPECT_EQ(range("0", "11000", "1").json, R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
    expect_error(range("0", "11001", "1"), 400, "bad_data", "exceeded maximum resolution of 11,000 points");
    // The widest window there is, at the shortest step: refused, never overflowing.
    expect_error(range("-292273086-05-16T16:47:06Z", "292277025-08-18T07:12:54.999999999Z", "0.001"), 400, "bad_data",
                 "exceeded maximum resolution");
    // Run-time errors: 422, and 503 for a timeout.
    expect_error(query_answer(api, params({{"query", "up + on() group_left up"}, {"time", "1700000000"}}), kT), 422,
                 "execution", "many-to-many");
    api.limits.max_samples = 5;
    expect_error(query_answer(api, params({{"query", "up[1m]"}, {"time", "1700000000"}}), kT), 422, "execution",
                 "query processing would load too many samples into memory");
    api.limits = {};
    expect_error(query_range_answer(api, params({{"query", "up"}, {"start", "1699999000"}, {"end", "1700000000"},
                                                 {"step", "1"}, {"timeout", "0s"}})),
                 503, "timeout", "query timed out");
}

TEST_F(QueryApiTest, SeriesLabelsAndValues) {
    auto a = series_answer(api, params({{"match[]", "up"}, {"match[]", "{plan=\"pro\"}"}, {"match[]", "up{job=\"a\"}"}}));
    EXPECT_EQ(a.json, R"({"status":"success","data":[{"__name__":"cargo_credits_available","plan":"pro"},)"
                      R"({"__name__":"up","job":"a"},{"__name__":"up","job":"b"}]})");
    // Only series with samples in [start, end].
    EXPECT_EQ(series_answer(api, params({{"match[]", "up"}, {"start", "1"}, {"end", "2"}})).json,
              R"({"status":"success","data":[]})");
    expect_error(series_answer(api, params({})), 400, "bad_data", "no match[] parameter provided");
    expect_error(series_answer(api, params({{"match[]", "up[5m]"}})), 400, "bad_data",
                 R"(invalid parameter \"match[]\")");
    expect_error(series_answer(api, params({{"match[]", "{"}})), 400, "bad_data", R"(invalid parameter \"match[]\")");
    std::vector<std::pair<std::string, std::string>> many(kMaxMatchSelectors + 1, {"match[]", "up"});
    expect_error(series_answer(api, params(many)), 400, "bad_data", "at most 100 selectors");

    EXPECT_EQ(labels_answer(api, params({})).json, R"({"status":"success","data":["__name__","job","plan"]})");
    EXPECT_EQ(labels_answer(api, params({{"match[]", "up"}})).json, R"({"status":"success","data":["__name__","job"]})");
    EXPECT_EQ(label_values_answer(api, params({}), "job").json, R"({"status":"success","data":["a","b"]})");
    EXPECT_EQ(label_values_answer(api, params({}), "__name__").json,
              R"({"status":"success","data":["cargo_credits_available","up"]})");
    EXPECT_EQ(label_values_answer(api, params({{"match[]", "up{job!=\"a\"}"}}), "job").json,
              R"({"status":"success","data":["b"]})");
    EXPECT_EQ(label_values_answer(api, params({}), "nothing").json, R"({"status":"success","data":[]})");
    expect_error(label_values_answer(api, params({}), "not-a-name"), 400, "bad_data", R"(invalid label name: \"not-a-name\")");
    expect_error(labels_answer(api, params({{"start", "x"}})), 400, "bad_data", R"(invalid parameter \"start\")");
}

TEST_F(QueryApiTest, MetadataAndBuildInfo) {
    EXPECT_EQ(metadata_answer(api, params({})).json,
              R"({"status":"success","data":{"cargo_credits_available":[{"type":"gauge","help":"Credits left.","unit":""}],)"
              R"("cargomon_http_requests_total":[{"type":"counter","help":"HTTP requests.","unit":""}]}})");
    EXPECT_EQ(metadata_answer(api, params({{"limit", "1"}})).json,
              R"({"status":"success","data":{"cargo_credits_available":[{"type":"gauge","help":"Credits left.","unit":""}]}})");
    EXPECT_EQ(metadata_answer(api, params({{"metric", "cargomon_http_requests_total"}})).json,
              R"({"status":"success","data":{"cargomon_http_requests_total":[{"type":"counter","help":"HTTP requests.","unit":""}]}})");
    expect_error(metadata_answer(api, params({{"limit", "many"}})), 400, "bad_data", "limit must be a number");
    EXPECT_EQ(buildinfo_answer(api.build_info()),
              R"({"status":"success","data":{"version":"test-version","revision":"","branch":"","buildUser":"",)"
              R"("buildDate":"","goVersion":"test-compiler"}})");
}

// Over HTTP as routes.cpp serves them: GET, form-encoded POST (even from another site's
// page: it reads, and cannot read the answer), and the write rules still on the admin routes.
TEST_F(QueryApiTest, ServedOverGetAndFormPost) {
    api.server.start("127.0.0.1:0");
    httplib::Client c("127.0.0.1", api.server.port());
    auto get = c.Get("/api/v1/query?query=up%7Bjob%3D%22a%22%7D&time=1700000000");
    ASSERT_TRUE(get);
    EXPECT_EQ(get->status, 200);
    EXPECT_EQ(get->get_header_value("Content-Type"), "application/json");
    const std::string expected =
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1700000000,"1"]}]}})";
    EXPECT_EQ(get->body, expected);
    const httplib::Headers cross_site{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}};
    auto post = c.Post("/api/v1/query", cross_site, "query=up%7Bjob%3D%22a%22%7D&time=1700000000",
                       "application/x-www-form-urlencoded");
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 200);
    EXPECT_EQ(post->body, expected);
    auto json_post = c.Post("/api/v1/query", R"({"query":"up"})", "application/json");
    ASSERT_TRUE(json_post);
    EXPECT_EQ(json_post->status, 400);
    auto values = c.Get("/api/v1/label/job/values?match%5B%5D=up");
    ASSERT_TRUE(values);
    EXPECT_EQ(values->body, R"({"status":"success","data":["a","b"]})");
    // Methods as Prometheus registers them: label values are GET only.
    auto values_post = c.Post("/api/v1/label/job/values", "match[]=up", "application/x-www-form-urlencoded");
    ASSERT_TRUE(values_post);
    EXPECT_EQ(values_post->status, 405);
    auto bad = c.Get("/api/v1/query_range?query=up&start=10&end=5&step=1");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
    auto build = c.Get("/api/v1/status/buildinfo");
    ASSERT_TRUE(build);
    EXPECT_NE(build->body.find(R"("version":"test-version")"), std::string::npos);
    // A state change from another site's page is still refused.
    auto silence = c.Post("/api/v1/silences", cross_site, "{}", "application/json");
    ASSERT_TRUE(silence);
    EXPECT_EQ(silence->status, 403);
    EXPECT_NE(silence->body.find("cross-site request refused"), std::string::npos) << silence->body;
}

}  // namespace
}  // namespace cargomon::web
