// Invariants of the generated workload, checked on the rows themselves (no ClickHouse).
#include "sim/gen/generator.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>

#include "sim/gen/rowbinary.h"

namespace cargomon::sim {
namespace {

using namespace std::chrono_literals;

const SystemTime kNow = SystemTime{std::chrono::seconds{1'800'000'000}};

GeneratorOptions options(std::uint64_t seed = 1) {
    return {.workflows = 20, .history = 24h * 3, .seed = seed, .workspaces = 1, .now = kNow};
}

// What the rows say, aggregated per batch and per run, plus the facts the tests ask about.
struct Observed : RowSink {
    struct FromRuns {
        std::uint64_t runs = 0, finished = 0, failed = 0;
        double credits = 0;
    };
    struct RunFacts {
        std::string status;
        bool finished = false;
        bool fatal_span_error = false;  // a span errored on a node without fallback
        bool any_span_error = false;
        int spans = 0;
        std::uint32_t next_index = 0;
        bool indexes_in_order = true;
    };
    std::map<std::string, BatchRow> batches;
    std::map<std::string, std::string> batch_data;
    std::map<std::string, FromRuns> from_runs;
    std::map<std::string, RunFacts> runs;
    std::map<std::string, int> records_per_run;
    std::set<std::string> fallback_nodes;
    std::map<std::string, std::pair<int, int>> node_errors;      // node uuid -> (errors, executions)
    std::map<std::string, std::pair<int, int>> workflow_errors;  // workflow uuid -> (error runs, finished runs)
    SystemTime first = SystemTime::max(), last = SystemTime::min();
    bool spans_well_timed = true;

    explicit Observed(const Workspace& ws) {
        for (const Workflow& wf : ws.workflows)
            for (const Node& n : wf.nodes)
                if (n.has_fallback) fallback_nodes.insert(n.uuid);
    }
    void batch(const BatchRow& row) override {
        std::string uuid(row.uuid);
        batches[uuid] = row;
        batch_data[uuid] = std::string(row.data);
        batches[uuid].data = batch_data[uuid];
        first = std::min(first, row.created_at);
        last = std::max(last, row.finished_at.value_or(row.updated_at));
    }
    void run(const RunRow& row) override {
        FromRuns& b = from_runs[std::string(*row.batch_uuid)];
        ++b.runs;
        b.finished += row.finished_at ? 1 : 0;
        b.failed += row.status == "error" ? 1 : 0;
        RunFacts& r = runs[std::string(row.uuid)];
        r.status = row.status;
        r.finished = row.finished_at.has_value();
        if (r.finished) {
            auto& w = workflow_errors[std::string(row.workflow_uuid)];
            w.first += row.status == "error" ? 1 : 0;
            ++w.second;
        }
        last = std::max(last, row.updated_at);
    }
    void span(const SpanRow& row) override {
        from_runs[std::string(row.batch_uuid)].credits += row.execution_credits_used_count;
        RunFacts& r = runs[std::string(row.run_uuid)];
        ++r.spans;
        r.indexes_in_order &= row.execution_index == r.next_index++;
        const bool error = row.execution_status == "error";
        r.any_span_error |= error;
        if (error && !fallback_nodes.count(std::string(row.node_uuid))) r.fatal_span_error = true;
        auto& n = node_errors[std::string(row.node_uuid)];
        n.first += error ? 1 : 0;
        ++n.second;
        if (row.execution_finished_at && *row.execution_finished_at < row.execution_started_at)
            spans_well_timed = false;
    }
    void record(const RecordRow& row) override { ++records_per_run[std::string(row.run_uuid)]; }
};

std::string all_bytes(const Workspace& ws, const GeneratorOptions& opts) {
    std::string bytes;
    RowBinaryBlocks blocks(1'000'000, [&](Table table, std::string data, std::size_t) {
        bytes += insert_table(table);
        bytes += data;
    });
    generate_history(ws, opts, blocks);
    blocks.flush();
    return bytes;
}

class GeneratorTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        workspaces_ = new std::vector<Workspace>(generate_workspaces(options()));
        observed_ = new Observed(workspaces_->front());
        generate_history(workspaces_->front(), options(), *observed_);
    }
    static void TearDownTestSuite() {
        delete observed_;
        delete workspaces_;
    }
    static const Workspace& ws() { return workspaces_->front(); }
    static const Observed& seen() { return *observed_; }

    static std::vector<Workspace>* workspaces_;
    static Observed* observed_;
};
std::vector<Workspace>* GeneratorTest::workspaces_ = nullptr;
Observed* GeneratorTest::observed_ = nullptr;

// Graphs branch, and half the workflows had an earlier release: a chain of today's first
// nodes (same uuids) that ends where today's graph leads on. History batches carry the
// release in force when they started.
TEST_F(GeneratorTest, GraphsBranchAndEarlierReleasesHoldTheirOwnBatches) {
    int branching = 0, with_earlier = 0, old_batches = 0, new_batches = 0;
    for (const Workflow& wf : ws().workflows) {
        for (const Node& n : wf.nodes) branching += n.children_uuids.size() > 1 ? 1 : 0;
        if (wf.earlier_releases.empty()) {
            EXPECT_EQ(wf.release_version, 1);
            continue;
        }
        ++with_earlier;
        const Release& first = wf.earlier_releases.front();
        ASSERT_GE(first.nodes.size(), 2u);
        ASSERT_LT(first.nodes.size(), wf.nodes.size());
        for (std::size_t i = 0; i < first.nodes.size(); ++i) EXPECT_EQ(first.nodes[i].uuid, wf.nodes[i].uuid);
        EXPECT_TRUE(first.nodes.back().children_uuids.empty());
        EXPECT_FALSE(wf.nodes[first.nodes.size() - 1].children_uuids.empty()) << "today's graph leads on from it";
        EXPECT_LT(first.deployed_at, wf.deployed_at);
        EXPECT_EQ(wf.release_version, 2);
        for (const auto& [uuid, b] : seen().batches) {
            if (b.workflow_uuid != wf.uuid) continue;
            const bool before = b.created_at < wf.deployed_at;
            ASSERT_TRUE(b.release_uuid.has_value());
            EXPECT_EQ(*b.release_uuid, before ? first.uuid : wf.release_uuid);
            ++(before ? old_batches : new_batches);
        }
    }
    EXPECT_GT(branching, 0);
    EXPECT_GT(with_earlier, 0);
    EXPECT_GT(old_batches, 0);
    EXPECT_GT(new_batches, 0);
}

TEST_F(GeneratorTest, WorkflowsHaveUniqueNamesAndThreeToEightNodesOfAllKinds) {
    ASSERT_EQ(ws().workflows.size(), 20u);
    std::set<std::string> names, kinds, uuids;
    int plays = 0, disabled = 0;
    for (const Workflow& wf : ws().workflows) {
        EXPECT_TRUE(names.insert(wf.name).second) << "duplicate name " << wf.name;
        EXPECT_GE(wf.nodes.size(), 3u);
        EXPECT_LE(wf.nodes.size(), 8u);
        EXPECT_FALSE(wf.release_uuid.empty());
        std::set<std::string> slugs;
        for (const Node& n : wf.nodes) {
            kinds.insert(to_string(n.kind));
            EXPECT_TRUE(slugs.insert(n.slug).second) << "duplicate slug " << n.slug << " in " << wf.name;
            EXPECT_TRUE(uuids.insert(n.uuid).second);
            EXPECT_EQ(n.kind == NodeKind::connector, !n.integration_slug.empty());
        }
        if (wf.kind == WorkflowKind::play) {
            ++plays;
            disabled += wf.enabled ? 0 : 1;
            EXPECT_FALSE(wf.model_uuid.empty());
            EXPECT_FALSE(wf.segment_uuid.empty());
        }
    }
    EXPECT_EQ(kinds, (std::set<std::string>{"native", "connector", "tool", "agent"}));
    EXPECT_GT(plays, 0);
    EXPECT_LT(plays, 20);
    EXPECT_LT(disabled, plays / 2 + 1);
}

TEST_F(GeneratorTest, UuidsAreVersion4) {
    const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    EXPECT_TRUE(std::regex_match(ws().uuid, v4)) << ws().uuid;
    for (const Workflow& wf : ws().workflows) EXPECT_TRUE(std::regex_match(wf.uuid, v4)) << wf.uuid;
    for (const auto& [uuid, facts] : seen().runs) ASSERT_TRUE(std::regex_match(uuid, v4)) << uuid;
}

TEST_F(GeneratorTest, BatchCountersEqualWhatTheirRunsAndSpansSay) {
    ASSERT_GT(seen().batches.size(), 100u);
    for (const auto& [uuid, b] : seen().batches) {
        auto it = seen().from_runs.find(uuid);
        const Observed::FromRuns r = it == seen().from_runs.end() ? Observed::FromRuns{} : it->second;
        ASSERT_EQ(b.runs_count, r.runs) << uuid;
        ASSERT_EQ(b.executed_runs_count, r.finished) << uuid;
        ASSERT_EQ(b.failed_runs_count, r.failed) << uuid;
        ASSERT_DOUBLE_EQ(b.credits_used_count, r.credits) << uuid;
    }
    EXPECT_EQ(seen().from_runs.size(), std::count_if(seen().batches.begin(), seen().batches.end(),
                                                     [](const auto& b) { return b.second.runs_count > 0; }));
}

TEST_F(GeneratorTest, RunFailsIffASpanWithoutFallbackFailed) {
    int recovered_by_fallback = 0;
    for (const auto& [uuid, r] : seen().runs) {
        ASSERT_TRUE(r.indexes_in_order) << uuid;
        ASSERT_EQ(seen().records_per_run.at(uuid), 1) << uuid;
        if (r.status == "success" || r.status == "error") {
            ASSERT_EQ(r.status == "error", r.fatal_span_error) << uuid;
        }
        recovered_by_fallback += r.status == "success" && r.any_span_error ? 1 : 0;
    }
    EXPECT_GT(recovered_by_fallback, 0);
    EXPECT_TRUE(seen().spans_well_timed);
}

TEST_F(GeneratorTest, HasPartialFailuresUnfinishedRunsAndFailedBatches) {
    int partial = 0, unfinished_batches = 0, errors = 0, cancelled = 0;
    std::set<std::string> kinds;
    for (const auto& [uuid, b] : seen().batches) {
        if (b.status == "success" && b.failed_runs_count > 0) {
            ++partial;
            EXPECT_EQ(b.runs_status, "unhealthy");
        }
        if (b.status == "success" && b.failed_runs_count == 0) {
            EXPECT_EQ(b.runs_status, "healthy");
        }
        if (b.finished_at && b.executed_runs_count < b.runs_count) ++unfinished_batches;
        errors += b.status == "error" ? 1 : 0;
        cancelled += b.status == "cancelled" ? 1 : 0;
        auto kind = b.data.substr(0, b.data.find(','));
        kinds.insert(std::string(kind));
    }
    EXPECT_GT(partial, 0);
    EXPECT_GT(unfinished_batches, 0);
    EXPECT_GT(errors, 0);
    EXPECT_GT(cancelled, 0);
    EXPECT_EQ(kinds, (std::set<std::string>{R"({"kind":"segment")", R"({"kind":"records")", R"({"kind":"runs")"}));
    int running = 0, pending = 0;
    for (const auto& [uuid, r] : seen().runs) {
        running += r.status == "running" ? 1 : 0;
        pending += r.status == "pending" ? 1 : 0;
        if (r.status == "running" || r.status == "pending") {
            EXPECT_FALSE(r.finished);
        }
    }
    EXPECT_GT(running, 0);
    EXPECT_GT(pending, 0);
}

TEST_F(GeneratorTest, MostWorkflowsHealthyAFewNodesBad) {
    int healthy = 0, measured_bad_nodes = 0;
    for (const auto& [wf, counts] : seen().workflow_errors)
        healthy += counts.second > 100 && counts.first < 0.02 * counts.second ? 1 : 0;
    EXPECT_GE(healthy, 10);
    for (const Workflow& wf : ws().workflows)
        for (const Node& n : wf.nodes) {
            if (n.error_rate < 0.1) continue;
            EXPECT_LE(n.error_rate, 0.4);
            auto it = seen().node_errors.find(n.uuid);
            if (it == seen().node_errors.end() || it->second.second < 100) continue;
            ++measured_bad_nodes;
            const double share = double(it->second.first) / it->second.second;
            EXPECT_GT(share, 0.05) << n.slug;
            EXPECT_LT(share, 0.5) << n.slug;
        }
    EXPECT_GE(measured_bad_nodes, 1);
}

TEST_F(GeneratorTest, HistoryFillsTheWindowAndEndsByNow) {
    const auto window = options().history;
    EXPECT_GE(seen().first, kNow - window);
    EXPECT_LT(seen().first, kNow - window + 6h);
    EXPECT_LE(seen().last, kNow);
    EXPECT_GT(seen().last, kNow - 6h);
}

TEST(GeneratorDeterminism, SameSeedSameBytesOtherSeedOtherBytes) {
    GeneratorOptions a{.workflows = 4, .history = 24h, .seed = 7, .workspaces = 2, .now = kNow};
    auto ws1 = generate_workspaces(a);
    auto ws2 = generate_workspaces(a);
    ASSERT_EQ(ws1.size(), 2u);
    EXPECT_NE(ws1[0].uuid, ws1[1].uuid);
    EXPECT_NE(ws1[0].database, ws1[1].database);
    const std::string first = all_bytes(ws1[1], a);
    EXPECT_GT(first.size(), 10'000u);
    EXPECT_EQ(first, all_bytes(ws2[1], a));

    GeneratorOptions b = a;
    b.seed = 8;
    auto ws3 = generate_workspaces(b);
    EXPECT_NE(ws3[1].uuid, ws1[1].uuid);
    EXPECT_NE(all_bytes(ws3[1], b), first);
}

TEST(GeneratorOptionsCheck, BadCountsAreRefused) {
    EXPECT_THROW(generate_workspaces({.workflows = 0, .now = kNow}), std::invalid_argument);
    EXPECT_THROW(generate_workspaces({.workflows = 5, .workspaces = 0, .now = kNow}), std::invalid_argument);
    EXPECT_THROW(generate_workspaces({.workflows = 5, .history = -1h, .now = kNow}), std::invalid_argument);
    GeneratorOptions unset_now{.workflows = 5};
    EXPECT_THROW(generate_workspaces(unset_now), std::invalid_argument);
    auto ws = generate_workspaces({.workflows = 2, .now = kNow});
    Observed sink(ws.front());
    EXPECT_THROW(generate_history(ws.front(), unset_now, sink), std::invalid_argument);
}

TEST(GeneratorOptionsCheck, EmptyHistoryHasNoRows) {
    GeneratorOptions o{.workflows = 3, .history = 0h, .now = kNow};
    EXPECT_TRUE(all_bytes(generate_workspaces(o).front(), o).empty());
}

}  // namespace
}  // namespace cargomon::sim
