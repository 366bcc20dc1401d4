#include "metrics/metric_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "exporters/exposition.h"

namespace cargomon::metrics {
namespace {

using namespace std::chrono_literals;

const SystemTime t0{std::chrono::seconds{1'800'000'000}};

std::string expose(const std::vector<prometheus::MetricFamily>& registry, std::shared_ptr<const StoreView> store,
                   Format format) {
    return exporters::Exposition(registry, std::move(store), format).str();
}

Snapshot runs(std::size_t workflows, double value = 1) {
    Family family{.name = "cargo_workflow_runs", .help = "Runs by status.", .type = MetricType::gauge};
    for (std::size_t i = 0; i < workflows; ++i)
        family.samples.push_back({{{"status", "success"}, {"workflow_uuid", "wf-" + std::to_string(i)}}, value});
    return Snapshot{{family}};
}

std::size_t samples_in(const StoreView& view) {
    std::size_t n = 0;
    for (const auto& family : view.families)
        for (const auto& part : family.parts) n += part.family->samples.size();
    return n;
}

std::size_t lines_starting_with(const std::string& text, std::string_view prefix) {
    std::size_t n = 0, pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (std::string_view(text).substr(pos, end - pos).starts_with(prefix)) ++n;
        pos = end == std::string::npos ? text.size() : end + 1;
    }
    return n;
}

TEST(MetricStore, PublishCountsSeriesPerCollector) {
    MetricStore store;
    store.publish("workflows", runs(3), t0);
    store.publish("batches", runs(0), t0);
    EXPECT_EQ(store.series_count(), 3u);
    EXPECT_EQ(store.series_count("workflows"), 3u);
    EXPECT_EQ(store.series_count("batches"), 0u);
    EXPECT_EQ(store.series_count("unknown"), 0u);
    ASSERT_EQ(store.view()->collectors.size(), 2u);
    EXPECT_EQ(store.view()->collectors[0]->collector, "batches");  // sorted by name
}

TEST(MetricStore, SeriesMissingFromANewSnapshotVanish) {
    MetricStore store;
    store.publish("workflows", runs(3), t0);
    auto before = store.view();
    store.publish("workflows", runs(1, 7), t0 + 10s);
    EXPECT_EQ(store.series_count(), 1u);
    auto text = expose({}, store.view(), Format::text);
    EXPECT_NE(text.find("cargo_workflow_runs{status=\"success\",workflow_uuid=\"wf-0\"} 7\n"), std::string::npos);
    EXPECT_EQ(text.find("wf-1"), std::string::npos);
    // A view taken earlier is immutable: it still holds the old snapshot.
    EXPECT_EQ(samples_in(*before), 3u);
}

TEST(MetricStore, PublishSortsLabelsByName) {
    MetricStore store;
    Family family{.name = "cargo_x", .type = MetricType::gauge};
    family.samples.push_back({{{"z", "1"}, {"a", "2"}, {"m", "3"}}, 1});
    store.publish("c", Snapshot{{family}}, t0);
    const auto& labels = store.view()->families.at(0).parts.at(0).family->samples.at(0).labels;
    EXPECT_EQ(labels, (Labels{{"a", "2"}, {"m", "3"}, {"z", "1"}}));
}

TEST(MetricStore, RemoveDropsOnlyThatCollector) {
    MetricStore store;
    store.publish("a", runs(2), t0);
    Snapshot other{{Family{.name = "cargo_y", .type = MetricType::gauge, .samples = {{{}, 1}}}}};
    store.publish("b", other, t0);
    store.remove("a");
    store.remove("never-published");
    EXPECT_EQ(store.series_count(), 1u);
    EXPECT_EQ(store.view()->families.size(), 1u);
    EXPECT_EQ(store.view()->families[0].name, "cargo_y");
}

TEST(MetricStore, ExpireDropsSnapshotsCollectedBeforeTheCutoff) {
    MetricStore store;
    store.publish("old", Snapshot{{Family{.name = "cargo_old", .samples = {{{}, 1}}}}}, t0);
    store.publish("fresh", Snapshot{{Family{.name = "cargo_fresh", .samples = {{{}, 1}}}}}, t0 + 60s);
    store.expire_older_than(t0 + 30s);
    EXPECT_EQ(store.series_count("old"), 0u);
    EXPECT_EQ(store.series_count("fresh"), 1u);
    store.expire_older_than(t0 + 60s);  // collected exactly at the cutoff: kept
    EXPECT_EQ(store.series_count("fresh"), 1u);
    auto text = expose({}, store.view(), Format::text);
    EXPECT_EQ(text.find("cargo_old"), std::string::npos);
}

// What the observer hears: each successful publish, and each collector that leaves,
// whether by remove() or by expire_older_than(); a refused publish and removing a
// collector that never published say nothing.
TEST(MetricStore, TellsItsObserverOfEveryChange) {
    struct Recorder : StoreObserver {
        std::vector<std::string> heard;
        void published(const CollectorSnapshot& s) override {
            heard.push_back("published " + s.collector + " " + std::to_string(s.series));
        }
        void removed(const std::string& collector) override { heard.push_back("removed " + collector); }
    } recorder;
    MetricStore store;
    store.set_observer(&recorder);
    store.publish("a", runs(2), t0);
    EXPECT_THROW(store.publish("a", Snapshot{{Family{.name = "bad name"}}}, t0), std::invalid_argument);
    store.publish("b", Snapshot{{Family{.name = "cargo_b", .samples = {{{}, 1}}}}}, t0 + 60s);
    store.remove("a");
    store.remove("never-published");
    store.expire_older_than(t0 + 120s);
    store.set_observer(nullptr);
    store.publish("c", runs(1), t0);
    EXPECT_EQ(recorder.heard,
              (std::vector<std::string>{"published a 2", "published b 1", "removed a", "removed b"}));
}

TEST(MetricStore, SameNameFamiliesOfTwoCollectorsMergeIntoOneBlock) {
    MetricStore store;
    auto family = [](std::string status, std::string help) {
        return Snapshot{{Family{.name = "cargo_batch_failed_runs", .help = help, .type = MetricType::gauge,
                                .samples = {{{{"status", status}}, 2}}}}};
    };
    store.publish("zeta", family("b", "help from zeta"), t0);
    store.publish("alpha", family("a", "help from alpha"), t0);
    auto text = expose({}, store.view(), Format::text);
    EXPECT_EQ(text,
              "# HELP cargo_batch_failed_runs help from alpha\n"
              "# TYPE cargo_batch_failed_runs gauge\n"
              "cargo_batch_failed_runs{status=\"a\"} 2\n"
              "cargo_batch_failed_runs{status=\"b\"} 2\n");
}

TEST(MetricStore, ConflictsWithAnotherCollectorAreRejectedAndChangeNothing) {
    MetricStore store;
    store.publish("a", runs(2), t0);
    try {
        store.publish("b", runs(1), t0);  // wf-0 is a's series
        FAIL() << "duplicate series accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("published by another collector"), std::string::npos) << e.what();
    }
    try {
        store.publish("c", Snapshot{{Family{.name = "cargo_workflow_runs_total", .type = MetricType::counter,
                                            .samples = {{{}, 1}}}}},
                      t0);
        store.publish("d", Snapshot{{Family{.name = "cargo_workflow_runs_total", .type = MetricType::gauge,
                                            .samples = {{{{"x", "1"}}, 1}}}}},
                      t0);
        FAIL() << "type clash accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("another type"), std::string::npos) << e.what();
    }
    EXPECT_EQ(store.series_count("b"), 0u);
    EXPECT_EQ(store.series_count("d"), 0u);
    EXPECT_EQ(store.series_count(), 3u);
    // A collector replaces its own series freely.
    store.publish("a", runs(2, 5), t0);
    EXPECT_EQ(store.series_count(), 3u);
}

struct BadSnapshot {
    std::string what;
    Family family;
    std::string expected_message;
};

void PrintTo(const BadSnapshot& bad, std::ostream* os) { *os << bad.what; }

class MetricStoreRejects : public testing::TestWithParam<BadSnapshot> {};

TEST_P(MetricStoreRejects, WithAClearMessage) {
    MetricStore store;
    store.publish("query", runs(1), t0);
    try {
        store.publish("query", Snapshot{{GetParam().family}}, t0 + 1s);
        FAIL() << "accepted " << GetParam().what;
    } catch (const std::invalid_argument& e) {
        std::string message = e.what();
        EXPECT_NE(message.find("collector \"query\""), std::string::npos) << message;
        EXPECT_NE(message.find(GetParam().expected_message), std::string::npos) << message;
    }
    // The previous snapshot stays.
    EXPECT_EQ(store.series_count("query"), 1u);
    EXPECT_EQ(store.view()->families.at(0).name, "cargo_workflow_runs");
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, MetricStoreRejects,
    testing::Values(
        BadSnapshot{"dash", Family{.name = "cargo-runs", .samples = {{{}, 1}}}, "invalid metric name"},
        BadSnapshot{"empty", Family{.name = "", .samples = {{{}, 1}}}, "invalid metric name"},
        BadSnapshot{"digit", Family{.name = "1cargo", .samples = {{{}, 1}}}, "invalid metric name"},
        BadSnapshot{"label", Family{.name = "cargo_x", .samples = {{{{"bad-label", "v"}}, 1}}}, "invalid label name"},
        BadSnapshot{"reserved", Family{.name = "cargo_x", .samples = {{{{"__name__", "v"}}, 1}}}, "invalid label name"},
        BadSnapshot{"utf8", Family{.name = "cargo_x", .samples = {{{{"status", "\xff\xfe"}}, 1}}}, "not valid UTF-8"},
        BadSnapshot{"help", Family{.name = "cargo_x", .help = "\xc3", .samples = {{{}, 1}}}, "help is not valid UTF-8"},
        BadSnapshot{"twice", Family{.name = "cargo_x", .samples = {{{{"a", "1"}, {"a", "2"}}, 1}}}, "given twice"},
        BadSnapshot{"dup", Family{.name = "cargo_x", .samples = {{{{"a", "1"}}, 1}, {{{"a", "1"}}, 2}}},
                    "duplicate series {a=\"1\"}"},
        BadSnapshot{"total", Family{.name = "cargo_runs", .type = MetricType::counter, .samples = {{{}, 1}}},
                    "must end in _total"},
        BadSnapshot{"negative", Family{.name = "cargo_runs_total", .type = MetricType::counter, .samples = {{{}, -1}}},
                    "below zero"}),
    [](const auto& info) { return info.param.what; });

TEST(MetricStore, RejectsEmptyCollectorNameAndRepeatedFamily) {
    MetricStore store;
    EXPECT_THROW(store.publish("", runs(1), t0), std::invalid_argument);
    Snapshot twice = runs(1);
    twice.families.push_back(twice.families[0]);
    EXPECT_THROW(store.publish("c", twice, t0), std::invalid_argument);
    EXPECT_EQ(store.series_count(), 0u);
}

TEST(MetricStore, ReadersNeverSeeAHalfPublishedSnapshot) {
    constexpr std::size_t small = 50, large = 400;
    MetricStore store;
    store.publish("workflows", runs(small), t0);
    std::atomic<bool> go{false}, done{false};
    std::atomic<int> bad{0}, reads{0}, overlapped{0};
    std::atomic<long> started{0}, finished{0};  // publishes begun / completed
    auto reader = [&] {
        while (!go) std::this_thread::yield();
        while (!done) {
            const long finished_before = finished.load();
            auto view = store.view();
            auto counted = samples_in(*view);
            auto rendered = lines_starting_with(expose({}, view, Format::text), "cargo_workflow_runs{");
            if ((counted != small && counted != large) || rendered != counted || view->series != counted) ++bad;
            // A publish that had not finished when this read began had begun before it ended:
            // the read overlapped that publish.
            if (started.load() > finished_before) ++overlapped;
            ++reads;
        }
    };
    std::thread r1(reader), r2(reader);
    go = true;
    // Keep publishing until reads have certainly run during publishes (bounded in time).
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (int i = 0; i < 300 || overlapped < 200 || reads < 50; ++i) {
        if (std::chrono::steady_clock::now() > deadline) break;
        ++started;
        store.publish("workflows", runs(i % 2 ? large : small, i), t0 + i * 1s);
        ++finished;
    }
    done = true;
    r1.join();
    r2.join();
    EXPECT_EQ(bad, 0) << "of " << reads << " reads, " << overlapped << " during a publish";
    EXPECT_GE(overlapped, 200) << "reads never overlapped publishes (" << reads << " reads)";
}

TEST(MetricStore, CollectGivesPrometheusFamilies) {
    MetricStore store;
    store.publish("c", Snapshot{{Family{.name = "cargo_runs_total", .help = "h", .type = MetricType::counter,
                                        .samples = {{{{"status", "ok"}}, 4}}}}},
                  t0);
    auto families = store.Collect();
    ASSERT_EQ(families.size(), 1u);
    EXPECT_EQ(families[0].name, "cargo_runs_total");
    EXPECT_EQ(families[0].type, prometheus::MetricType::Counter);
    ASSERT_EQ(families[0].metric.size(), 1u);
    EXPECT_EQ(families[0].metric[0].counter.value, 4);
    ASSERT_EQ(families[0].metric[0].label.size(), 1u);
    EXPECT_EQ(families[0].metric[0].label[0].value, "ok");
}

}  // namespace
}  // namespace cargomon::metrics
