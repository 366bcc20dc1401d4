// The one table of metric families each collector declares: metric_names() and every
// family it fills come from it, and what it does not declare is refused.
#include "collectors/families.h"

#include <gtest/gtest.h>

#include "collectors/collector.h"

namespace cargomon::collectors {
namespace {

const FamilyTable& table() {
    static const FamilyTable t({
        {.name = "cargo_test_runs", .help = "Runs, by status", .labels = {"workflow_uuid", "status"}},
        {.name = "cargo_test_done_total", .help = "Runs done", .type = metrics::MetricType::counter, .labels = {}},
    });
    return t;
}

// A collector that publishes what its test tells it to, through its table.
class DeclaringCollector final : public Collector {
public:
    std::string family = "cargo_test_runs";
    metrics::Labels labels = {{"workflow_uuid", "wf-a"}, {"status", "error"}};

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "test"; }
    std::vector<std::string> metric_names() const override { return table().names(); }
    metrics::Snapshot collect(const CollectContext&) override {
        auto f = table().family(family);
        f.add(labels, 1);
        metrics::Snapshot s;
        s.families.push_back(std::move(f).take());
        return s;
    }

private:
    std::string name_ = "test";
};

TEST(FamilyTable, NamesAndFamiliesComeFromTheDeclarations) {
    EXPECT_EQ(table().names(), (std::vector<std::string>{"cargo_test_runs", "cargo_test_done_total"}));
    auto runs = table().family("cargo_test_runs");
    runs.add({{"status", "error"}, {"workflow_uuid", "wf-a"}}, 2);  // in any order
    auto done = table().family("cargo_test_done_total");
    done.add({}, 5);
    const auto r = std::move(runs).take();
    EXPECT_EQ(r.name, "cargo_test_runs");
    EXPECT_EQ(r.help, "Runs, by status");
    EXPECT_EQ(r.type, metrics::MetricType::gauge);
    ASSERT_EQ(r.samples.size(), 1u);
    EXPECT_EQ(r.samples[0].value, 2);
    const auto d = std::move(done).take();
    EXPECT_EQ(d.type, metrics::MetricType::counter);
    EXPECT_EQ(d.help, "Runs done");
}

TEST(FamilyTable, ANameOrLabelDeclaredTwiceIsRefused) {
    EXPECT_THROW(FamilyTable({{.name = "cargo_a", .help = "a"}, {.name = "cargo_a", .help = "again"}}),
                 std::invalid_argument);
    EXPECT_THROW(FamilyTable({{.name = "cargo_a", .help = "a", .labels = {"x", "x"}}}), std::invalid_argument);
}

TEST(FamilyTable, AFamilyNotDeclaredIsRefused) {
    try {
        table().family("cargo_test_undeclared");
        FAIL() << "an undeclared family was handed out";
    } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find("cargo_test_undeclared"), std::string::npos) << e.what();
    }
}

TEST(FamilyTable, LabelsOtherThanDeclaredAreRefused) {
    const std::pair<metrics::Labels, std::string> wrong[] = {
        {{{"workflow_uuid", "wf-a"}, {"status", "error"}, {"window", "1h"}}, "label window is not declared"},
        {{{"workflow_uuid", "wf-a"}}, "declared label status is missing"},
        {{{"workflow_uuid", "wf-a"}, {"workflow_uuid", "wf-b"}}, "label workflow_uuid given twice"},
        {{{"workflow_uuid", "wf-a"}, {"state", "error"}}, "label state is not declared"},
    };
    for (const auto& [labels, why] : wrong) {
        auto runs = table().family("cargo_test_runs");
        try {
            runs.add(labels, 1);
            ADD_FAILURE() << "accepted, but " << why;
        } catch (const std::logic_error& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("cargo_test_runs"), std::string::npos) << e.what();
        }
        EXPECT_EQ(runs.size(), 0u);
    }
}

// A collector bug fails the run (reason "internal") instead of publishing a series that
// `rules preview` would not know the collector publishes.
TEST(FamilyTable, ACollectorPublishingWhatItDoesNotDeclareFailsItsRun) {
    DeclaringCollector c;
    EXPECT_EQ(c.collect({}).families.at(0).samples.size(), 1u);

    c.family = "cargo_test_other";
    try {
        c.collect({});
        FAIL() << "published an undeclared family";
    } catch (const std::exception& e) {
        EXPECT_EQ(error_reason(e), "internal");
    }

    c.family = "cargo_test_runs";
    c.labels = {{"workflow_uuid", "wf-a"}, {"status", "error"}, {"node_slug", "enrich"}};
    try {
        c.collect({});
        FAIL() << "published a label its table does not declare";
    } catch (const std::exception& e) {
        EXPECT_EQ(error_reason(e), "internal");
    }
}

}  // namespace
}  // namespace cargomon::collectors
