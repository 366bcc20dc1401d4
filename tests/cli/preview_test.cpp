// `cargomon rules preview`: the real binary collecting once from the real sim and
// evaluating rule files over it.
#include <gtest/gtest.h>

#include "common/net.h"
#include "tests/cli/cli_env.h"
#include "tests/daemon/sim_client.h"

namespace cargomon::testing {
namespace {

constexpr const char* kRules = R"(groups:
  - name: preview
    rules:
      - alert: WorkflowKnown
        expr: cargo_workflow_info > 0
        labels:
          team: '{{ $labels.kind }}-owners'
      - alert: RunsCounted
        expr: cargo_workflow_runs{window="1d", status="success"} >= 0
        for: 10m
      - alert: NoSuchMetric
        expr: cargo_no_such_metric > 0
      - alert: CreditsSeen
        expr: cargo_credits_used >= 0
)";

class Preview : public ::testing::Test {
protected:
    // A config on the shared sim (or `api_url`): discovery, run counts over 1d, credits.
    std::string config(const std::string& api_url = shared_sim().url()) const {
        return dir_.write("cargomon.yml", "api_url: " + api_url + "\ntoken: " + shared_sim().token() + R"(
client: {rate_limit: 500, retry: {max_attempts: 1}}
collectors:
  - {name: runs, kind: run_counts, windows: [1d]}
  - {name: credits, kind: credits, window: 1d}
)");
    }
    CommandResult preview(const std::vector<std::string>& files, const std::string& config_file) const {
        std::vector<std::string> args = {"rules", "preview"};
        args.insert(args.end(), files.begin(), files.end());
        args.push_back("--config.file=" + config_file);
        return run_cargomon(args);
    }
    std::string rules(const std::string& text = kRules) const { return dir_.write("preview.rules.yml", text); }

    // The lines of `output` from the one that starts with `alert` up to the next blank line.
    static std::string section(const std::string& output, const std::string& alert) {
        const auto start = output.find("\n" + alert + "  (");
        if (start == std::string::npos) return "";
        const auto end = output.find("\n\n", start + 1);
        return output.substr(start + 1, end == std::string::npos ? std::string::npos : end - start - 1);
    }

    TempDir dir_;
};

TEST_F(Preview, SaysWhatWouldFire) {
    auto result = preview({rules()}, config());
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output.find(shared_sim().token()), std::string::npos) << "the token leaked:\n" << result.output;
    EXPECT_NE(result.output.find("  discovery (discovery): "), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("  runs (run_counts): "), std::string::npos) << result.output;

    // The daemon on the same sim names the same workflows.
    const auto workflows = shared_daemon().scrape().find("cargo_workflow_info");
    ASSERT_EQ(workflows.size(), 3u);
    const std::string known = section(result.output, "WorkflowKnown");
    ASSERT_FALSE(known.empty()) << result.output;
    for (const auto& w : workflows) {
        // The alert's labels: alertname and the rule's (expanded) labels added.
        EXPECT_NE(known.find("{alertname=\"WorkflowKnown\", enabled=\"" + w.labels.at("enabled") + "\", kind=\"" +
                             w.labels.at("kind") + "\", team=\"" + w.labels.at("kind") + "-owners\", workflow_name=\"" +
                             w.labels.at("workflow_name") + "\""),
                  std::string::npos)
            << known;
        EXPECT_NE(known.find("workflow_uuid=\"" + w.labels.at("workflow_uuid") + "\"} = 1: would fire"),
                  std::string::npos)
            << known;
    }

    const std::string counted = section(result.output, "RunsCounted");
    EXPECT_NE(counted.find("for 10m"), std::string::npos) << counted;
    EXPECT_NE(counted.find("status=\"success\""), std::string::npos) << counted;
    EXPECT_NE(counted.find(": pending, fires after 10m if it holds"), std::string::npos) << counted;
    EXPECT_EQ(counted.find("would fire"), std::string::npos) << counted;

    EXPECT_NE(section(result.output, "NoSuchMetric").find("no series: would not fire"), std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find("4 rules: 2 would fire now, 1 would be pending, 1 have no series"), std::string::npos)
        << result.output;
}

