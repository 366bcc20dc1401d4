#include "collectors/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <set>

#include "cargo/errors.h"
#include "collectors/run_once.h"
#include "tests/support/registry_sample.h"

namespace cargomon::collectors {
namespace {

using namespace std::chrono_literals;
using cargomon::testing::sample_value;

// A collector under the test's control: it can block until released, fail on demand,
// and it records how many of its runs were ever inside collect() at once.
class ScriptedCollector final : public Collector {
public:
    ScriptedCollector(std::string name, std::string kind = "run_counts") : name_(std::move(name)), kind_(std::move(kind)) {}

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return kind_; }
    std::vector<std::string> metric_names() const override { return {}; }

    metrics::Snapshot collect(const CollectContext& context) override {
        std::unique_lock lock(mu_);
        ++entries_;
        max_concurrent_ = std::max(max_concurrent_, ++concurrent_);
        changed_.notify_all();
        changed_.wait(lock, context.stop, [&] { return !blocking_ || released_ > 0; });
        if (released_ > 0) --released_;
        --concurrent_;
        if (context.stop.stop_requested()) throw CollectorError("stopped", "scheduler stopping");
        if (failure_) std::rethrow_exception(failure_);
        metrics::Snapshot s;
        s.families.push_back({.name = "cargo_test_value", .help = "test", .type = metrics::MetricType::gauge,
                              .samples = {{.labels = {{"n", std::to_string(entries_)}}, .value = 1}}});
        return s;
    }

    void block() { std::lock_guard l(mu_); blocking_ = true; }
    void release() { std::lock_guard l(mu_); ++released_; changed_.notify_all(); }
    void fail_with(std::exception_ptr e) { std::lock_guard l(mu_); failure_ = std::move(e); }
    void wait_entries(int n) {
        std::unique_lock lock(mu_);
        changed_.wait(lock, [&] { return entries_ >= n; });
    }
    int entries() const { std::lock_guard l(mu_); return entries_; }
    int max_concurrent() const { std::lock_guard l(mu_); return max_concurrent_; }

private:
    std::string name_, kind_;
    mutable std::mutex mu_;
    std::condition_variable_any changed_;
    bool blocking_ = false;
    int released_ = 0;
    int entries_ = 0, concurrent_ = 0, max_concurrent_ = 0;
    std::exception_ptr failure_;
};

config::Schedule schedule(Millis interval, Millis timeout, Millis max_staleness = 10min) {
    return {.interval = interval, .timeout = timeout, .jitter = 0, .max_staleness = max_staleness};
}

struct SchedulerTest : ::testing::Test {
    FakeClock clock;
    metrics::MetricStore store;
    prometheus::Registry registry;

