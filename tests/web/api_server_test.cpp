#include "web/api_server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/net.h"
#include "common/process.h"
#include "exporters/exposition.h"
#include "tests/support/tools.h"
#include "tests/web/test_api.h"
#include "tests/web/inflate.h"

namespace cargomon::web {
namespace {

using testing_support::gunzip;
using testing_support::TestApi;

const DaemonStatus kStatus{.version = "9.9.9", .ready = true, .config_file = "/etc/cargomon.yml", .series = 60};

const SystemTime t0{std::chrono::seconds{1'800'000'000}};

std::string store_text(const metrics::MetricStore& store, metrics::Format format) {
    return exporters::Exposition({}, store.view(), format).str();
}

metrics::Snapshot workflow_snapshot(int workflows) {
    using metrics::Family, metrics::MetricType;
    Family runs{.name = "cargo_workflow_runs", .help = "Runs of a workflow in the window, by status.",
                .type = MetricType::gauge};
    Family failed{.name = "cargo_batch_failed_runs_total", .help = "Failed runs of a batch \"so far\".\nPer workflow.",
                  .type = MetricType::counter};
    for (int i = 0; i < workflows; ++i) {
        std::string uuid = "0b6f5c1e-" + std::to_string(1000 + i);
        std::string name = "Enrich \"leads\" \\ batch " + std::to_string(i);
        for (const char* status : {"success", "error", "running"})
            runs.samples.push_back({{{"workflow_uuid", uuid}, {"workflow_name", name}, {"status", status}, {"window", "1h"}},
                                    static_cast<double>(i % 7)});
        failed.samples.push_back({{{"workflow_uuid", uuid}, {"workflow_name", name}}, i * 0.5});
    }
    return metrics::Snapshot{{runs, failed}};
}

class ApiServerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        store_ = new metrics::MetricStore;
        registry_ = new prometheus::Registry;
        prometheus::BuildGauge().Name("cargomon_build_info").Help("Build of cargomon.").Register(*registry_)
            .Add({{"version", "0.1.0"}, {"revision", "abc"}}).Set(1);
        auto& histogram = prometheus::BuildHistogram().Name("cargomon_collect_duration_seconds")
                              .Help("Collection time.").Register(*registry_)
                              .Add({{"collector", "workflows"}}, prometheus::Histogram::BucketBoundaries{0.1, 1, 10});
        histogram.Observe(0.5);
        store_->publish("workflows", workflow_snapshot(20), t0);
        api_ = new TestApi(
            *store_, *registry_,
            [] {
                std::lock_guard lock(reload_mu_);
                return reload_error_;
            },
            ServerOptions{.enable_lifecycle = true});
        api_->set_status(kStatus);
        server_ = &api_->server;
        server_->add_route(Access::read, "GET", "/api/v1/extra",
                           [](const Request&, Response& res) { res.set_content("extra", "text/plain"); });
        server_->add_route(Access::read, "GET", "/api/v1/broken",
                           [](const Request&, Response&) { throw std::runtime_error("boom"); });
        server_->start("127.0.0.1:0");
    }
    static void TearDownTestSuite() {
        delete api_;
        delete registry_;
        delete store_;
    }

    static void set_reload_error(std::optional<std::string> error) {
        std::lock_guard lock(reload_mu_);
        reload_error_ = std::move(error);
    }

    httplib::Client client() const {
        httplib::Client c("127.0.0.1", server_->port());
        c.set_decompress(false);
        return c;
    }

    // GET `path`, expected to answer 200 with `content_type`: the response (an empty one,
    // the failure reported, when there was no answer).
    httplib::Response get_ok(const std::string& path, const std::string& content_type,
                             const httplib::Headers& headers = {}) const {
        auto res = client().Get(path, headers);
        if (!res) {
            ADD_FAILURE() << "GET " << path << ": no answer";
            return {};
        }
        EXPECT_EQ(res->status, 200) << path;
        EXPECT_EQ(res->get_header_value("Content-Type"), content_type) << path;
        return *res;
    }

    static metrics::MetricStore* store_;
    static prometheus::Registry* registry_;
    static TestApi* api_;
    static ApiServer* server_;  // api_'s
    static std::mutex reload_mu_;
    static std::optional<std::string> reload_error_;
};

metrics::MetricStore* ApiServerTest::store_ = nullptr;
prometheus::Registry* ApiServerTest::registry_ = nullptr;
TestApi* ApiServerTest::api_ = nullptr;
ApiServer* ApiServerTest::server_ = nullptr;
std::mutex ApiServerTest::reload_mu_;
std::optional<std::string> ApiServerTest::reload_error_;

TEST_F(ApiServerTest, Healthz) {
    auto res = client().Get("/healthz");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "OK");
}

TEST_F(ApiServerTest, ReadyzFollowsTheReadinessFlag) {
    auto c = client();
    EXPECT_EQ(c.Get("/readyz")->status, 503);
    server_->set_ready(true);
    EXPECT_EQ(c.Get("/readyz")->status, 200);
    server_->set_ready(false);
    EXPECT_EQ(c.Get("/readyz")->status, 503);
}

TEST_F(ApiServerTest, StatusComesFromTheStatusSource) {
    EXPECT_EQ(get_ok("/api/v1/status", "application/json").body, status_answer(kStatus));
}

TEST_F(ApiServerTest, ReloadReportsSuccessAndFailure) {
    auto c = client();
    set_reload_error(std::nullopt);
    auto ok = c.Post("/-/reload");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    set_reload_error("rules.yml:3:5: unknown field \"exprr\"");
    auto failed = c.Post("/-/reload");
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->status, 500);
    EXPECT_EQ(failed->body, "reload failed: rules.yml:3:5: unknown field \"exprr\"\n");
    set_reload_error(std::nullopt);
}

