// web::HttpEngine and ApiServer against the clients an exposed port meets: slow ones,
// oversized and compressed bodies, huge headers, too many connections, callers without
// the right flag or password. Real sockets on 127.0.0.1.
#include "web/http_engine.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/web/raw_client.h"
#include "common/timefmt.h"
#include "exporters/gzip.h"
#include "tests/web/test_api.h"
#include "web/api_server.h"

namespace cargomon::web {
namespace {

using namespace std::chrono_literals;

using test::RawClient;

std::string gzip(const std::string& data) { return exporters::gzip_compress({data}); }

// A server with an echo route (answers the body it got) and a health route.
class HttpEngineTest : public ::testing::Test {
protected:
    void start(Limits limits = {}) {
        server_ = std::make_unique<HttpEngine>(limits);
        server_->route("GET", "/healthz", [](const Request&, Response& res) { res.set_content("OK", "text/plain"); });
        server_->route("POST", "/echo", [this](const Request& req, Response& res) {
            ++echoed_;
            res.set_content(req.body, "application/octet-stream");
        });
        server_->route("DELETE", "/things/:id", [](const Request& req, Response& res) {
            res.set_content("deleted " + req.path_params.at(0), "text/plain");
        });
        server_->route("GET", "/query", [](const Request& req, Response& res) {
            res.set_content(std::string(req.param("a")) + "|" + std::string(req.param("b")), "text/plain");
        });
        server_->start("127.0.0.1:0");
    }
    int port() const { return server_->port(); }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port());
        c.set_read_timeout(1, 0);  // the answers below must come within a second
        c.set_connection_timeout(1, 0);
        return c;
    }

    std::unique_ptr<HttpEngine> server_;
    std::atomic<int> echoed_{0};
};