    // One collector that runs at once (kind discovery: no start offset).
    std::unique_ptr<Scheduler> single(ScriptedCollector*& out, config::Schedule s) {
        auto c = std::make_unique<ScriptedCollector>("c", "discovery");
        out = c.get();
        std::vector<ScheduledCollector> list;
        list.push_back({std::move(c), s});
        return std::make_unique<Scheduler>(std::move(list), store, registry, clock,
                                           SchedulerOptions{.workers = 2, .dispatch_thread = false});
    }
    double metric(const std::string& name, std::map<std::string, std::string> labels) {
        return sample_value(registry, name, labels).value_or(-1);
    }
};

TEST_F(SchedulerTest, SuccessPublishesSnapshotAndSelfMetrics) {
    ScriptedCollector* c;
    auto s = single(c, schedule(10s, 5s));
    s->start();
    s->run_due();
    s->wait_idle();
    EXPECT_EQ(store.series_count("c"), 1u);
    EXPECT_EQ(metric("cargomon_collector_up", {{"collector", "c"}}), 1);
    EXPECT_EQ(metric("cargomon_collector_last_success_timestamp_seconds", {{"collector", "c"}}), 1'800'000'000);
    EXPECT_EQ(metric("cargomon_collector_errors_total", {{"collector", "c"}, {"reason", "network"}}), 0);
    auto status = s->status();
    ASSERT_EQ(status.size(), 1u);
    EXPECT_TRUE(status[0].up);
    EXPECT_EQ(status[0].series, 1u);
    EXPECT_EQ(status[0].next_run, clock.now() + 10s);
}

TEST_F(SchedulerTest, NeverOverlapsAndCountsSkippedRuns) {
    ScriptedCollector* c;
    auto s = single(c, schedule(10s, 60s));
    c->block();
    s->start();
    s->run_due();
    c->wait_entries(1);
    for (int i = 0; i < 3; ++i) {
        clock.advance(10s);
        s->run_due();
    }
    EXPECT_EQ(metric("cargomon_collector_skipped_total", {{"collector", "c"}}), 3);
    EXPECT_EQ(c->entries(), 1);
    c->release();
    s->wait_idle();
    clock.advance(10s);
    s->run_due();
    c->wait_entries(2);
    c->release();
    s->wait_idle();
    EXPECT_EQ(c->entries(), 2);
    EXPECT_EQ(c->max_concurrent(), 1);
    EXPECT_EQ(metric("cargomon_collector_up", {{"collector", "c"}}), 1);
}

TEST_F(SchedulerTest, RunPastItsTimeoutIsAbandonedAsFailed) {
    ScriptedCollector* c;
    auto s = single(c, schedule(60s, 5s));
    c->block();
    s->start();
    s->run_due();
    c->wait_entries(1);
    clock.advance(6s);
    s->run_due();
    EXPECT_EQ(metric("cargomon_collector_up", {{"collector", "c"}}), 0);
    EXPECT_EQ(metric("cargomon_collector_errors_total", {{"collector", "c"}, {"reason", "timeout"}}), 1);
    EXPECT_NE(s->status()[0].last_error.find("timeout of 5s"), std::string::npos);
    c->release();
    s->wait_idle();
    // The late answer is discarded: nothing published, still one timeout.
    EXPECT_EQ(store.series_count("c"), 0u);
    EXPECT_EQ(metric("cargomon_collector_up", {{"collector", "c"}}), 0);
    EXPECT_EQ(metric("cargomon_collector_errors_total", {{"collector", "c"}, {"reason", "timeout"}}), 1);
}

TEST_F(SchedulerTest, FailureKeepsSnapshotUntilMaxStaleness) {
    ScriptedCollector* c;
    auto s = single(c, schedule(10s, 5s, 25s));
    s->start();
    s->run_due();
    s->wait_idle();
    ASSERT_EQ(store.series_count("c"), 1u);
    c->fail_with(std::make_exception_ptr(cargo::AuthorizationError("unauthorized", 401, "", "")));
    for (int i = 0; i < 2; ++i) {  // failures at +10s and +20s: the snapshot is 20s old at most
        clock.advance(10s);
        s->run_due();
        s->wait_idle();
        EXPECT_EQ(store.series_count("c"), 1u);
    }
    EXPECT_EQ(metric("cargomon_collector_errors_total", {{"collector", "c"}, {"reason", "authorization"}}), 2);
    EXPECT_EQ(metric("cargomon_collector_up", {{"collector", "c"}}), 0);
    clock.advance(10s);  // 30s after the good collection
    s->run_due();
    s->wait_idle();
    EXPECT_EQ(store.series_count("c"), 0u);
}

TEST_F(SchedulerTest, FirstRunsSpreadOverTheFirstTenSeconds) {
    std::vector<ScheduledCollector> list;
    list.push_back({std::make_unique<ScriptedCollector>("discovery", "discovery"), schedule(60s, 5s)});
    for (int i = 0; i < 20; ++i)
        list.push_back({std::make_unique<ScriptedCollector>("c" + std::to_string(i)), schedule(60s, 5s)});
    Scheduler s(std::move(list), store, registry, clock, {.seed = 7, .dispatch_thread = false});
    s.start();
    std::set<SystemTime> starts;
    for (const auto& st : s.status()) {
        if (st.name == "discovery") {
            EXPECT_EQ(st.next_run, clock.now());
            continue;
        }
        EXPECT_GE(st.next_run, clock.now());
        // Not over the whole minute: a slow collector's series would be absent that long.
        EXPECT_LT(st.next_run, clock.now() + 10s);
        starts.insert(st.next_run);
    }
    EXPECT_GE(starts.size(), 15u);  // spread, not bunched
}

TEST_F(SchedulerTest, ShortIntervalsSpreadWithinTheirInterval) {
    std::vector<ScheduledCollector> list;
    for (int i = 0; i < 10; ++i)
        list.push_back({std::make_unique<ScriptedCollector>("c" + std::to_string(i)), schedule(2s, 1s)});
    Scheduler s(std::move(list), store, registry, clock, {.seed = 7, .dispatch_thread = false});
    s.start();
    for (const auto& st : s.status()) EXPECT_LT(st.next_run, clock.now() + 2s) << st.name;
}

TEST_F(SchedulerTest, JitterKeepsIntervalsWithinBounds) {
    auto c = std::make_unique<ScriptedCollector>("c", "discovery");
    std::vector<ScheduledCollector> list;
    list.push_back({std::move(c), {.interval = 100s, .timeout = 5s, .jitter = 0.2, .max_staleness = 10min}});
    Scheduler s(std::move(list), store, registry, clock, {.seed = 3, .dispatch_thread = false});
    s.start();
    std::set<SystemTime::duration> intervals;
    for (int i = 0; i < 10; ++i) {
        const auto before = clock.now();
        s.run_due();
        s.wait_idle();
        const auto next = s.status()[0].next_run;
        EXPECT_GE(next, before + 80s);
        EXPECT_LE(next, before + 120s);
        intervals.insert(next - before);
        clock.advance(next - before);
    }
    EXPECT_GT(intervals.size(), 1u);
}

TEST_F(SchedulerTest, StopInterruptsARunningCollectorAndKeepsSnapshots) {
    ScriptedCollector* c;
    auto s = single(c, schedule(10s, 5s));
    s->start();
    s->run_due();
    s->wait_idle();
    clock.advance(10s);
    c->block();
    s->run_due();
    c->wait_entries(2);
    s->stop();  // returns only because the run sees the stop request
    EXPECT_EQ(store.series_count("c"), 1u);
}

TEST_F(SchedulerTest, StatusDescribesEachCollector) {
    ScriptedCollector* c;
    auto s = single(c, schedule(10s, 5s));
    c->fail_with(std::make_exception_ptr(cargo::ServerError("server error 503", 503, "", "")));
    const SystemTime started = clock.now();
    s->start();
    s->run_due();
    s->wait_idle();
    const auto status = s->status();
    ASSERT_EQ(status.size(), 1u);
    EXPECT_EQ(status[0].name, "c");
    EXPECT_EQ(status[0].kind, "discovery");
    EXPECT_FALSE(status[0].up);
    EXPECT_FALSE(status[0].running);
    EXPECT_EQ(status[0].last_run_start, started);
    EXPECT_EQ(status[0].last_error, "server error 503");
    EXPECT_EQ(status[0].next_run, started + 10s);
    EXPECT_EQ(status[0].series, 0u);
    EXPECT_EQ(metric("cargomon_collector_errors_total", {{"collector", "c"}, {"reason", "server"}}), 1);
}

TEST_F(SchedulerTest, DispatchThreadRunsCollectorsOnTheRealClock) {
    SystemClock real;
    auto c = std::make_unique<ScriptedCollector>("c", "discovery");
    auto* raw = c.get();
    std::vector<ScheduledCollector> list;
    list.push_back({std::move(c), schedule(20ms, 1s)});
    Scheduler s(std::move(list), store, registry, real, {.max_wait = 5ms});
    s.start();
    raw->wait_entries(3);
    s.stop();
    EXPECT_EQ(raw->max_concurrent(), 1);
}

// A collector whose run is a function of the test's.
class FnCollector final : public Collector {
public:
    explicit FnCollector(std::function<metrics::Snapshot(const CollectContext&)> run) : run_(std::move(run)) {}
    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "query"; }
    std::vector<std::string> metric_names() const override { return {"cargo_test_value"}; }
    metrics::Snapshot collect(const CollectContext& context) override { return run_(context); }

private:
    std::string name_ = "fn";
    std::function<metrics::Snapshot(const CollectContext&)> run_;
};

metrics::Snapshot one_series(const std::string& metric = "cargo_test_value") {
    return {{{.name = metric, .help = "test", .type = metrics::MetricType::gauge, .samples = {{.labels = {}, .value = 1}}}}};
}

// What the scheduler and `rules preview` share: one run, its deadline, its failure's
// reason, and the snapshot it publishes.
TEST(RunOnce, PublishesOrSaysWhyNot) {
    FakeClock clock;
    metrics::MetricStore store;
    auto run = [&](std::function<metrics::Snapshot(const CollectContext&)> collect,
                   std::function<bool(bool)> collected = {}) {
        FnCollector collector(std::move(collect));
        return run_once(collector, start_run(clock, 5s), store, clock, collected);
    };
    using Status = RunOutcome::Status;

    RunOutcome ok = run([&](const CollectContext& context) {
        EXPECT_EQ(context.deadline, clock.monotonic() + 5s);
        return one_series();
    });
    EXPECT_EQ(ok.status, Status::published);
    EXPECT_EQ(store.series_count("fn"), 1u);

    RunOutcome network = run([](const CollectContext&) -> metrics::Snapshot { throw cargo::NetworkError("refused"); });
    EXPECT_EQ(network.status, Status::failed);
    EXPECT_EQ(network.reason, "network");
    EXPECT_EQ(network.message, "refused");

    RunOutcome late = run([&](const CollectContext&) {
        clock.advance(6s);
        return one_series();
    });
    EXPECT_EQ(late.status, Status::failed);
    EXPECT_EQ(late.reason, "timeout");
    EXPECT_EQ(late.message, "run exceeded its timeout of 5s");

    RunOutcome refused = run([](const CollectContext&) { return one_series("9 not a name"); });
    EXPECT_EQ(refused.status, Status::failed);
    EXPECT_EQ(refused.reason, "mapping");
    EXPECT_EQ(store.series_count("fn"), 1u);  // the last good snapshot stays

    std::vector<bool> told;
    auto drop = [&](bool succeeded) {
        told.push_back(succeeded);
        return false;
    };
    EXPECT_EQ(run([](const CollectContext&) { return one_series(); }, drop).status, Status::dropped);
    EXPECT_EQ(run([](const CollectContext&) -> metrics::Snapshot { throw std::logic_error("bug"); }, drop).status,
              Status::dropped);
    EXPECT_EQ(told, (std::vector<bool>{true, false}));
}

}  // namespace
}  // namespace cargomon::collectors