TEST_F(ApiServerTest, WrongMethodIs405AndUnknownPathIs404) {
    auto c = client();
    auto get_reload = c.Get("/-/reload");
    ASSERT_TRUE(get_reload);
    EXPECT_EQ(get_reload->status, 405);
    EXPECT_EQ(get_reload->get_header_value("Allow"), "POST");
    auto post_metrics = c.Post("/metrics");
    ASSERT_TRUE(post_metrics);
    EXPECT_EQ(post_metrics->status, 405);
    EXPECT_EQ(post_metrics->get_header_value("Allow"), "GET");
    auto missing = c.Get("/nope");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(missing->body, "404 page not found\n");
    EXPECT_EQ(c.Get("/metrics/extra")->status, 404);
}

TEST_F(ApiServerTest, RootPageListsEveryEndpoint) {
    const httplib::Response res = get_ok("/", "text/html; charset=utf-8");
    for (const char* link : {"href=\"/metrics\"", "href=\"/healthz\"", "href=\"/readyz\"", "href=\"/api/v1/status\"",
                             "href=\"/api/v1/extra\"", "POST /-/reload"})
        EXPECT_NE(res.body.find(link), std::string::npos) << link;
}

TEST_F(ApiServerTest, AddedRoutesAreServedAndHandlerErrorsBecome500) {
    auto c = client();
    EXPECT_EQ(c.Get("/api/v1/extra")->body, "extra");
    auto broken = c.Get("/api/v1/broken");
    ASSERT_TRUE(broken);
    EXPECT_EQ(broken->status, 500);
    EXPECT_EQ(broken->body, "internal error\n");
    EXPECT_THROW(server_->add_route(Access::read, "GET", "/late", [](const Request&, Response&) {}), std::logic_error);
}

