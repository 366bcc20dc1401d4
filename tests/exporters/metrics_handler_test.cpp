#include "exporters/metrics_handler.h"

#include <gtest/gtest.h>
#include <prometheus/gauge.h>

#include "tests/web/inflate.h"

// The handler called directly; over HTTP, with authentication and the route table, in
// tests/web/api_server_test.cpp.
namespace cargomon::exporters {
namespace {

using web::testing_support::gunzip;

const SystemTime t0{std::chrono::seconds{1'800'000'000}};

metrics::Snapshot runs_snapshot(int workflows) {
    metrics::Family runs{.name = "cargo_workflow_runs", .help = "Runs of a workflow.",
                         .type = metrics::MetricType::gauge};
    for (int i = 0; i < workflows; ++i)
        runs.samples.push_back({{{"workflow_uuid", "wf-" + std::to_string(i)}}, 1.0 * i});
    return metrics::Snapshot{{runs}};
}

web::Response scrape(MetricsHandler& handler, std::vector<std::pair<std::string, std::string>> headers = {}) {
    web::Request req;
    req.method = "GET";
    req.headers = std::move(headers);
    web::Response res;
    handler.serve(req, res);
    return res;
}

std::string body_of(const web::Response& res) {
    std::string out = res.body;
    for (auto piece : res.pieces) out += piece;
    return out;
}

class MetricsHandlerTest : public testing::Test {
protected:
    MetricsHandlerTest() {
        prometheus::BuildGauge().Name("cargomon_up").Help("Up.").Register(registry_).Add({}).Set(1);
    }
    metrics::MetricStore store_;
    prometheus::Registry registry_;
    MetricsHandler handler_{store_, registry_};
};

TEST_F(MetricsHandlerTest, RegistryThenStoreInTheNegotiatedFormat) {
    store_.publish("workflows", runs_snapshot(3), t0);
    auto text = scrape(handler_);
    EXPECT_EQ(text.status, 200);
    EXPECT_EQ(text.body, "") << "plain answers are served as pieces, not copied into a body";
    EXPECT_EQ(body_of(text), Exposition(registry_.Collect(), store_.view(), metrics::Format::text).str());
    EXPECT_TRUE(text.owner) << "the pieces' owner keeps the rendering alive";
    auto om = scrape(handler_, {{"accept", "application/openmetrics-text; version=1.0.0"}});
    EXPECT_EQ(body_of(om), Exposition(registry_.Collect(), store_.view(), metrics::Format::openmetrics).str());
    bool typed = false, varies = false;
    for (const auto& [k, v] : om.headers) {
        typed = typed || (k == "Content-Type" && v == content_type(metrics::Format::openmetrics));
        varies = varies || (k == "Vary" && v == "Accept, Accept-Encoding");
    }
    EXPECT_TRUE(typed);
    EXPECT_TRUE(varies);
}

// The store part is rendered and compressed once per change: every scrape after a
// publish shows the new snapshot, in both formats, compressed or not.
TEST_F(MetricsHandlerTest, ScrapesFollowEveryPublishInEveryFormat) {
    for (int generation = 1; generation <= 3; ++generation) {
        store_.publish("workflows", runs_snapshot(generation * 5), t0);
        for (auto format : {metrics::Format::text, metrics::Format::openmetrics}) {
            const std::string accept(content_type(format));
            const auto want = Exposition(registry_.Collect(), store_.view(), format).str();
            for (int again = 0; again < 2; ++again) {  // the second is served from the cache
                EXPECT_EQ(body_of(scrape(handler_, {{"accept", accept}})), want) << generation;
                EXPECT_EQ(gunzip(scrape(handler_, {{"accept", accept}, {"accept-encoding", "gzip"}}).body), want)
                    << generation;
            }
        }
    }
}

// The cached rendering of one format must not keep a replaced view (every snapshot in
// it) alive once a scrape in the other format has rendered the new one.
TEST_F(MetricsHandlerTest, CacheLetsAReplacedViewGo) {
    store_.publish("workflows", runs_snapshot(5), t0);
    std::weak_ptr<const metrics::StoreView> first = store_.view();
    scrape(handler_);
    store_.publish("workflows", runs_snapshot(6), t0);
    EXPECT_FALSE(first.expired()) << "the text rendering holds it until a newer one is made";
    scrape(handler_, {{"accept", "application/openmetrics-text"}});
    EXPECT_TRUE(first.expired()) << "the OpenMetrics scrape of the new view left the old text rendering cached";
}

}  // namespace
}  // namespace cargomon::exporters
