// One matcher for rules, routes and silences (metrics/labels.h): the same answers in all
// three; and, beside the store basics (silences_test.cpp), the limits on what the silence
// API may store and retention.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "alerts/promql/promql.h"
#include "alerts/notify/router.h"
#include "alerts/notify/silences.h"
#include "alerts/promql/store_source.h"
#include "fixtures.h"

namespace cargomon::alerts::notify {
namespace {

using namespace std::chrono_literals;

metrics::Matcher m(std::string_view text) {
    auto parsed = metrics::parse_matcher(text);
    if (auto* error = std::get_if<std::string>(&parsed)) throw std::runtime_error(*error);
    return std::get<metrics::Matcher>(std::move(parsed));
}

std::string reason(const std::variant<std::string, SilenceRejected>& added) {
    auto* rejected = std::get_if<SilenceRejected>(&added);
    return rejected ? rejected->reason : "(accepted)";
}

// Each regex is tried as a rule selector, a route matcher and a silence matcher against
// one label value: all three must agree, anchoring and flags included.
TEST(MatcherAgreement, RuleSelectorsRoutesAndSilencesAnswerAlike) {
    struct Case {
        std::string regex;
        std::string value;
        bool matches;
    };
    const std::vector<Case> cases{
        {"bill.*", "billing", true},        {"bill.*", "old-billing", false}, {"bill", "billing", false},
        {"a|b", "b", true},                 {"a|b", "ab", false},             {"(?i)billing", "BILLING", true},
        {".*-eu", "data-eu", true},         {"data-(eu|us)", "data-eu", true}, {"[0-9]+", "12a", false},
    };
    testing::TempDir dir;
    FakeClock clock;
    for (const Case& c : cases) {
        SCOPED_TRACE(c.regex + " against " + c.value);
        const std::string matcher = "l=~\"" + c.regex + "\"";

        metrics::MetricStore store;
        metrics::Snapshot snapshot{.families = {{.name = "m", .help = "h", .samples = {{{{"l", c.value}}, 1}}}}};
        store.publish("test", snapshot, SystemTime{});
        promql::StoreSource source(store.view(), {}, 0);
        const promql::Value value = promql::evaluate_checked(*promql::parse_expr("m{" + matcher + "}"), source, 0).value;
        const auto* selected = std::get_if<promql::Vector>(&value);
        ASSERT_NE(selected, nullptr);
        EXPECT_EQ(!selected->empty(), c.matches) << "rule selector";

        config::AlertingConfig config = testing::config_from("route:\n  receiver: other\n  routes:\n    - receiver: hit\n"
                                                     "      matchers: ['" + matcher + "']\n"
                                                     "receivers: [{name: other}, {name: hit}]\n");
        EXPECT_EQ(Router(config.route).match({{"l", c.value}})[0]->receiver == "hit", c.matches) << "route";

        SilenceStore silences(dir.file(std::to_string(&c - cases.data()) + ".db"), clock);
        ASSERT_EQ(reason(silences.add({.matchers = {m(matcher)}, .ends_at = clock.now() + 1h, .comment = "c"})),
                  "(accepted)");
        EXPECT_EQ(silences.silenced({{"l", c.value}}), c.matches) << "silence";
    }
}

TEST(SilenceRegex, CaseInsensitiveFlagWorksInASilence) {
    testing::TempDir dir;
    FakeClock clock;
    SilenceStore store(dir.file("s.db"), clock);
    auto added = store.add({.matchers = {m(R"x(workflow_name=~"(?i)billing-.*")x")},
                            .ends_at = clock.now() + 1h,
                            .comment = "c"});
    ASSERT_TRUE(std::holds_alternative<std::string>(added)) << reason(added);
    EXPECT_TRUE(store.silenced({{"workflow_name", "BILLING-eu"}}));
    EXPECT_TRUE(store.silenced({{"workflow_name", "billing-eu"}}));
    EXPECT_FALSE(store.silenced({{"workflow_name", "old-billing-eu"}}));  // anchored
}

TEST(SilenceRegex, CaseInsensitiveFlagWorksInARoute) {
    config::AlertingConfig config = testing::config_from(R"(
route:
  receiver: default
  routes:
    - receiver: billing
      matchers: ['workflow_name=~"(?i)billing-.*"']
receivers:
  - name: default
  - name: billing
)");
    Router router(config.route);
    EXPECT_EQ(router.match({{"workflow_name", "Billing-EU"}})[0]->receiver, "billing");
    EXPECT_EQ(router.match({{"workflow_name", "x-billing-eu"}})[0]->receiver, "default");
}

// The groups the status page shows are the dispatcher's: one per route and group_by
// values; an alert a `continue` route passes on is in each route's group.
TEST(GroupAlerts, OneGroupPerRouteAndGroupByValues) {
    config::AlertingConfig config = testing::config_from(R"(
route:
  receiver: default
  group_by: [alertname]
  routes:
    - receiver: pager
      matchers: ['severity="page"']
      group_by: [workflow_uuid]
      continue: true
    - receiver: everything
      group_by: ['...']
receivers:
  - name: default
  - name: pager
  - name: everything
)");
    auto alert = [](std::string name, std::string severity, std::string workflow) {
        return Alert{.labels = {{"alertname", name}, {"severity", severity}, {"workflow_uuid", workflow}}, .fingerprint = name + workflow};
    };
    const auto groups = group_alerts(config.route, {alert("A", "page", "w1"), alert("B", "page", "w1"), alert("A", "info", "w2")});
    std::map<std::string, std::vector<std::string>> by_group;  // receiver + group labels -> fingerprints
    std::set<std::string> keys;
    for (const auto& g : groups) {
        EXPECT_TRUE(keys.insert(g.key).second) << "two groups with key " << g.key;
        EXPECT_TRUE(g.key.ends_with(":" + metrics::labels_text(g.labels))) << g.key;
        for (const auto& a : g.alerts) by_group[g.receiver + metrics::labels_text(g.labels)].push_back(a.fingerprint);
    }
    // pager groups A and B of w1 together; `continue` passes both on to `everything`,
    // which groups by every label; A of w2 (not paging) goes to `everything` alone.
    const std::map<std::string, std::vector<std::string>> expected{
        {"pager{workflow_uuid=\"w1\"}", {"Aw1", "Bw1"}},
        {"everything{alertname=\"A\", severity=\"page\", workflow_uuid=\"w1\"}", {"Aw1"}},
        {"everything{alertname=\"B\", severity=\"page\", workflow_uuid=\"w1\"}", {"Bw1"}},
        {"everything{alertname=\"A\", severity=\"info\", workflow_uuid=\"w2\"}", {"Aw2"}},
    };
    EXPECT_EQ(by_group, expected);
}

// A backtracking engine never returns from this (6^100 paths); the test asserts answers
// and relies on ctest's timeout for a hang.
TEST(SilenceRegex, PathologicalRegexDoesNotPinTheCaller) {
    testing::TempDir dir;
    FakeClock clock;
    SilenceStore store(dir.file("s.db"), clock);
    auto added = store.add({.matchers = {m(R"x(workflow_name=~"(.|.|.|.|.|.)*Z")x")},
                            .ends_at = clock.now() + 1h,
                            .comment = "c"});
    ASSERT_TRUE(std::holds_alternative<std::string>(added)) << reason(added);
    const std::string hundred(100, 'a');
    EXPECT_FALSE(store.silenced({{"workflow_name", hundred}}));
    EXPECT_TRUE(store.silenced({{"workflow_name", hundred + "Z"}}));
}

TEST(SilenceLimits, EachLimitRefusesWithItsReason) {
    testing::TempDir dir;
    FakeClock clock;
    SilenceStore store(dir.file("s.db"), clock, Millis{3'600'000},
                       SilenceLimits{.max_silences = 2,
                                     .max_matchers = 2,
                                     .max_value_length = 8,
                                     .max_comment_length = 10,
                                     .max_created_by_length = 5});
    auto silence = [&](std::vector<metrics::Matcher> matchers, std::string comment = "c", std::string by = "ops") {
        return Silence{.matchers = std::move(matchers),
                       .ends_at = clock.now() + 1h,
                       .created_by = std::move(by),
                       .comment = std::move(comment)};
    };
    EXPECT_NE(reason(store.add(silence({m("a=1"), m("b=2"), m("c=3")}))).find("3 matchers, more than the limit of 2"),
              std::string::npos);
    EXPECT_NE(reason(store.add(silence({m("a=123456789")}))).find("the value of matcher \"a\" is 9 bytes"),
              std::string::npos);
    EXPECT_NE(reason(store.add(silence({m("a=1")}, "12345678901"))).find("comment is 11 bytes"), std::string::npos);
    EXPECT_NE(reason(store.add(silence({m("a=1")}, "c", "123456"))).find("createdBy is 6 bytes"), std::string::npos);
    EXPECT_TRUE(store.list().empty());

    auto first = store.add(silence({m("a=1")}));
    ASSERT_TRUE(std::holds_alternative<std::string>(first)) << reason(first);
    EXPECT_EQ(reason(store.add(silence({m("a=2")}))), "(accepted)");
    EXPECT_NE(reason(store.add(silence({m("a=3")}))).find("already 2 active or pending silences"), std::string::npos);
    // Expired silences wait for gc() but no longer count.
    ASSERT_TRUE(store.expire(std::get<std::string>(first)));
    EXPECT_EQ(reason(store.add(silence({m("a=3")}))), "(accepted)");
    EXPECT_EQ(store.list().size(), 3u);
}

TEST(SilenceRetention, GcDropsOnlySilencesExpiredPastTheRetention) {
    testing::TempDir dir;
    FakeClock clock;
    const Millis retention{3'600'000};
    {
        SilenceStore store(dir.file("s.db"), clock, retention);
        ASSERT_EQ(reason(store.add({.matchers = {m("a=1")}, .ends_at = clock.now() + 1h, .comment = "old"})),
                  "(accepted)");
        ASSERT_EQ(reason(store.add({.matchers = {m("a=2")}, .ends_at = clock.now() + 3h, .comment = "new"})),
                  "(accepted)");
        clock.advance(1h + 30min);  // the first expired 30 minutes ago: kept, listed as expired
        store.gc();
        EXPECT_EQ(store.list().size(), 2u);
        clock.advance(31min);  // now past its retention
        store.gc();
        ASSERT_EQ(store.list().size(), 1u);
        EXPECT_EQ(store.list()[0].comment, "new");
    }
    SilenceStore reopened(dir.file("s.db"), clock, retention);  // gone from the file too
    ASSERT_EQ(reopened.list().size(), 1u);
    EXPECT_EQ(reopened.list()[0].comment, "new");
}

}  // namespace
}  // namespace cargomon::alerts::notify
