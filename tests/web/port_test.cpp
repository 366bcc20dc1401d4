// The exposed port, round two (issue 19): what one client, a browser page on another
// site, or a flood of guesses could do to the server and how each is now refused. Real
// servers on 127.0.0.1; clients are raw sockets (from 127.0.0.1, or 127.0.0.2 and up to
// play other hosts), httplib, or OpenSSL with a client certificate.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/web/raw_client.h"
#include "web/http_server.h"
#include "web/server.h"

namespace cargomon::web {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using test::RawClient;

constexpr auto kHang = 10s;  // one generous deadline: only a hang reaches it

HttpServer::Callbacks counting_callbacks(std::atomic<int>& reloads) {
    return {.status = [] { return std::string("{}"); },
            .reload = [&reloads] {
                ++reloads;
                return std::optional<std::string>{};
            }};
}

// One request on a fresh raw connection from `from`; the whole answer.
std::string ask(int port, const std::string& request, const char* from = nullptr) {
    RawClient c(port, from);
    EXPECT_TRUE(c.connected()) << (from ? from : "127.0.0.1");
    c.send(request);
    return c.read_answer(kHang);
}

std::string get(const std::string& path, const std::string& extra_headers = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra_headers + "\r\n";
}

// ---- connection caps --------------------------------------------------------------------

// 20 idle kept-alive connections used to hold a cap of 20 for as long as they liked, and
// /metrics answered 503 (at the default 512, ~9 requests a second were enough).
TEST(PortConnections, IdleKeepAliveConnectionsAreClosedFirstWhenTheCapIsReached) {
    metrics::MetricStore store;
    prometheus::Registry registry;
    std::atomic<int> reloads{0};
    HttpServer server(store, registry, counting_callbacks(reloads),
                      HttpOptions{.limits = {.idle_timeout = 60s, .max_connections = 20}});
    server.start("127.0.0.1:0");
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 20; ++i) {
        idle.push_back(std::make_unique<RawClient>(server.port()));
        ASSERT_TRUE(idle.back()->send(get("/healthz")));
        ASSERT_EQ(RawClient::status_of(idle.back()->read_answer(kHang)), 200) << i;
    }
    auto scrape = ask(server.port(), get("/metrics"));
    EXPECT_EQ(RawClient::status_of(scrape), 200) << scrape;
    // The one that waited longest made room; it sees its connection closed.
    idle.front()->read_all(kHang);
    EXPECT_TRUE(idle.front()->closed());
}

TEST(PortConnections, OneClientCannotTakeEveryPlace) {
    Server server(Limits{.max_connections = 100, .max_connections_per_client = 3});
    server.route("GET", "/healthz", [](const Request&, Response& res) { res.set_content("OK", "text/plain"); });
    server.start("127.0.0.1:0");
    std::vector<std::unique_ptr<RawClient>> busy;
    for (int i = 0; i < 3; ++i) {
        busy.push_back(std::make_unique<RawClient>(server.port()));
        ASSERT_TRUE(busy.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));  // half a head: busy
    }
    RawClient fourth(server.port());
    auto refused = fourth.read_all(kHang);
    EXPECT_EQ(RawClient::status_of(refused), 503) << refused;
    EXPECT_NE(refused.find("too many connections from your address"), std::string::npos) << refused;
    // Another host is served.
    auto other = ask(server.port(), get("/healthz"), "127.0.0.2");
    EXPECT_EQ(RawClient::status_of(other), 200) << other;
    // A client at its cap with an idle connection closes its own idle one (the one that
    // waited longest), never another's.
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 3; ++i) {
        idle.push_back(std::make_unique<RawClient>(server.port(), "127.0.0.3"));
        ASSERT_TRUE(idle.back()->send(get("/healthz")));
        ASSERT_EQ(RawClient::status_of(idle.back()->read_answer(kHang)), 200);
    }
    auto again = ask(server.port(), get("/healthz"), "127.0.0.3");
    EXPECT_EQ(RawClient::status_of(again), 200) << again;
    idle.front()->read_all(kHang);
    EXPECT_TRUE(idle.front()->closed());
    for (auto& b : busy) EXPECT_FALSE(b->readable(0ms)) << "another client's connection was touched";
}

