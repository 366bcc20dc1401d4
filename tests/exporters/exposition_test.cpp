#include "exporters/exposition.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cmath>
#include <limits>

namespace cargomon::exporters {
namespace {

using namespace cargomon::metrics;

const SystemTime t0{std::chrono::seconds{1'800'000'000}};
constexpr double inf = std::numeric_limits<double>::infinity();

std::string expose(const std::vector<prometheus::MetricFamily>& registry, std::shared_ptr<const StoreView> store,
                   Format format) {
    return Exposition(registry, std::move(store), format).str();
}

std::shared_ptr<const StoreView> populated_store(MetricStore& store) {
    Family weird{.name = "cargo_weird", .help = "Line one\nback\\slash \"quoted\"", .type = MetricType::gauge};
    weird.samples = {
        {{{"path", "a\"b\\c\nd"}}, 0.25},  {{{"k", "inf"}}, inf},       {{{"k", "minus_inf"}}, -inf},
        {{{"k", "nan"}}, std::nan("")},    {{{"k", "big"}}, 1e6},       {{{"k", "huge"}}, 1e20},
        {{{"k", "tiny"}}, 1.5e-7},         {{{"k", "neg"}}, -3},
    };
    Family runs{.name = "cargo_runs_total", .help = "Runs.", .type = MetricType::counter,
                .samples = {{{{"status", "ok"}}, 12}}};
    store.publish("c", Snapshot{{weird, runs}}, t0);
    return store.view();
}

// populated_store's cargo_weird samples, written alike in both formats: label values
// escaped, special values as Prometheus writes them.
const std::string kWeirdSamples =
    "cargo_weird{path=\"a\\\"b\\\\c\\nd\"} 0.25\n"
    "cargo_weird{k=\"inf\"} +Inf\n"
    "cargo_weird{k=\"minus_inf\"} -Inf\n"
    "cargo_weird{k=\"nan\"} NaN\n"
    "cargo_weird{k=\"big\"} 1000000\n"
    "cargo_weird{k=\"huge\"} 1e+20\n"
    "cargo_weird{k=\"tiny\"} 1.5e-07\n"
    "cargo_weird{k=\"neg\"} -3\n";

TEST(Exposition, StoreInTextFormat) {
    MetricStore store;
    EXPECT_EQ(expose({}, populated_store(store), Format::text),
              "# HELP cargo_runs_total Runs.\n"
              "# TYPE cargo_runs_total counter\n"
              "cargo_runs_total{status=\"ok\"} 12\n"
              "# HELP cargo_weird Line one\\nback\\\\slash \"quoted\"\n"
              "# TYPE cargo_weird gauge\n" +
                  kWeirdSamples);
}

TEST(Exposition, StoreInOpenMetrics) {
    MetricStore store;
    EXPECT_EQ(expose({}, populated_store(store), Format::openmetrics),
              "# HELP cargo_runs Runs.\n"
              "# TYPE cargo_runs counter\n"
              "cargo_runs_total{status=\"ok\"} 12\n"
              "# HELP cargo_weird Line one\\nback\\\\slash \\\"quoted\\\"\n"
              "# TYPE cargo_weird gauge\n" +
                  kWeirdSamples + "# EOF\n");
}

std::vector<prometheus::MetricFamily> registry_families() {
    prometheus::Registry registry;
    prometheus::BuildCounter().Name("cargomon_scrapes_total").Help("Scrapes.").Register(registry)
        .Add({{"handler", "/metrics"}}).Increment(3);
    prometheus::BuildGauge().Name("cargomon_up").Register(registry).Add({}).Set(1);
    auto& histogram = prometheus::BuildHistogram()
                          .Name("cargomon_scrape_duration_seconds")
                          .Help("Scrape time.")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{0.1, 1});
    histogram.Observe(0.05);
    histogram.Observe(2);
    return registry.Collect();
}

TEST(Exposition, RegistryInTextFormat) {
    EXPECT_EQ(expose(registry_families(), std::make_shared<StoreView>(), Format::text),
              "# HELP cargomon_scrapes_total Scrapes.\n"
              "# TYPE cargomon_scrapes_total counter\n"
              "cargomon_scrapes_total{handler=\"/metrics\"} 3\n"
              "# TYPE cargomon_up gauge\n"
              "cargomon_up 1\n"
              "# HELP cargomon_scrape_duration_seconds Scrape time.\n"
              "# TYPE cargomon_scrape_duration_seconds histogram\n"
              "cargomon_scrape_duration_seconds_bucket{le=\"0.1\"} 1\n"
              "cargomon_scrape_duration_seconds_bucket{le=\"1\"} 1\n"
              "cargomon_scrape_duration_seconds_bucket{le=\"+Inf\"} 2\n"
              "cargomon_scrape_duration_seconds_sum 2.05\n"
              "cargomon_scrape_duration_seconds_count 2\n");
}

TEST(Exposition, RegistryInOpenMetrics) {
    EXPECT_EQ(expose(registry_families(), std::make_shared<StoreView>(), Format::openmetrics),
              "# HELP cargomon_scrapes Scrapes.\n"
              "# TYPE cargomon_scrapes counter\n"
              "cargomon_scrapes_total{handler=\"/metrics\"} 3\n"
              "# TYPE cargomon_up gauge\n"
              "cargomon_up 1\n"
              "# HELP cargomon_scrape_duration_seconds Scrape time.\n"
              "# TYPE cargomon_scrape_duration_seconds histogram\n"
              "cargomon_scrape_duration_seconds_bucket{le=\"0.1\"} 1\n"
              "cargomon_scrape_duration_seconds_bucket{le=\"1.0\"} 1\n"
              "cargomon_scrape_duration_seconds_bucket{le=\"+Inf\"} 2\n"
              "cargomon_scrape_duration_seconds_sum 2.05\n"
              "cargomon_scrape_duration_seconds_count 2\n"
              "# EOF\n");
}

TEST(Exposition, RegistryCounterWithoutTotalGetsItInOpenMetricsOnly) {
    prometheus::Registry registry;
    prometheus::BuildCounter().Name("legacy_events").Register(registry).Add({}).Increment();
    EXPECT_EQ(expose(registry.Collect(), std::make_shared<StoreView>(), Format::text), "# TYPE legacy_events counter\nlegacy_events 1\n");
    EXPECT_EQ(expose(registry.Collect(), std::make_shared<StoreView>(), Format::openmetrics),
              "# TYPE legacy_events counter\nlegacy_events_total 1\n# EOF\n");
}

TEST(Exposition, RegistryAndStoreInOneAnswerAndEmptyFamiliesSkipped) {
    MetricStore store;
    store.publish("c", Snapshot{{Family{.name = "cargo_empty"}, Family{.name = "cargo_one", .samples = {{{}, 1}}}}}, t0);
    prometheus::Registry registry;
    prometheus::BuildGauge().Name("cargomon_up").Register(registry).Add({}).Set(1);
    prometheus::BuildGauge().Name("cargomon_nothing").Register(registry);
    EXPECT_EQ(expose(registry.Collect(), store.view(), Format::text),
              "# TYPE cargomon_up gauge\ncargomon_up 1\n# TYPE cargo_one gauge\ncargo_one 1\n");
}

TEST(Exposition, NegotiatesTheFormatFromAccept) {
    EXPECT_EQ(negotiate_format(""), Format::text);
    EXPECT_EQ(negotiate_format("application/openmetrics-text; version=1.0.0"), Format::openmetrics);
    EXPECT_EQ(negotiate_format("APPLICATION/OpenMetrics-Text"), Format::openmetrics);
    // What Prometheus 2.42 sends.
    EXPECT_EQ(negotiate_format("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                               "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
              Format::openmetrics);
    EXPECT_EQ(negotiate_format("application/openmetrics-text; version=0.0.1"), Format::text);
    EXPECT_EQ(negotiate_format("text/plain;version=0.0.4;q=0.9, application/openmetrics-text;q=0.5"), Format::text);
    EXPECT_EQ(negotiate_format("application/openmetrics-text;q=0"), Format::text);
    EXPECT_EQ(negotiate_format("application/openmetrics-text;q=zero"), Format::text);
    EXPECT_EQ(negotiate_format("application/json"), Format::text);
    EXPECT_EQ(negotiate_format("*/*;q=0.2, application/openmetrics-text;q=0.3"), Format::openmetrics);
    EXPECT_EQ(content_type(Format::text), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(content_type(Format::openmetrics), "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

}  // namespace
}  // namespace cargomon::exporters

namespace cargomon::exporters {
namespace {

using namespace cargomon::metrics;

// A summary published by a collector: its quantiles, _sum and _count under one TYPE line,
// in the store's order; the same in prometheus-cpp's form (Collect) for the web pages.
TEST(Exposition, StoreSummaryInBothFormatsAndCollected) {
    MetricStore store;
    Family durations{.name = "cargo_run_duration_seconds", .help = "Run seconds.", .type = MetricType::summary};
    for (const char* wf : {"a", "b"}) {
        durations.samples.push_back({{{"wf", wf}, {"quantile", "0.5"}}, 2});
        durations.samples.push_back({{{"wf", wf}, {"quantile", "0.99"}}, 9});
        durations.samples.push_back({{{"wf", wf}}, 30, SamplePart::sum});
        durations.samples.push_back({{{"wf", wf}}, 7, SamplePart::count});
    }
    store.publish("c", Snapshot{{durations}}, t0);
    const std::string samples =
        "cargo_run_duration_seconds{quantile=\"0.5\",wf=\"a\"} 2\n"
        "cargo_run_duration_seconds{quantile=\"0.99\",wf=\"a\"} 9\n"
        "cargo_run_duration_seconds_sum{wf=\"a\"} 30\n"
        "cargo_run_duration_seconds_count{wf=\"a\"} 7\n"
        "cargo_run_duration_seconds{quantile=\"0.5\",wf=\"b\"} 2\n"
        "cargo_run_duration_seconds{quantile=\"0.99\",wf=\"b\"} 9\n"
        "cargo_run_duration_seconds_sum{wf=\"b\"} 30\n"
        "cargo_run_duration_seconds_count{wf=\"b\"} 7\n";
    EXPECT_EQ(expose({}, store.view(), Format::text),
              "# HELP cargo_run_duration_seconds Run seconds.\n# TYPE cargo_run_duration_seconds summary\n" + samples);
    EXPECT_EQ(expose({}, store.view(), Format::openmetrics),
              "# HELP cargo_run_duration_seconds Run seconds.\n# TYPE cargo_run_duration_seconds summary\n" + samples +
                  "# EOF\n");
    const auto collected = store.Collect();
    ASSERT_EQ(collected.size(), 1u);
    EXPECT_EQ(collected[0].type, prometheus::MetricType::Summary);
    ASSERT_EQ(collected[0].metric.size(), 2u);
    EXPECT_EQ(collected[0].metric[1].label.at(0).value, "b");
    EXPECT_EQ(collected[0].metric[1].summary.sample_count, 7u);
    EXPECT_EQ(collected[0].metric[1].summary.sample_sum, 30);
    ASSERT_EQ(collected[0].metric[1].summary.quantile.size(), 2u);
    EXPECT_EQ(collected[0].metric[1].summary.quantile[1].quantile, 0.99);
    EXPECT_EQ(collected[0].metric[1].summary.quantile[1].value, 9);
}

TEST(Exposition, AStoreRefusesSummaryPartsOutOfPlace) {
    MetricStore store;
    auto refused = [&](Family family, const std::string& why) {
        try {
            store.publish("c", Snapshot{{std::move(family)}}, t0);
            ADD_FAILURE() << "published: " << why;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
        }
    };
    refused({.name = "g", .help = "", .type = MetricType::gauge, .samples = {{{}, 1, SamplePart::sum}}},
            "_sum and _count samples belong to a summary");
    refused({.name = "s", .help = "", .type = MetricType::summary, .samples = {{{}, 1}}},
            "quantile samples, and only they");
    refused({.name = "s", .help = "", .type = MetricType::summary, .samples = {{{{"quantile", "0.5"}}, 1, SamplePart::count}}},
            "quantile samples, and only they");
    refused({.name = "s", .help = "", .type = MetricType::summary, .samples = {{{}, 1, SamplePart::sum}, {{}, 2, SamplePart::sum}}},
            "duplicate series _sum");
    // The same labels in different parts are different series.
    EXPECT_NO_THROW(store.publish(
        "c", Snapshot{{{.name = "s", .help = "", .type = MetricType::summary,
                        .samples = {{{}, 1, SamplePart::sum}, {{}, 2, SamplePart::count}}}}}, t0));
}

}  // namespace
}  // namespace cargomon::exporters