TEST_F(HttpEngineTest, ServesRoutesWithParametersQueriesAndHead) {
    start();
    auto c = client();
    EXPECT_EQ(c.Get("/healthz")->body, "OK");
    EXPECT_EQ(c.Delete("/things/abc-123")->body, "deleted abc-123");
    RawClient query(port());
    ASSERT_TRUE(query.send("GET /query?a=x%20y&b=1+2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    EXPECT_TRUE(query.read_all().ends_with("\r\n\r\nx y|1 2"));
    auto head = c.Head("/healthz");
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->get_header_value("Content-Length"), "2");
    EXPECT_EQ(head->body, "");
    EXPECT_EQ(c.Post("/echo", "hello", "text/plain")->body, "hello");
}

TEST_F(HttpEngineTest, KeepAliveServesPipelinedRequestsOnOneConnection) {
    start();
    RawClient raw(port());
    ASSERT_TRUE(raw.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
                         "abcGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto all = raw.read_all();
    EXPECT_TRUE(raw.closed());
    std::size_t answers = 0;
    for (auto at = all.find("HTTP/1.1 200 OK"); at != std::string::npos; at = all.find("HTTP/1.1 200 OK", at + 1)) ++answers;
    EXPECT_EQ(answers, 3u) << all;
    EXPECT_NE(all.find("\r\n\r\nabc"), std::string::npos) << all;
}

// The documented `curl -X POST .../-/reload` sends neither a body nor a Content-Length.
TEST_F(HttpEngineTest, PostWithoutContentLengthIsAnEmptyBody) {
    start();
    RawClient raw(port());
    ASSERT_TRUE(raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    auto answer = raw.read_all();
    EXPECT_EQ(RawClient::status_of(answer), 200) << answer;
    EXPECT_NE(answer.find("Content-Length: 0\r\n"), std::string::npos) << answer;
}

TEST_F(HttpEngineTest, BodyOverTheLimitIs413WithoutReadingIt) {
    start(Limits{.max_body_bytes = 1024});
    RawClient raw(port());
    // 64 MiB announced, none sent: the answer must not wait for it.
    ASSERT_TRUE(raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n"));
    auto answer = raw.read_all(2s);
    EXPECT_EQ(RawClient::status_of(answer), 413) << answer;
    EXPECT_TRUE(raw.closed());
    EXPECT_EQ(echoed_, 0);
    EXPECT_EQ(client().Post("/echo", std::string(1024, 'x'), "text/plain")->status, 200);
    EXPECT_EQ(client().Post("/echo", std::string(1025, 'x'), "text/plain")->status, 413);
}

TEST_F(HttpEngineTest, ChunkedBodiesAreDecodedAndBounded) {
    start(Limits{.max_body_bytes = 16});
    RawClient ok(port());
    ASSERT_TRUE(ok.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"));
    auto answer = ok.read_all();
    EXPECT_EQ(RawClient::status_of(answer), 200) << answer;
    EXPECT_TRUE(answer.ends_with("\r\n\r\nhello world")) << answer;
    RawClient big(port());
    ASSERT_TRUE(big.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "ffffffffffffffffffff\r\n"));
    EXPECT_EQ(RawClient::status_of(big.read_all()), 413);
    RawClient many(port());
    ASSERT_TRUE(many.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"));
    EXPECT_EQ(RawClient::status_of(many.read_all()), 413);
    RawClient both(port());
    ASSERT_TRUE(both.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc"));
    EXPECT_EQ(RawClient::status_of(both.read_all()), 400);
}

// A 255 KB gzip body that inflates to 256 MiB once cost 256 MiB of memory.
TEST_F(HttpEngineTest, CompressedBodiesInflateOnlyUpToTheLimit) {
    start(Limits{.max_body_bytes = 1 << 20});
    auto c = client();
    auto small = gzip("{\"a\":1}");
    auto ok = c.Post("/echo", {{"Content-Encoding", "gzip"}}, small, "application/json");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(ok->body, "{\"a\":1}");
    auto bomb = gzip(std::string(64 << 20, '\0'));
    ASSERT_LT(bomb.size(), std::size_t{1} << 20);  // it passes the wire limit: only inflation can catch it
    auto refused = c.Post("/echo", {{"Content-Encoding", "gzip"}}, bomb, "application/json");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 413);
    EXPECT_EQ(echoed_, 1);
    auto unknown = c.Post("/echo", {{"Content-Encoding", "compress"}}, "x", "text/plain");
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->status, 415);
    auto corrupt = c.Post("/echo", {{"Content-Encoding", "gzip"}}, "not gzip at all", "text/plain");
    ASSERT_TRUE(corrupt);
    EXPECT_EQ(corrupt->status, 400);
}

TEST_F(HttpEngineTest, OversizedRequestLinesAndHeadersGetTheirOwnStatus) {
    start(Limits{.max_header_bytes = 4096, .max_header_count = 10});
    RawClient long_line(port());
    ASSERT_TRUE(long_line.send("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n"));
    EXPECT_EQ(RawClient::status_of(long_line.read_all()), 414);
    RawClient big(port());
    ASSERT_TRUE(big.send("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(5000, 'b') + "\r\n\r\n"));
    EXPECT_EQ(RawClient::status_of(big.read_all()), 431);
    RawClient many(port());
    std::string request = "GET /healthz HTTP/1.1\r\n";
    for (int i = 0; i < 11; ++i) request += "X-" + std::to_string(i) + ": v\r\n";
    ASSERT_TRUE(many.send(request + "\r\n"));
    EXPECT_EQ(RawClient::status_of(many.read_all()), 431);
    RawClient garbage(port());
    ASSERT_TRUE(garbage.send("GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n"));
    EXPECT_EQ(RawClient::status_of(garbage.read_all()), 400);
    RawClient version(port());
    ASSERT_TRUE(version.send("GET /healthz HTTP/2.0\r\n\r\n"));
    EXPECT_EQ(RawClient::status_of(version.read_all()), 505);
}

// One header line a second used to hold a worker for as long as the client liked.
TEST_F(HttpEngineTest, ASlowClientIsDroppedAtTheReadDeadline) {
    start(Limits{.read_timeout = 600ms});
    RawClient slow(port());
    ASSERT_TRUE(slow.send("GET /healthz HTTP/1.1\r\n"));
    auto begin = std::chrono::steady_clock::now();
    // One header line every 150 ms until the server answers (sending on after the answer
    // would only race the server's close).
    for (int i = 0; i < 20 && !slow.readable(150ms) && slow.send("X-Slow: " + std::to_string(i) + "\r\n"); ++i) {
    }
    auto answer = slow.read_all(3s);
    EXPECT_EQ(RawClient::status_of(answer), 408) << answer;
    EXPECT_TRUE(slow.closed());
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
}

TEST_F(HttpEngineTest, FiftySlowClientsDoNotStarveHealthOrMetrics) {
    start(Limits{.read_timeout = 30s});
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 50; ++i) {
        slow.push_back(std::make_unique<RawClient>(port()));
        ASSERT_TRUE(slow.back()->connected());
        ASSERT_TRUE(slow.back()->send("GET /healthz HTTP/1.1\r\nX-Part: 1\r\n"));
    }
    // The server accepts the 50 one after another, a thread each: at once in a plain
    // build, about a second under TSan (each thread start costs it ~20 ms). Health must
    // answer behind them, well within the slow clients' 30 s read deadline; then, with all
    // of them held open, every round within a second.
    httplib::Client first("127.0.0.1", port());
    first.set_read_timeout(10, 0);
    ASSERT_TRUE(first.Get("/healthz")) << "health starved behind the slow clients";
    auto c = client();  // one-second timeouts
    for (int round = 0; round < 3; ++round) {
        for (auto& s : slow) s->send("X-More: " + std::to_string(round) + "\r\n");
        auto res = c.Get("/healthz");
        ASSERT_TRUE(res) << "round " << round << ": " << httplib::to_string(res.error());
        EXPECT_EQ(res->status, 200);
    }
}

TEST_F(HttpEngineTest, ConnectionsOverTheCapAre503AndTheCapFreesUp) {
    start(Limits{.max_connections = 4});
    std::vector<std::unique_ptr<RawClient>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(std::make_unique<RawClient>(port()));
        ASSERT_TRUE(held.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));  // half a head: busy, not idle
    }
    RawClient fifth(port());
    EXPECT_EQ(RawClient::status_of(fifth.read_all(2s)), 503);
    held.clear();  // closing them frees their places
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(client().Get("/healthz")->status, 200);
}

TEST_F(HttpEngineTest, ExpectContinueIsAnsweredBeforeTheBody) {
    start();
    RawClient raw(port());
    ASSERT_TRUE(raw.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"));
    auto interim = raw.read_all(500ms);
    EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_TRUE(raw.send("body"));
    auto answer = raw.read_all();
    EXPECT_EQ(RawClient::status_of(answer), 200) << answer;
    EXPECT_TRUE(answer.ends_with("body"));
}

TEST_F(HttpEngineTest, StopDropsHalfReadRequestsAndWaitsForRunningHandlers) {
    server_ = std::make_unique<HttpEngine>();
    std::promise<void> entered;
    std::atomic<bool> finish{false};
    server_->route("GET", "/slow", [&](const Request&, Response& res) {
        entered.set_value();
        while (!finish) std::this_thread::sleep_for(10ms);
        res.set_content("done", "text/plain");
    });
    server_->start("127.0.0.1:0");
    RawClient half(port());
    ASSERT_TRUE(half.send("GET /slow HTTP/1.1\r\nX-Incomplete: 1\r\n"));
    RawClient running(port());
    ASSERT_TRUE(running.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    entered.get_future().wait();
    auto stopped = std::async(std::launch::async, [&] { server_->stop(); });
    EXPECT_EQ(stopped.wait_for(300ms), std::future_status::timeout);  // a handler is running
    finish = true;
    EXPECT_EQ(stopped.wait_for(2s), std::future_status::ready);
    auto answer = running.read_all(1s);
    EXPECT_EQ(RawClient::status_of(answer), 200) << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos);
    half.read_all(1s);
    EXPECT_TRUE(half.closed());
}

// ---- ApiServer: who may do what ------------------------------------------------------

testing_support::TestApi::Reload counting_reload(std::atomic<int>& reloads) {
    return [&reloads] {
        ++reloads;
        return std::optional<std::string>{};
    };
}

TEST(ApiServerAccess, WriteEndpointsAreOffUnlessTheirFlagIsOn) {
    metrics::MetricStore store;
    prometheus::Registry registry;
    std::atomic<int> reloads{0};
    testing_support::TestApi server_api(store, registry, counting_reload(reloads));
    ApiServer& server = server_api.server;
    server.add_route(Access::admin, "POST", "/api/v1/test/silences",
                     [](const Request&, Response& res) { res.set_content("created", "text/plain"); });
    server.start("127.0.0.1:0");
    httplib::Client c("127.0.0.1", server.port());
    auto reload = c.Post("/-/reload");
    ASSERT_TRUE(reload);
    EXPECT_EQ(reload->status, 403);
    EXPECT_EQ(reload->get_header_value("Content-Type"), "application/json");
    EXPECT_NE(reload->body.find("--web.enable-lifecycle"), std::string::npos) << reload->body;
    EXPECT_EQ(reloads, 0);
    auto silence = c.Post("/api/v1/test/silences", "{}", "application/json");
    ASSERT_TRUE(silence);
    EXPECT_EQ(silence->status, 403);
    EXPECT_NE(silence->body.find("--web.enable-admin-api"), std::string::npos) << silence->body;
    EXPECT_EQ(c.Get("/healthz")->status, 200);

    prometheus::Registry registry2;
    testing_support::TestApi open_api(store, registry2, counting_reload(reloads),
                                      ServerOptions{.enable_lifecycle = true, .enable_admin_api = true});
    ApiServer& open = open_api.server;
    open.add_route(Access::admin, "POST", "/api/v1/test/silences",
                   [](const Request&, Response& res) { res.set_content("created", "text/plain"); });
    open.start("127.0.0.1:0");
    httplib::Client c2("127.0.0.1", open.port());
    EXPECT_EQ(c2.Post("/-/reload")->status, 200);
    EXPECT_EQ(reloads, 1);
    EXPECT_EQ(c2.Post("/api/v1/test/silences", "{}", "application/json")->body, "created");
}

// Each write flag opens its own routes and no other (the daemon's routes, web/routes.cpp),
// and a client that authenticated is held to the flags and the write rules like any other:
// authentication says who asks, the flags what may be asked at all.
TEST(ApiServerAccess, EachWriteFlagOpensOnlyItsOwnRoutesEvenForAnAuthenticatedClient) {
    const std::string silence = R"({"matchers":[{"name":"alertname","value":"Down","isRegex":false}],"endsAt":")" +
                                format_iso8601(std::chrono::system_clock::now() + std::chrono::hours{2}) +
                                R"(","createdBy":"me","comment":"flags"})";
    for (auto [lifecycle, admin] : {std::pair{true, false}, std::pair{false, true}, std::pair{false, false}}) {
        SCOPED_TRACE(std::string("lifecycle ") + (lifecycle ? "on" : "off") + ", admin " + (admin ? "on" : "off"));
        metrics::MetricStore store;
        prometheus::Registry registry;
        std::atomic<int> reloads{0};
        testing_support::TestApi api(store, registry, counting_reload(reloads),
                                     ServerOptions{.enable_lifecycle = lifecycle, .enable_admin_api = admin});
        api.server.set_security(Security{.authenticate = [](std::string_view header, const std::function<bool()>&) {
            return header == "Basic YWxpY2U6c2VjcmV0" ? AuthVerdict::pass : AuthVerdict::fail;  // alice:secret
        }});
        api.server.start("127.0.0.1:0");
        httplib::Client c("127.0.0.1", api.server.port());
        c.set_basic_auth("alice", "secret");
        auto refused_for = [](const httplib::Result& res, const std::string& flag) {
            ASSERT_TRUE(res);
            EXPECT_EQ(res->status, 403) << res->body;
            EXPECT_NE(res->body.find(flag), std::string::npos) << res->body;
        };

        auto reload = c.Post("/-/reload");
        if (lifecycle) {
            ASSERT_TRUE(reload);
            EXPECT_EQ(reload->status, 200) << reload->body;
            // The write rules hold for an authenticated client too.
            EXPECT_EQ(c.Post("/-/reload", {{"Sec-Fetch-Site", "cross-site"}}, "", "")->status, 403);
        } else {
            refused_for(reload, "--web.enable-lifecycle");
        }
        EXPECT_EQ(reloads, lifecycle ? 1 : 0);

        auto created = c.Post("/api/v1/silences", silence, "application/json");
        std::string id = "unknown";
        if (admin) {
            ASSERT_TRUE(created);
            EXPECT_EQ(created->status, 200) << created->body;
            const auto at = created->body.find("\"silenceID\":\"");
            ASSERT_NE(at, std::string::npos) << created->body;
            const auto from = at + std::string("\"silenceID\":\"").size();
            id = created->body.substr(from, created->body.find('"', from) - from);
            EXPECT_EQ(c.Post("/api/v1/silences", {{"Sec-Fetch-Site", "same-site"}}, silence, "application/json")->status,
                      403);
        } else {
            refused_for(created, "--web.enable-admin-api");
        }
        auto expired = c.Delete("/api/v1/silences/" + id);
        if (admin) {
            ASSERT_TRUE(expired);
            EXPECT_EQ(expired->status, 200) << expired->body;
        } else {
            refused_for(expired, "--web.enable-admin-api");
        }
        // Reads answer whatever the flags.
        EXPECT_EQ(c.Get("/api/v1/silences")->status, 200);
    }
}

TEST(ApiServerAccess, AuthenticationGuardsEveryEndpointAndHeadersGoOnEveryAnswer) {
    metrics::MetricStore store;
    prometheus::Registry registry;
    std::atomic<int> reloads{0};
    testing_support::TestApi server_api(store, registry, counting_reload(reloads));
    ApiServer& server = server_api.server;
    server.set_security(Security{
        .authenticate = [](std::string_view header, const std::function<bool()>&) {
            return header == "Basic YWxpY2U6c2VjcmV0" ? AuthVerdict::pass : AuthVerdict::fail;  // alice:secret
        },
        .headers = {{"X-Frame-Options", "deny"}},
    });
    server.start("127.0.0.1:0");
    httplib::Client c("127.0.0.1", server.port());
    for (const char* path : {"/metrics", "/healthz", "/api/v1/status", "/nope"}) {
        auto res = c.Get(path);
        ASSERT_TRUE(res);
        EXPECT_EQ(res->status, 401) << path;
        EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Basic") << path;
        EXPECT_EQ(res->get_header_value("X-Frame-Options"), "deny") << path;
    }
    c.set_basic_auth("alice", "wrong");
    EXPECT_EQ(c.Get("/metrics")->status, 401);
    c.set_basic_auth("alice", "secret");
    auto ok = c.Get("/metrics");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(ok->get_header_value("X-Frame-Options"), "deny");
    EXPECT_EQ(c.Get("/nope")->status, 404);
    // A reload of the web config that drops authentication applies to the next request.
    server.set_security(Security{});
    EXPECT_EQ(httplib::Client("127.0.0.1", server.port()).Get("/metrics")->status, 200);
}

TEST(ApiServerAccess, RateLimitAnswers429PastTheBurst) {
    metrics::MetricStore store;
    prometheus::Registry registry;
    std::atomic<int> reloads{0};
    testing_support::TestApi server_api(store, registry, counting_reload(reloads));
    ApiServer& server = server_api.server;
    server.set_security(Security{.rate_limit_interval = 1h, .rate_limit_burst = 3});
    server.start("127.0.0.1:0");
    httplib::Client c("127.0.0.1", server.port());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(c.Get("/healthz")->status, 200) << i;
    EXPECT_EQ(c.Get("/healthz")->status, 429);
}

TEST(ApiServerAccess, RequestsAreCountedByRoutePatternNotPath) {
    metrics::MetricStore store;
    prometheus::Registry registry;
    std::atomic<int> reloads{0};
    // DELETE of an unknown silence: the real route answers 404.
    testing_support::TestApi server_api(store, registry, counting_reload(reloads),
                                        ServerOptions{.enable_admin_api = true});
    ApiServer& server = server_api.server;
    server.start("127.0.0.1:0");
    httplib::Client c("127.0.0.1", server.port());
    c.Delete("/api/v1/silences/one");
    c.Delete("/api/v1/silences/two");
    c.Get("/nope");
    // The server counts a request once its answer is written, and each request here has
    // its own connection and server thread: any count can trail the client's next request
    // by a moment (under ASan, or a busy machine), so wait for both.
    const std::string by_pattern = R"(cargomon_http_requests_total{code="404",handler="/api/v1/silences/:id"} 2)";
    const std::string other = R"(cargomon_http_requests_total{code="404",handler="other"} 1)";
    std::string metrics;
    for (int i = 0; i < 100; ++i) {
        metrics = c.Get("/metrics")->body;
        if (metrics.find(by_pattern) != std::string::npos && metrics.find(other) != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    EXPECT_NE(metrics.find(by_pattern), std::string::npos) << metrics;
    EXPECT_NE(metrics.find(other), std::string::npos) << metrics;
}

}  // namespace
}  // namespace cargomon::web
