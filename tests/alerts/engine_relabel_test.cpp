// What the engine hands the dispatcher: alerts with the external labels they lack, then
// relabelled, dropped ones left out, fingerprints those of the new labels.
#include <gtest/gtest.h>

#include "alerts/engine.h"
#include "alerts/rules/rule_manager.h"

namespace cargomon::alerts {
namespace {

metrics::RelabelConfig made(metrics::RelabelConfig config) {
    return std::get<metrics::RelabelConfig>(metrics::make_relabel_config(std::move(config)));
}

Alert alert(metrics::Labels labels) {
    Alert a;
    a.fingerprint = rules::fingerprint(labels);
    a.labels = std::move(labels);
    a.state = AlertState::firing;
    return a;
}

TEST(RelabelAlerts, ExternalLabelsThenRelabelConfigs) {
    const metrics::Labels external{{"cluster", "eu"}, {"replica", "a"}, {"severity", "none"}};
    const std::vector<metrics::RelabelConfig> relabel{
        made({.action = metrics::RelabelAction::labeldrop, .regex = "replica"}),
        made({.action = metrics::RelabelAction::drop, .source_labels = {"alertname"}, .regex = "Quiet"}),
    };
    const auto out = relabel_alerts({alert({{"alertname", "A"}, {"severity", "page"}}), alert({{"alertname", "Quiet"}})},
                                    external, relabel);
    ASSERT_EQ(out.size(), 1u);
    // The alert's own severity wins over the external one; replica was added, then dropped.
    const metrics::Labels expected{{"alertname", "A"}, {"cluster", "eu"}, {"severity", "page"}};
    EXPECT_EQ(out[0].labels, expected);
    EXPECT_EQ(out[0].fingerprint, rules::fingerprint(expected));
}

TEST(RelabelAlerts, TwoReplicasCopiesBecomeOneAlert) {
    const std::vector<metrics::RelabelConfig> relabel{
        made({.action = metrics::RelabelAction::labeldrop, .regex = "replica"})};
    const auto a = relabel_alerts({alert({{"alertname", "A"}})}, {{"replica", "a"}}, relabel);
    const auto b = relabel_alerts({alert({{"alertname", "A"}})}, {{"replica", "b"}}, relabel);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(a[0].labels, b[0].labels);
    EXPECT_EQ(a[0].fingerprint, b[0].fingerprint);
    // Without the relabelling they stay two.
    EXPECT_NE(relabel_alerts({alert({{"alertname", "A"}})}, {{"replica", "a"}}, {})[0].fingerprint, a[0].fingerprint);
}

}  // namespace
}  // namespace cargomon::alerts
