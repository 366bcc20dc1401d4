// The exposed port, round two (issue 19): what one client, a browser page on another
// site, or a flood of guesses could do to the server and how each is now refused. Real
// servers on 127.0.0.1; clients are raw sockets (from 127.0.0.1, or 127.0.0.2 and up to
// play other hosts), httplib, or OpenSSL with a client certificate.
#include <crypt.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/web/basic_credentials.h"
#include "tests/web/certs.h"
#include "tests/web/raw_client.h"
#include "web/auth.h"
#include "tests/web/test_api.h"
#include "web/api_server.h"
#include "web/http_engine.h"
#include "web/tls.h"

namespace cargomon::web {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using test::RawClient;

constexpr auto kHang = 10s;  // one generous deadline: only a hang reaches it

testing_support::TestApi::Reload counting_reload(std::atomic<int>& reloads) {
    return [&reloads] {
        ++reloads;
        return std::optional<std::string>{};
    };
}


// A bcrypt hash made with libcrypt itself, at `cost`.
std::string hash_of(const std::string& password, int cost = 4) {
    auto data = std::make_unique<crypt_data>();
    std::memset(data.get(), 0, sizeof(crypt_data));
    char setting[40];
    std::snprintf(setting, sizeof setting, "$2b$%02d$abcdefghijklmnopqrstuu", cost);
    const char* out = crypt_r(password.c_str(), setting, data.get());
    EXPECT_TRUE(out && out[0] == '$');
    return out ? out : "";
}

Security::Authenticate with(std::shared_ptr<const BasicAuth> auth) {
    return [auth](std::string_view header, const std::function<bool()>& may_check_password) {
        return auth->verify(header, may_check_password);
    };
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

// The server marks a kept-alive connection waiting only after it wrote its answer, so a
// client can read the answer first: until then a full server answers 503. Asks again
// until it is served (the event: a waiting connection was there to close), or kHang.
std::string ask_until_served(int port, const std::string& request, const char* from = nullptr) {
    const auto until = std::chrono::steady_clock::now() + kHang;
    std::string answer;
    do answer = ask(port, request, from);
    while (RawClient::status_of(answer) == 503 && std::chrono::steady_clock::now() < until);
    return answer;
}

// How many of `clients` the server closed, waiting up to kHang for the first.
int closed_among(std::vector<std::unique_ptr<RawClient>>& clients) {
    const auto until = std::chrono::steady_clock::now() + kHang;
    int closed = 0;
    while (closed == 0 && std::chrono::steady_clock::now() < until) {
        for (auto& c : clients)
            if (!c->closed() && c->readable(10ms)) c->read_all(100ms);
        closed = static_cast<int>(std::count_if(clients.begin(), clients.end(), [](auto& c) { return c->closed(); }));
    }
    return closed;
}

// ---- connection caps --------------------------------------------------------------------

// 20 idle kept-alive connections used to hold a cap of 20 for as long as they liked, and
// /metrics answered 503 (at the default 512, ~9 requests a second were enough).
TEST(PortConnections, IdleKeepAliveConnectionsAreClosedFirstWhenTheCapIsReached) {
    metrics::MetricStore store;
    prometheus::Registry registry;
    std::atomic<int> reloads{0};
    testing_support::TestApi server_api(store, registry, counting_reload(reloads),
                      ServerOptions{.limits = {.idle_timeout = 60s, .max_connections = 20}});
    ApiServer& server = server_api.server;
    server.start("127.0.0.1:0");
    std::vector<std::unique_ptr<RawClient>> idle;
    for (int i = 0; i < 20; ++i) {
        idle.push_back(std::make_unique<RawClient>(server.port()));
        ASSERT_TRUE(idle.back()->send(get("/healthz")));
        ASSERT_EQ(RawClient::status_of(idle.back()->read_answer(kHang)), 200) << i;
    }
    auto scrape = ask_until_served(server.port(), get("/metrics"));
    EXPECT_EQ(RawClient::status_of(scrape), 200) << scrape;
    // A waiting one made room (the one that waited longest, which the client cannot
    // tell apart: the server's waiting order is not the order of the answers read).
    EXPECT_EQ(closed_among(idle), 1);
}

TEST(PortConnections, OneClientCannotTakeEveryPlace) {
    HttpEngine server(Limits{.max_connections = 100, .max_connections_per_client = 3});
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
    auto again = ask_until_served(server.port(), get("/healthz"), "127.0.0.3");
    EXPECT_EQ(RawClient::status_of(again), 200) << again;
    EXPECT_EQ(closed_among(idle), 1);
    for (auto& b : busy) EXPECT_FALSE(b->readable(0ms)) << "another client's connection was touched";
}

// ---- request parsing --------------------------------------------------------------------

class PortParsing : public ::testing::Test {
protected:
    void SetUp() override {
        // A read deadline longer than the clients wait: a request the server waits on
        // instead of refusing shows as no answer at all.
        server_ = std::make_unique<HttpEngine>(Limits{.read_timeout = 60s});
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

    std::unique_ptr<HttpEngine> server_;
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

// ---- authentication --------------------------------------------------------------------

struct AuthServer {
    explicit AuthServer(std::map<std::string, std::string> users, ServerOptions options = {},
                        std::chrono::milliseconds rate_interval = {}, int rate_burst = 0)
        : auth(std::make_shared<const BasicAuth>(std::move(users))),
          api(store, registry, counting_reload(reloads), options),
          server(api.server) {
        server.set_security(Security{.authenticate = with(auth), .rate_limit_interval = rate_interval,
                                     .rate_limit_burst = rate_burst});
        server.start("127.0.0.1:0");
    }
    int port() const { return server.port(); }

    metrics::MetricStore store;
    prometheus::Registry registry;
    std::atomic<int> reloads{0};
    std::shared_ptr<const BasicAuth> auth;
    testing_support::TestApi api;
    ApiServer& server;
};

// A client guessing passwords must open a connection for each guess.
TEST(PortAuth, AFailedLoginClosesTheConnection) {
    AuthServer s({{"alice", hash_of("s3cret")}});
    RawClient c(s.port());
    ASSERT_TRUE(c.send(get("/metrics", "Authorization: " + test::basic_authorization("alice", "guess") + "\r\n")));
    auto answer = c.read_all(kHang);
    EXPECT_EQ(RawClient::status_of(answer), 401) << answer;
    EXPECT_NE(answer.find("Connection: close\r\n"), std::string::npos) << answer;
    EXPECT_TRUE(c.closed());
}

// bcrypt reads 72 bytes and crypt_r() stops at a NUL: "s3cret\0anything" once passed for
// "s3cret", and any 73-byte password for its 72-byte prefix.
TEST(PortAuth, PasswordsAreComparedWhole) {
    const std::string long_password(72, 'p');
    AuthServer s({{"alice", hash_of("s3cret")}, {"bob", hash_of(long_password)}});
    auto status = [&](const std::string& user, const std::string& password) {
        return RawClient::status_of(ask(s.port(), get("/healthz", "Authorization: " + test::basic_authorization(user, password) + "\r\n")));
    };
    EXPECT_EQ(status("alice", "s3cret"), 200);
    EXPECT_EQ(status("alice", "s3cret\0anything"s), 401);
    EXPECT_EQ(status("bob", long_password), 200);
    EXPECT_EQ(status("bob", long_password + "q"), 401);
}

TEST(PortAuth, FailedLoginsAreLimitedPerClientWithoutRunningBcrypt) {
    AuthServer s({{"alice", hash_of("s3cret")}}, ServerOptions{.auth_failures_per_minute = 5});
    std::vector<int> statuses;
    for (int i = 0; i < 12; ++i) {
        auto answer = ask(s.port(), get("/metrics", "Authorization: " + test::basic_authorization("alice", "guess" + std::to_string(i)) + "\r\n"),
                          "127.0.0.2");
        statuses.push_back(RawClient::status_of(answer));
        if (i == 11) {
            EXPECT_NE(answer.find("Retry-After: "), std::string::npos) << answer;
            EXPECT_NE(answer.find("too many failed logins from 127.0.0.2"), std::string::npos) << answer;
        }
    }
    EXPECT_EQ(statuses, (std::vector<int>{401, 401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429}));
    EXPECT_EQ(s.auth->bcrypt_runs(), 5u);
    // Another client, and the right password, are not held back by that client's guesses;
    // a success does not spend the budget.
    for (int i = 0; i < 8; ++i)
        EXPECT_EQ(RawClient::status_of(ask(s.port(), get("/metrics", "Authorization: " + test::basic_authorization("alice", "s3cret") + "\r\n"))),
                  200);
}

// A flood of wrong passwords once queued bcrypt checks one behind the other (a valid
// first login took 3.2 s). Now at most BasicAuth::kMaxBcryptQueue run or wait; more are
// answered 429 at once without bcrypt, and a remembered login never waits for them.
// A login that passes gives back what its check was charged: good logins that each ran
// bcrypt (two users, nothing cached yet) leave the whole failed-login budget to guesses.
TEST(PortAuth, GoodLoginsDoNotSpendTheFailedLoginBudget) {
    AuthServer s({{"alice", hash_of("s3cret")}, {"bob", hash_of("b0b")}}, ServerOptions{.auth_failures_per_minute = 2});
    auto status = [&](const std::string& user, const std::string& password) {
        return RawClient::status_of(ask(
            s.port(), get("/metrics", "Authorization: " + test::basic_authorization(user, password) + "\r\n"), "127.0.0.3"));
    };
    EXPECT_EQ(status("alice", "s3cret"), 200);
    EXPECT_EQ(status("bob", "b0b"), 200);
    EXPECT_EQ(s.auth->bcrypt_runs(), 2u);
    EXPECT_EQ(status("alice", "guess1"), 401);
    EXPECT_EQ(status("alice", "guess2"), 401);
    EXPECT_EQ(status("alice", "guess3"), 429);
}

TEST(PortAuth, AFloodOfGuessesNeitherQueuesNorDelaysAKnownLogin) {
    AuthServer s({{"alice", hash_of("s3cret", 12)}});
    const std::string good = "Authorization: " + test::basic_authorization("alice", "s3cret") + "\r\n";
    ASSERT_EQ(RawClient::status_of(ask(s.port(), get("/metrics", good))), 200);  // remembered from now on
    const std::size_t primed = s.auth->bcrypt_runs();
    constexpr int kGuessers = 12;
    std::vector<int> statuses(kGuessers);
    std::vector<std::thread> guessers;
    for (int i = 0; i < kGuessers; ++i) {
        guessers.emplace_back([&, i] {
            // Each from its own address: the per-client limit is not what stops them here.
            const std::string from = "127.0.0." + std::to_string(10 + i);
            statuses[i] = RawClient::status_of(
                ask(s.port(), get("/metrics", "Authorization: " + test::basic_authorization("alice", "guess") + "\r\n"), from.c_str()));
        });
    }
    const auto until = std::chrono::steady_clock::now() + kHang;
    while (s.auth->bcrypt_queued() < BasicAuth::kMaxBcryptQueue && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(1ms);
    EXPECT_EQ(s.auth->bcrypt_queued(), BasicAuth::kMaxBcryptQueue);
    // The queue is full of slow guesses (cost 12): the known login passes meanwhile.
    EXPECT_EQ(RawClient::status_of(ask(s.port(), get("/metrics", good))), 200);
    EXPECT_GT(s.auth->bcrypt_queued(), 0u) << "the known login waited for the guesses' bcrypt checks";
    for (auto& t : guessers) t.join();
    const auto refused = std::count(statuses.begin(), statuses.end(), 429);
    const auto checked = std::count(statuses.begin(), statuses.end(), 401);
    EXPECT_EQ(refused + checked, kGuessers);
    EXPECT_GT(refused, 0) << "every guess was queued for bcrypt";
    EXPECT_EQ(s.auth->bcrypt_runs() - primed, static_cast<std::size_t>(checked));
}

// The rate limit was one bucket for the whole server, taken before authentication:
// anonymous requests made the authenticated scraper get 429.
TEST(PortAuth, TheRateLimitIsPerClientAndAfterAuthentication) {
    AuthServer s({{"alice", hash_of("s3cret")}}, ServerOptions{}, 1h, 3);
    const std::string good = "Authorization: " + test::basic_authorization("alice", "s3cret") + "\r\n";
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(RawClient::status_of(ask(s.port(), get("/metrics"), "127.0.0.2")), 401) << i;  // anonymous
    for (int i = 0; i < 3; ++i) EXPECT_EQ(RawClient::status_of(ask(s.port(), get("/metrics", good))), 200) << i;
    EXPECT_EQ(RawClient::status_of(ask(s.port(), get("/metrics", good))), 429);
    // Its budget is its own: another authenticated client still has a whole one.
    EXPECT_EQ(RawClient::status_of(ask(s.port(), get("/metrics", good), "127.0.0.3")), 200);
}

// ---- write endpoints --------------------------------------------------------------------

// With the write flags on, a text/plain POST with a foreign Origin created a silence and
// a form POST reloaded: any web page in a browser on the host could mute every alert.
TEST(PortWrites, CrossSiteAndNonJsonWritesAreRefused) {
    metrics::MetricStore store;
    prometheus::Registry registry;
    std::atomic<int> reloads{0};
    std::atomic<int> created{0};
    testing_support::TestApi server_api(store, registry, counting_reload(reloads),
                      ServerOptions{.enable_lifecycle = true, .enable_admin_api = true});
    ApiServer& server = server_api.server;
    // Stand-ins at a path of their own (the real silence routes are registered too): the
    // refusals come before any handler, by access level and method.
    server.add_route(Access::admin, "POST", "/api/v1/test/silences", [&](const Request&, Response& res) {
        ++created;
        res.set_content("{}", "application/json");
    });
    server.add_route(Access::admin, "DELETE", "/api/v1/test/silences/:id",
                     [&](const Request&, Response& res) { res.set_content("{}", "application/json"); });
    server.start("127.0.0.1:0");
    httplib::Client c("127.0.0.1", server.port());
    const std::string self = "http://127.0.0.1:" + std::to_string(server.port());
    const std::string json = R"({"matchers":[]})";
    auto status = [](const httplib::Result& r) { return r ? r->status : 0; };

    auto plain = c.Post("/api/v1/test/silences", json, "text/plain");
    EXPECT_EQ(status(plain), 415);
    EXPECT_NE(plain->body.find("Content-Type: application/json"), std::string::npos) << plain->body;
    EXPECT_EQ(status(c.Post("/api/v1/test/silences", "a=b", "application/x-www-form-urlencoded")), 415);
    EXPECT_EQ(status(c.Post("/-/reload", "a=b", "application/x-www-form-urlencoded")), 415);
    EXPECT_EQ(status(c.Post("/-/reload", "x", "multipart/form-data; boundary=x")), 415);
    auto foreign = c.Post("/api/v1/test/silences", {{"Origin", "http://evil.example"}}, json, "application/json");
    EXPECT_EQ(status(foreign), 403);
    EXPECT_NE(foreign->body.find("Origin http://evil.example is not this server"), std::string::npos) << foreign->body;
    EXPECT_EQ(status(c.Post("/api/v1/test/silences", {{"Origin", "null"}}, json, "application/json")), 403);
    EXPECT_EQ(status(c.Post("/-/reload", {{"Origin", "http://evil.example"}}, "", "")), 403);
    EXPECT_EQ(status(c.Delete("/api/v1/test/silences/x", {{"Origin", "http://evil.example"}})), 403);
    for (const char* site : {"cross-site", "same-site"})
        EXPECT_EQ(status(c.Post("/api/v1/test/silences", {{"Sec-Fetch-Site", site}}, json, "application/json")), 403) << site;
    EXPECT_EQ(created, 0);
    EXPECT_EQ(reloads, 0);

    // What cargomon's own clients, curl, and a page of this server send.
    EXPECT_EQ(status(c.Post("/api/v1/test/silences", json, "application/json")), 200);
    EXPECT_EQ(status(c.Post("/api/v1/test/silences", {{"Origin", self}, {"Sec-Fetch-Site", "same-origin"}}, json,
                            "application/json; charset=utf-8")),
              200);
    EXPECT_EQ(status(c.Post("/-/reload")), 200);
    EXPECT_EQ(status(c.Post("/-/reload", "{}", "application/json")), 200);
    EXPECT_EQ(status(c.Delete("/api/v1/test/silences/x")), 200);
    EXPECT_EQ(created, 2);
    EXPECT_EQ(reloads, 2);
}

// ---- TLS reload -----------------------------------------------------------------------

// A TLS client with a client certificate, on one kept-alive connection.
class TlsClient {
public:
    TlsClient(int port, const std::string& cert, const std::string& key) {
        ctx_.reset(SSL_CTX_new(TLS_client_method()));
        SSL_CTX_load_verify_locations(ctx_.get(), test::test_certs().ca_crt.c_str(), nullptr);
        SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
        SSL_CTX_use_certificate_file(ctx_.get(), cert.c_str(), SSL_FILETYPE_PEM);
        SSL_CTX_use_PrivateKey_file(ctx_.get(), key.c_str(), SSL_FILETYPE_PEM);
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
        ssl_.reset(SSL_new(ctx_.get()));
        SSL_set_fd(ssl_.get(), fd_);
        SSL_set_tlsext_host_name(ssl_.get(), "cargomon.test");
        SSL_set1_host(ssl_.get(), "cargomon.test");
        connected_ = SSL_connect(ssl_.get()) == 1;
    }
    ~TlsClient() {
        ssl_.reset();
        if (fd_ >= 0) ::close(fd_);
    }
    bool connected() const { return connected_; }
    // The status of GET /healthz on this connection; 0 when no answer came.
    int get_healthz() {
        const std::string request = "GET /healthz HTTP/1.1\r\nHost: cargomon.test\r\n\r\n";
        if (SSL_write(ssl_.get(), request.data(), static_cast<int>(request.size())) <= 0) return 0;
        std::string got;
        char buf[4096];
        while (got.find("\r\n\r\nOK") == std::string::npos) {
            int n = SSL_read(ssl_.get(), buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        ERR_clear_error();
        return got.find("\r\n\r\nOK") == std::string::npos ? 0 : RawClient::status_of(got);
    }

private:
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_{nullptr, SSL_CTX_free};
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl_{nullptr, SSL_free};
    int fd_ = -1;
    bool connected_ = false;
};

Security verified_by(const std::string& client_ca_file) {
    config::TlsServerConfig t;
    t.cert_file = test::test_certs().server_crt;
    t.key_file = test::test_certs().server_key;
    t.client_auth = config::ClientAuthType::require_and_verify_client_cert;
    t.client_ca_file = client_ca_file;
    Security security;
    security.tls = make_server_tls_context(t);
    security.tls_client_policy = client_policy(security.tls.get());
    return security;
}

// A reload that stopped trusting a client's CA left that client's kept-alive connection
// served for as long as it kept it alive.
TEST(PortTls, KeptAliveConnectionsEndWhenAReloadChangesTheClientCa) {
    const auto& certs = test::test_certs();
    metrics::MetricStore store;
    prometheus::Registry registry;
    std::atomic<int> reloads{0};
    testing_support::TestApi server_api(store, registry, counting_reload(reloads));
    ApiServer& server = server_api.server;
    server.set_security(verified_by(certs.ca_crt));
    server.start("127.0.0.1:0");
    TlsClient client(server.port(), certs.client_crt, certs.client_key);
    ASSERT_TRUE(client.connected());
    EXPECT_EQ(client.get_healthz(), 200);
    // The same trust, reloaded (a context built anew, as every reload does): kept.
    server.set_security(verified_by(certs.ca_crt));
    EXPECT_EQ(client.get_healthz(), 200);
    // Another CA: the connection admitted under the old one ends, and a new one fails.
    server.set_security(verified_by(certs.other_crt));
    EXPECT_EQ(client.get_healthz(), 0);
    TlsClient again(server.port(), certs.client_crt, certs.client_key);
    EXPECT_TRUE(!again.connected() || again.get_healthz() == 0);
}

}  // namespace
}  // namespace cargomon::web