TEST_F(Preview, FailedCollectorIsNamedAndTheOthersStillCount) {
    SimClient sim(shared_sim());
    sim.put_fault(R"({"endpoint": "/v1/billing/usage/metrics", "error_ratio": 1, "statuses": [503]})");
    auto result = preview({rules()}, config());
    sim.clear_faults();
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("  credits (credits): FAILED, server: "), std::string::npos) << result.output;
    EXPECT_NE(section(result.output, "CreditsSeen").find("no series: would not fire"), std::string::npos)
        << result.output;
    EXPECT_NE(section(result.output, "WorkflowKnown").find(": would fire"), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find(shared_sim().token()), std::string::npos) << "the token leaked:\n" << result.output;
}

// Collecting what the rules need: a collector none of them reads makes no API call.
TEST_F(Preview, RunsOnlyTheCollectorsTheRulesRead) {
    SimClient sim(shared_sim());
    const auto billing_before = sim.requests("/v1/billing/usage/metrics");
    auto result = preview({rules(R"(groups:
  - name: runs-only
    rules:
      - alert: RunsCounted
        expr: cargo_workflow_runs{window="1d", status="success"} >= 0
)")},
                          config());
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("  discovery (discovery): "), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("  runs (run_counts): "), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find("  runs (run_counts): skipped"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("  credits (credits): skipped, no rule reads its metrics"), std::string::npos)
        << result.output;
    EXPECT_EQ(sim.requests("/v1/billing/usage/metrics"), billing_before);

    // A selector without a fixed metric name may read anything: every collector runs.
    auto any = preview({rules(R"(groups:
  - name: any
    rules:
      - alert: AnyCargoSeries
        expr: count({__name__=~"cargo_credits.*"}) > 0
)")},
                       config());
    ASSERT_EQ(any.exit_code, 0) << any.output;
    EXPECT_EQ(any.output.find("skipped"), std::string::npos) << any.output;
    EXPECT_GT(sim.requests("/v1/billing/usage/metrics"), billing_before);
    EXPECT_NE(section(any.output, "AnyCargoSeries").find(": would fire"), std::string::npos) << any.output;
}

TEST_F(Preview, UnreachableApiExitsOne) {
    const std::string url = "http://127.0.0.1:" + std::to_string(free_loopback_port());
    auto result = preview({rules()}, config(url));
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("every collector failed; is the Cargo API at " + url + " reachable?"),
              std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find("  discovery (discovery): FAILED, network: "), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find(shared_sim().token()), std::string::npos) << "the token leaked:\n" << result.output;
}

TEST_F(Preview, BrokenRuleFileExitsOneWithItsPosition) {
    const std::string file = rules(R"(groups:
  - name: broken
    rules:
      - alert: Broken
        expr: cargo_workflow_info >
)");
    auto result = preview({file}, config());
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find(file + ":5:"), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find("Collected once"), std::string::npos) << "collected despite the broken rules";
}

TEST_F(Preview, RulesDefaultToTheConfigsRuleFiles) {
    const std::string file = rules();
    const std::string config_file = dir_.write("with-rules.yml", "api_url: " + shared_sim().url() + "\ntoken: " +
                                                                     shared_sim().token() + "\nrule_files: [" + file +
                                                                     "]\n");
    auto result = run_cargomon({"rules", "preview", "--config.file", config_file});
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(section(result.output, "WorkflowKnown").find(": would fire"), std::string::npos) << result.output;
}

TEST_F(Preview, BadConfigOrUsage) {
    auto missing = preview({rules()}, dir_.path() + "/absent.yml");
    EXPECT_EQ(missing.exit_code, 1) << missing.output;
    EXPECT_NE(missing.output.find("absent.yml"), std::string::npos) << missing.output;

    auto unknown = run_cargomon({"rules", "preview", "--config.fil=x.yml", rules()});
    EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
    EXPECT_NE(unknown.output.find("unknown flag --config.fil=x.yml"), std::string::npos) << unknown.output;
}

}  // namespace
}  // namespace cargomon::testing
