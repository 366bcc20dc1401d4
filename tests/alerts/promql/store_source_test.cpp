// StoreSource over a real MetricStore (several collectors) and a real prometheus-cpp Registry.
#include "alerts/promql/store_source.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>

#include "promql_fixture.h"

namespace cargomon::alerts::promql {
namespace {

using namespace testing;
using Texts = std::multiset<std::string>;

Texts eval(const std::string& expr, const StoreSource& source) {
    auto result = evaluate_checked(*parse_expr(expr), source, source.at_ms());
    EXPECT_EQ(result.error, "");
    return vector_text(std::get<Vector>(result.value));
}

TEST(StoreSource, MergesSameNamedFamiliesOfAllCollectors) {
    metrics::MetricStore store;
    store.publish("workflows", SeriesBuilder().add("cargo_workflow_runs", {{"workflow_uuid", "w1"}}, 3).snapshot(), SystemTime{});
    store.publish("batches",
                  SeriesBuilder()
                      .add("cargo_workflow_runs", {{"workflow_uuid", "w2"}}, 4)
                      .add("cargo_batch_failed_runs_total", {{"workflow_uuid", "w2"}}, 1)
                      .snapshot(),
                  SystemTime{});
    StoreSource source(store.view(), {}, 0);
    EXPECT_EQ(eval("cargo_workflow_runs", source),
              (Texts{"cargo_workflow_runs{workflow_uuid=\"w1\"} 3", "cargo_workflow_runs{workflow_uuid=\"w2\"} 4"}));
    EXPECT_EQ(eval("sum(cargo_workflow_runs)", source), (Texts{"{} 7"}));
    EXPECT_EQ(eval("cargo_batch_failed_runs_total", source),
              (Texts{"cargo_batch_failed_runs_total{workflow_uuid=\"w2\"} 1"}));
    EXPECT_EQ(eval("{__name__=~\"cargo_.*\", workflow_uuid=\"w2\"}", source).size(), 2u);
    EXPECT_EQ(eval("cargo_missing", source), Texts{});
}

TEST(StoreSource, ReadsTheViewItWasGivenNotLaterPublications) {
    metrics::MetricStore store;
    store.publish("workflows", SeriesBuilder().add("cargo_workflow_runs", {}, 1).snapshot(), SystemTime{});
    StoreSource source(store.view(), {}, 0);
    store.publish("workflows", SeriesBuilder().add("cargo_workflow_runs", {}, 2).snapshot(), SystemTime{});
    EXPECT_EQ(eval("cargo_workflow_runs", source), (Texts{"cargo_workflow_runs{} 1"}));
}

TEST(StoreSource, ExposesSelfMetricsAsAScrapeWould) {
    prometheus::Registry registry;
    prometheus::BuildCounter().Name("cargomon_collections_total").Help("h").Register(registry)
        .Add({{"collector", "runs"}}).Increment(5);
    prometheus::BuildGauge().Name("cargomon_up").Help("h").Register(registry).Add({}).Set(1);
    auto& histogram = prometheus::BuildHistogram().Name("cargomon_collect_seconds").Help("h").Register(registry)
                          .Add({{"collector", "runs"}}, prometheus::Histogram::BucketBoundaries{0.5, 1});
    histogram.Observe(0.25);
    histogram.Observe(2);
    auto& summary = prometheus::BuildSummary().Name("cargomon_eval_seconds").Help("h").Register(registry)
                        .Add({}, prometheus::Summary::Quantiles{{0.5, 0.05}});
    summary.Observe(3);

    metrics::MetricStore store;
    store.publish("workflows", SeriesBuilder().add("cargo_workflow_runs", {}, 1).snapshot(), SystemTime{});
    StoreSource source(store.view(), registry.Collect(), 0);

    EXPECT_EQ(eval("cargomon_collections_total", source), (Texts{"cargomon_collections_total{collector=\"runs\"} 5"}));
    EXPECT_EQ(eval("cargomon_up == 1", source), (Texts{"cargomon_up{} 1"}));
    EXPECT_EQ(eval("cargomon_collect_seconds_bucket", source),
              (Texts{"cargomon_collect_seconds_bucket{collector=\"runs\", le=\"0.5\"} 1",
                     "cargomon_collect_seconds_bucket{collector=\"runs\", le=\"1\"} 1",
                     "cargomon_collect_seconds_bucket{collector=\"runs\", le=\"+Inf\"} 2"}));
    EXPECT_EQ(eval("cargomon_collect_seconds_sum", source), (Texts{"cargomon_collect_seconds_sum{collector=\"runs\"} 2.25"}));
    EXPECT_EQ(eval("cargomon_collect_seconds_count", source), (Texts{"cargomon_collect_seconds_count{collector=\"runs\"} 2"}));
    EXPECT_EQ(eval("cargomon_eval_seconds", source), (Texts{"cargomon_eval_seconds{quantile=\"0.5\"} 3"}));
    EXPECT_EQ(eval("cargomon_eval_seconds_count", source), (Texts{"cargomon_eval_seconds_count{} 1"}));
    EXPECT_EQ(eval("cargo_workflow_runs + on() cargomon_up", source), (Texts{"{} 2"}));

    std::set<std::string> names;
    source.select({std::get<metrics::Matcher>(metrics::parse_matcher("__name__=~\".+\""))}, 0, 0,
                  [&](std::string_view name, const metrics::Labels&, std::span<const Sample> samples) {
                      EXPECT_EQ(samples.size(), 1u);
                      names.emplace(name);
                  });
    EXPECT_EQ(names, (std::set<std::string>{"cargo_workflow_runs", "cargomon_collect_seconds_bucket",
                                               "cargomon_collect_seconds_count", "cargomon_collect_seconds_sum",
                                               "cargomon_collections_total", "cargomon_eval_seconds",
                                               "cargomon_eval_seconds_count", "cargomon_eval_seconds_sum",
                                               "cargomon_up"}));
}

}  // namespace
}  // namespace cargomon::alerts::promql