TEST_F(ApiServerTest, MetricsServeRegistryAndStoreInText) {
    client().Get("/healthz");
    // A request is counted once its answer is written, so the client can ask again (on
    // another connection) before: scrape until the count shows, or a hang's deadline.
    const std::string counted = "cargomon_http_requests_total{code=\"200\",handler=\"/healthz\"} ";
    httplib::Response res = get_ok("/metrics", "text/plain; version=0.0.4; charset=utf-8");
    for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
         res.body.find(counted) == std::string::npos && std::chrono::steady_clock::now() < until;)
        res = get_ok("/metrics", "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_FALSE(res.has_header("Content-Encoding"));
    EXPECT_NE(res.body.find("cargomon_build_info{revision=\"abc\",version=\"0.1.0\"} 1\n"), std::string::npos);
    EXPECT_NE(res.body.find(counted), std::string::npos);
    EXPECT_TRUE(res.body.ends_with(store_text(*store_, metrics::Format::text)));
    EXPECT_EQ(res.body.find("# EOF"), std::string::npos);
}

TEST_F(ApiServerTest, MetricsInOpenMetricsWhenAsked) {
    httplib::Headers headers{{"Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"}};
    const httplib::Response res = get_ok("/metrics", "application/openmetrics-text; version=1.0.0; charset=utf-8", headers);
    EXPECT_NE(res.body.find("# TYPE cargo_batch_failed_runs counter\n"), std::string::npos);
    EXPECT_TRUE(res.body.ends_with(store_text(*store_, metrics::Format::openmetrics)));
}