// ---- request parsing --------------------------------------------------------------------

class PortParsing : public testing::Test {
protected:
    void SetUp() override {
        // A read deadline longer than the clients wait: a request the server waits on
        // instead of refusing shows as no answer at all.
        server_ = std::make_unique<Server>(Limits{.read_timeout = 60s});
        server_->route("GET", "/healthz", [](const Request&, Response& res) { res.set_content("OK", "text/plain"); });
        server_->route("POST", "/echo", [this](const Request& req, Response& res) {
            ++handled_;
            res.set_content(req.body, "text/plain");
        });
        server_->route("GET", "/things/:id", [this](const Request& req, Response& res) {
            ++handled_;
            res.set_content("thing " + req.path_params.at(0), "text/plain");
        });
        server_->route("GET", "/things", [](const Request&, Response& res) { res.set_content("all", "text/plain"); });
        server_->start("127.0.0.1:0");
    }
    int port() const { return server_->port(); }
    // The answer to `request`, expected to be a 400 naming `reason`.
    void expect_400(const std::string& request, const std::string& reason) {
        auto answer = ask(port(), request);
        EXPECT_EQ(RawClient::status_of(answer), 400) << request << "\n---\n" << answer;
        EXPECT_NE(answer.find(reason), std::string::npos) << answer;
    }

    std::unique_ptr<Server> server_;
    std::atomic<int> handled_{0};
};

TEST_F(PortParsing, AmbiguousFramingAndMalformedHeadsAre400) {
    expect_400("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n0\r\n\r\n",
               "several Transfer-Encoding headers");
    expect_400("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\nContent-Length: 3\r\n\r\nabc",
               "both Transfer-Encoding and Content-Length");
    expect_400("GET /healthz HTTP/1.1\nHost: x\n\n", "bare LF");
    expect_400("GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", "bare LF");
    expect_400("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"s,
               "header X-A has a control character (NUL) in its value");
    expect_400("GET /healthz HTTP/1.1\r\n\r\n", "HTTP/1.1 request without a Host header");
    expect_400("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "several Host headers");
    EXPECT_EQ(handled_, 0);
    // HTTP/1.0 has no Host to require.
    auto old = ask(port(), "GET /healthz HTTP/1.0\r\n\r\n");
    EXPECT_EQ(RawClient::status_of(old), 200) << old;
}

// Go's ServeMux matches segments of the path as sent, each decoded alone:
// "/api/v1/silences%2Fx" is one segment "silences/x", not the route ".../silences/:id".
TEST_F(PortParsing, PercentDecodingComesAfterRouting) {
    EXPECT_EQ(RawClient::status_of(ask(port(), get("/things%2Fabc"))), 404);
    auto inner = ask(port(), get("/things/a%2Fb"));
    EXPECT_EQ(RawClient::status_of(inner), 200) << inner;
    EXPECT_TRUE(inner.ends_with("thing a/b")) << inner;
    auto literal = ask(port(), get("/th%69ngs/x"));
    EXPECT_TRUE(literal.ends_with("thing x")) << literal;
    expect_400(get("/things/%zz"), "malformed percent-encoding in the path");
}

// 200 stalled 1 MiB bodies on GET routes once held 228 MB: each was read into memory.
TEST_F(PortParsing, BodiesOnGetAndHeadAreRefusedUnread) {
    std::vector<std::unique_ptr<RawClient>> stalled;
    for (int i = 0; i < 20; ++i) {
        stalled.push_back(std::make_unique<RawClient>(port()));
        ASSERT_TRUE(stalled.back()->send(std::string(i % 2 ? "HEAD" : "GET") +
                                         " /things/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" +
                                         std::string(1000, 'x')));
    }
    for (auto& c : stalled) {
        auto answer = c->read_answer(kHang);
        EXPECT_EQ(RawClient::status_of(answer), 400) << answer;
    }
    expect_400("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "requests take no body");
    EXPECT_EQ(handled_, 0);
}

}  // namespace
}  // namespace cargomon::web
