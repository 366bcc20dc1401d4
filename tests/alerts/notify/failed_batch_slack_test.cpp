// The shipped CargoBatchFinishedWithFailedRuns as cargomon's Slack receiver shows it: its
// annotations, expanded from config/rules/cargo.rules.yml for the labels the rule's join
// with cargo_batch_top_error_info gives, name the failing node, its top error and the
// command that re-runs the failed records; without that join (a collector without SQL)
// the Slack message leaves the first two out rather than showing them empty.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <vector>

#include "alerts/notify/receivers/slack.h"
#include "alerts/rules/rules.h"

namespace cargomon::alerts::notify {
namespace {

using rules::AlertingRule;
using rules::RuleError;
using rules::RuleGroup;

const AlertingRule& failed_batch_rule() {
    static const std::vector<RuleGroup> groups = [] {
        auto result = rules::load_rule_files({CARGOMON_SHIPPED_RULES});
        if (auto* errors = std::get_if<std::vector<RuleError>>(&result))
            throw std::runtime_error(errors->front().to_string());
        return std::get<std::vector<RuleGroup>>(std::move(result));
    }();
    for (const auto& g : groups)
        for (const auto& r : g.rules)
            if (rules::rule_name(r) == "CargoBatchFinishedWithFailedRuns") return std::get<AlertingRule>(r);
    throw std::runtime_error("no CargoBatchFinishedWithFailedRuns in the shipped rules");
}

// The alert the rule gives for one series, as the rule manager builds it.
Alert alert_for(metrics::Labels series, double value) {
    const auto& rule = failed_batch_rule();
    Alert a;
    a.labels = std::move(series);
    a.labels.emplace_back("alertname", rule.name);
    for (const auto& [name, t] : rule.labels) a.labels.emplace_back(name, t.expand(a.labels, value));
    for (const auto& [name, t] : rule.annotations) a.annotations.emplace_back(name, t.expand(a.labels, value));
    a.state = AlertState::firing;
    a.value = value;
    return a;
}

// The mrkdwn texts of the Slack body's section fields.
std::vector<std::string> fields(const std::string& body) {
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    std::vector<std::string> out;
    for (const auto& block : doc["blocks"].GetArray())
        if (block.HasMember("fields"))
            for (const auto& f : block["fields"].GetArray()) out.emplace_back(f["text"].GetString());
    return out;
}

bool has(const std::vector<std::string>& list, const std::string& text) {
    return std::find(list.begin(), list.end(), text) != list.end();
}

TEST(FailedBatchSlack, ShowsTheFailingNodeItsTopErrorAndTheRerunCommand) {
    Notification n{.receiver = "slack", .group_key = "{}:{}"};
    n.alerts.push_back(alert_for({{"batch_uuid", "b-1"},
                                  {"workflow_uuid", "wf-1"},
                                  {"workflow_name", "Enrich leads"},
                                  {"node_slug", "enrich_company"},
                                  {"error_message", "Rate limited <429> & retried"}},
                                 0.3));
    const auto shown = fields(render_slack_body(n, "#cargo-alerts"));
    EXPECT_TRUE(has(shown, "*Failed at node*\nenrich_company")) << ::testing::PrintToString(shown);
    EXPECT_TRUE(has(shown, "*Top error*\nRate limited &lt;429&gt; &amp; retried")) << ::testing::PrintToString(shown);
    EXPECT_TRUE(has(shown, "*Re-run the failed records*\n`cargomon batch rerun b-1`")) << ::testing::PrintToString(shown);
}

TEST(FailedBatchSlack, WithoutWhereTheRunsFailedOnlyTheRerunCommandIsShown) {
    Notification n{.receiver = "slack", .group_key = "{}:{}"};
    n.alerts.push_back(
        alert_for({{"batch_uuid", "b-5"}, {"workflow_uuid", "wf-2"}, {"workflow_name", "Lookup"}}, 0.5));
    const auto shown = fields(render_slack_body(n, ""));
    for (const auto& f : shown) {
        EXPECT_EQ(f.find("Failed at node"), std::string::npos) << f;
        EXPECT_EQ(f.find("Top error"), std::string::npos) << f;
    }
    EXPECT_TRUE(has(shown, "*Re-run the failed records*\n`cargomon batch rerun b-5`")) << ::testing::PrintToString(shown);
}

}  // namespace
}  // namespace cargomon::alerts::notify