TEST_F(ApiServerTest, MetricsGzipWhenAccepted) {
    auto res = client().Get("/metrics", {{"Accept-Encoding", "gzip, deflate"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->get_header_value("Content-Encoding"), "gzip");
    auto body = gunzip(res->body);
    EXPECT_TRUE(body.starts_with("# HELP "));
    EXPECT_TRUE(body.ends_with(store_text(*store_, metrics::Format::text)));
}

// The store part is rendered and compressed once per change: a scrape after a publish
// must show the new snapshot, in both formats, compressed or not.
TEST(ApiServer, ScrapesFollowEveryPublishInEveryFormat) {
    metrics::MetricStore store;
    prometheus::Registry registry;
    TestApi api(store, registry);
    ApiServer& server = api.server;
    server.start("127.0.0.1:0");
    httplib::Client c("127.0.0.1", server.port());
    c.set_decompress(false);
    for (int generation = 1; generation <= 3; ++generation) {
        store.publish("workflows", workflow_snapshot(generation * 5), t0);
        const auto text = store_text(store, metrics::Format::text);
        const auto om = store_text(store, metrics::Format::openmetrics);
        for (int again = 0; again < 2; ++again) {  // the second scrape of a generation is served from the cache
            EXPECT_TRUE(gunzip(c.Get("/metrics", {{"Accept-Encoding", "gzip"}})->body).ends_with(text)) << generation;
            EXPECT_TRUE(c.Get("/metrics")->body.ends_with(text)) << generation;
            auto om_gzip = c.Get("/metrics", {{"Accept-Encoding", "gzip"}, {"Accept", "application/openmetrics-text"}});
            EXPECT_TRUE(gunzip(om_gzip->body).ends_with(om)) << generation;
            auto registry_part = gunzip(om_gzip->body);
            EXPECT_NE(registry_part.find("cargomon_http_requests_total"), std::string::npos);
            EXPECT_EQ(registry_part.find("# EOF"), registry_part.size() - 6) << "one # EOF, at the end";
        }
    }
}

// Runs promtool's linter over a real scrape: it prints nothing for a clean exposition.
TEST_F(ApiServerTest, PromtoolFindsNothingToCriticise) {
    CARGOMON_REQUIRE_TOOL(!find_executable("promtool").empty(), "promtool");
    auto res = client().Get("/metrics");
    ASSERT_TRUE(res);
    char path[] = "/tmp/cargomon-scrape-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, res->body.data(), res->body.size()), static_cast<ssize_t>(res->body.size()));
    close(fd);
    std::string command = "promtool check metrics < " + std::string(path) + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buf[4096];
    while (auto n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
    int status = pclose(pipe);
    unlink(path);
    EXPECT_EQ(output, "");
    EXPECT_EQ(status, 0);
}

// The daemon's routes on an empty store and registry, listening on `address`.
struct BareServer {
    explicit BareServer(const std::string& address) { server.start(address); }
    metrics::MetricStore store;
    prometheus::Registry registry;
    TestApi api{store, registry};
    ApiServer& server = api.server;
};

// The scheduler publishes a run's snapshot before it sets the run's success in the
// self-metrics, so a scrape that reads the self-metrics first holds the data of every
// success it shows (a test waiting for a collector's success, or an alert on its age,
// never sees the success without the data). A thread plays the scheduler: publish
// generation n, then set the gauge to n.
TEST(ApiServer, AScrapeHoldsTheDataOfEverySuccessItShows) {
    BareServer bare("127.0.0.1:0");
    auto& succeeded = prometheus::BuildGauge()
                          .Name("cargomon_test_last_success_generation")
                          .Help("The last generation published.")
                          .Register(bare.registry)
                          .Add({});
    std::atomic<bool> stop{false};
    std::thread publisher([&] {
        for (int n = 1; !stop; ++n) {
            metrics::Family f{.name = "cargo_test_generation", .help = "The generation of this snapshot.",
                              .type = metrics::MetricType::gauge};
            f.samples.push_back({{}, static_cast<double>(n)});
            bare.store.publish("generation", metrics::Snapshot{{f}}, t0);
            succeeded.Set(n);
        }
    });
    auto value = [](const std::string& body, const std::string& name) {
        const auto at = body.find("\n" + name + " ");
        return at == std::string::npos ? -1.0 : std::stod(body.substr(at + name.size() + 2));
    };
    httplib::Client c("127.0.0.1", bare.server.port());
    int behind = 0;
    for (int i = 0; i < 300; ++i) {
        const auto res = c.Get("/metrics");
        ASSERT_TRUE(res);
        const double shown = value(res->body, "cargomon_test_last_success_generation");
        const double data = value(res->body, "cargo_test_generation");
        if (shown > 0 && data < shown) ++behind;
    }
    stop = true;
    publisher.join();
    EXPECT_EQ(behind, 0) << "scrapes whose data was older than the success they showed";
}

// web/routes.cpp registers every route of the daemon, in this order, each at its access
// level: with neither --web.enable-lifecycle nor --web.enable-admin-api, the writes are
// refused for their flag and every read answers.
TEST(ApiServerRoutes, EveryRouteIsRegisteredOnceAtItsAccessLevel) {
    BareServer bare("127.0.0.1:0");
    std::vector<std::string> routes;
    for (const auto& r : bare.server.routes()) routes.push_back(r.method + " " + r.pattern);
    EXPECT_EQ(routes, (std::vector<std::string>{
                          "GET /", "GET /static/status.js", "GET /static/status.css", "GET /static/favicon.svg",
                          "GET /metrics", "GET /healthz", "GET /readyz", "GET /api/v1/status",
                          "POST /-/reload", "GET /api/v1/alerts", "GET /api/v1/rules", "GET /api/v1/silences",
                          "POST /api/v1/silences", "DELETE /api/v1/silences/:id", "GET /api/v1/actions",
                          "GET /api/v1/query", "POST /api/v1/query", "GET /api/v1/query_range",
                          "POST /api/v1/query_range", "GET /api/v1/series", "POST /api/v1/series", "GET /api/v1/labels",
                          "POST /api/v1/labels", "GET /api/v1/label/:name/values", "GET /api/v1/metadata",
                          "GET /api/v1/status/buildinfo"}));
    httplib::Client c("127.0.0.1", bare.server.port());
    for (const char* path : {"/", "/metrics", "/healthz", "/api/v1/status", "/api/v1/alerts", "/api/v1/rules",
                             "/api/v1/silences", "/api/v1/actions"})
        EXPECT_EQ(c.Get(path)->status, 200) << path;
    EXPECT_EQ(c.Get("/readyz")->status, 503);  // the server was never set ready
    auto refused_for = [](const httplib::Result& res) {
        return res && res->status == 403 ? res->body : "not refused: " + std::to_string(res ? res->status : 0);
    };
    EXPECT_NE(refused_for(c.Post("/-/reload")).find("--web.enable-lifecycle"), std::string::npos);
    EXPECT_NE(refused_for(c.Post("/api/v1/silences", "{}", "application/json")).find("--web.enable-admin-api"),
              std::string::npos);
    EXPECT_NE(refused_for(c.Delete("/api/v1/silences/x")).find("--web.enable-admin-api"), std::string::npos);
}

TEST(ApiServer, RejectsBadAddresses) {
    prometheus::Registry registry;
    ApiServer server(registry);
    EXPECT_THROW(server.start("9464"), std::invalid_argument);
    EXPECT_THROW(server.start("127.0.0.1:99999"), std::invalid_argument);
    EXPECT_THROW(server.start("::1:9464"), std::invalid_argument);
}

TEST(ApiServer, PortInUseIsAnError) {
    prometheus::Registry first_registry, second_registry;
    ApiServer first(first_registry);
    first.start("127.0.0.1:0");
    ApiServer second(second_registry);
    try {
        second.start("127.0.0.1:" + std::to_string(first.port()));
        FAIL() << "bound a port already in use";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(std::to_string(first.port())), std::string::npos) << e.what();
    }
}

TEST(ApiServer, ListensOnAGivenPortAndOnIpv6Loopback) {
    int port = free_loopback_port();
    {
        BareServer given("127.0.0.1:" + std::to_string(port));
        EXPECT_EQ(given.server.port(), port);
        EXPECT_EQ(httplib::Client("127.0.0.1", port).Get("/healthz")->status, 200);
    }
    // Only a machine without IPv6 loopback may skip, proven by a plain bind of our own.
    int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 loopback{};
    loopback.sin6_family = AF_INET6;
    loopback.sin6_addr = in6addr_loopback;
    bool has_ipv6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback) == 0;
    if (probe >= 0) ::close(probe);
    if (!has_ipv6) GTEST_SKIP() << "this machine has no IPv6 loopback";
    BareServer ipv6("[::1]:0");
    auto res = httplib::Client("::1", ipv6.server.port()).Get("/healthz");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
}

TEST(ApiServer, EmptyStoreAndRegistryGiveAnEmptyScrape) {
    BareServer bare("127.0.0.1:0");
    httplib::Client c("127.0.0.1", bare.server.port());
    auto res = c.Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "");
    auto om = c.Get("/metrics", {{"Accept", "application/openmetrics-text"}});
    ASSERT_TRUE(om);
    EXPECT_TRUE(om->body.ends_with("# EOF\n"));
}

TEST(ApiServer, StopsWithAnIdleKeepAliveConnectionOpen) {
    BareServer bare("127.0.0.1:0");
    ApiServer& server = bare.server;
    httplib::Client c("127.0.0.1", server.port());
    c.set_keep_alive(true);
    ASSERT_EQ(c.Get("/healthz")->status, 200);
    auto begin = std::chrono::steady_clock::now();
    server.stop();
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    RecordProperty("stop_seconds", std::to_string(took));
    // An idle keep-alive connection is dropped at once, not when its idle timeout ends.
    EXPECT_LT(took, 1.0);
    EXPECT_FALSE(httplib::Client("127.0.0.1", server.port()).Get("/healthz"));  // nobody listens any more
    server.stop();  // idempotent
}

}  // namespace
}  // namespace cargomon::web
