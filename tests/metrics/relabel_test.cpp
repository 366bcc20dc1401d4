// Relabelling as Prometheus 2.42's model/relabel does it, and its hashmod against MD5
// values computed apart (Python's hashlib: int.from_bytes(md5(v).digest()[8:], "big") % m).
#include "metrics/relabel.h"

#include <gtest/gtest.h>

#include <limits>

#include "metrics/labels.h"

namespace cargomon::metrics {
namespace {

RelabelConfig made(RelabelConfig config) {
    auto result = make_relabel_config(std::move(config));
    if (auto* error = std::get_if<RelabelError>(&result)) throw std::runtime_error(error->message);
    return std::get<RelabelConfig>(std::move(result));
}

std::string refused(RelabelConfig config) {
    auto result = make_relabel_config(std::move(config));
    auto* error = std::get_if<RelabelError>(&result);
    return error ? error->field + ": " + error->message : "accepted";
}

// Applies one config; nullopt when it drops the set.
std::optional<Labels> apply(Labels labels, RelabelConfig config) {
    if (!relabel(labels, {made(std::move(config))})) return std::nullopt;
    return labels;
}

TEST(Hashmod, MatchesMd5ComputedApart) {
    EXPECT_EQ(hashmod("", 7), 1u);
    EXPECT_EQ(hashmod("", 1), 0u);
    EXPECT_EQ(hashmod("a", 3), 1u);
    EXPECT_EQ(hashmod("foo", 1000), 696u);
    EXPECT_EQ(hashmod("foo;bar", 1000), 750u);
    EXPECT_EQ(hashmod("workspace-01", 3), 1u);
    EXPECT_EQ(hashmod("\xc3\xbc" "n" "\xc3\xaf" "code", 17), 2u);  // "ünïcode" in UTF-8: bytes, not characters
    // The whole 64-bit tail, so a wrong byte order or a short read cannot pass.
    EXPECT_EQ(hashmod("cargomon", std::numeric_limits<std::uint64_t>::max()), 10481903137349915995u);
    EXPECT_EQ(hashmod("", std::numeric_limits<std::uint64_t>::max()), 16825458760271544958u);
    EXPECT_THROW(hashmod("x", 0), std::invalid_argument);
}

TEST(Relabel, HashmodSetsTheBucketOfTheJoinedSources) {
    auto out = apply({{"a", "foo"}, {"b", "bar"}},
                     {.action = RelabelAction::hashmod, .source_labels = {"a", "b"}, .modulus = 1000,
                      .target_label = "shard"});
    ASSERT_TRUE(out);
    EXPECT_EQ(label_value(*out, "shard"), "750");  // md5("foo;bar")
}

TEST(Relabel, LabeldropRemovesMatchingNamesOnly) {
    auto out = apply({{"alertname", "X"}, {"replica", "a"}, {"replica_set", "r"}},
                     {.action = RelabelAction::labeldrop, .regex = "replica"});
    ASSERT_TRUE(out);
    // Anchored: "replica" does not drop replica_set.
    EXPECT_EQ(*out, (Labels{{"alertname", "X"}, {"replica_set", "r"}}));
    out = apply({{"a", "1"}, {"b", "2"}, {"c", "3"}}, {.action = RelabelAction::labelkeep, .regex = "a|c"});
    EXPECT_EQ(*out, (Labels{{"a", "1"}, {"c", "3"}}));
}

TEST(Relabel, KeepAndDropMatchTheWholeJoinedValue) {
    const Labels labels{{"env", "prod"}, {"team", "data"}};
    EXPECT_TRUE(apply(labels, {.action = RelabelAction::keep, .source_labels = {"env", "team"}, .regex = "prod;data"}));
    EXPECT_FALSE(apply(labels, {.action = RelabelAction::keep, .source_labels = {"env"}, .regex = "pro"}));
    EXPECT_FALSE(apply(labels, {.action = RelabelAction::drop, .source_labels = {"env"}, .regex = "p.*"}));
    EXPECT_TRUE(apply(labels, {.action = RelabelAction::drop, .source_labels = {"env"}, .regex = "rod"}));
    // A missing label reads as empty.
    EXPECT_FALSE(apply(labels, {.action = RelabelAction::drop, .source_labels = {"nope"}, .regex = ""}));
    EXPECT_TRUE(apply(labels, {.action = RelabelAction::keepequal, .source_labels = {"env"}, .target_label = "env"}));
    EXPECT_FALSE(apply(labels, {.action = RelabelAction::keepequal, .source_labels = {"env"}, .target_label = "team"}));
    EXPECT_FALSE(apply(labels, {.action = RelabelAction::dropequal, .source_labels = {"env"}, .target_label = "env"}));
}

TEST(Relabel, ReplaceExpandsGroupsAsGoDoes) {
    const Labels labels{{"instance", "host-7:9100"}};
    auto out = apply(labels, {.source_labels = {"instance"}, .regex = "(.*):(\\d+)", .target_label = "host",
                              .replacement = "$1"});
    EXPECT_EQ(label_value(*out, "host"), "host-7");
    // ${1}x is group 1 then x; $1x names a group "1x", which does not exist: empty, so
    // the target is removed (here: never set).
    out = apply(labels, {.source_labels = {"instance"}, .regex = "(.*):.*", .target_label = "h", .replacement = "${1}x"});
    EXPECT_EQ(label_value(*out, "h"), "host-7x");
    out = apply(labels, {.source_labels = {"instance"}, .regex = "(.*):.*", .target_label = "h", .replacement = "$1x"});
    EXPECT_EQ(find_label(*out, "h"), nullptr);
    // Named groups, $$ and a malformed $ kept as text.
    out = apply(labels, {.source_labels = {"instance"}, .regex = "(?P<host>[^:]+):(?P<port>.*)",
                         .target_label = "x", .replacement = "$$${port}-$host-$-"});
    EXPECT_EQ(label_value(*out, "x"), "$9100-host-7-$-");
    // A $-reference in the target label.
    out = apply(labels, {.source_labels = {"instance"}, .regex = "(host)-(\\d)", .target_label = "${1}_$2",
                         .replacement = "yes"});
    EXPECT_EQ(label_value(*out, "x"), "");
    out = apply(labels, {.source_labels = {"instance"}, .regex = "(host)-(\\d):.*", .target_label = "${1}_$2",
                         .replacement = "yes"});
    EXPECT_EQ(label_value(*out, "host_7"), "yes");
    // No match: nothing changes; an empty replacement removes the target.
    out = apply(labels, {.source_labels = {"instance"}, .regex = "nomatch", .target_label = "instance",
                         .replacement = "z"});
    EXPECT_EQ(*out, labels);
    out = apply(labels, {.source_labels = {"instance"}, .target_label = "instance", .replacement = ""});
    EXPECT_TRUE(out->empty());
    // The defaults copy a label ($1 of (.*)); an expanded target that is no label name is skipped.
    out = apply(labels, {.source_labels = {"instance"}, .target_label = "copy"});
    EXPECT_EQ(label_value(*out, "copy"), "host-7:9100");
    out = apply(labels, {.source_labels = {"instance"}, .regex = "(.*)", .target_label = "$1"});
    EXPECT_EQ(*out, labels);
}

TEST(Relabel, LabelmapCopiesMatchingNames) {
    auto out = apply({{"__meta_env", "prod"}, {"__meta_team", "data"}, {"job", "j"}},
                     {.action = RelabelAction::labelmap, .regex = "__meta_(.+)"});
    EXPECT_EQ(*out, (Labels{{"__meta_env", "prod"}, {"__meta_team", "data"}, {"env", "prod"}, {"job", "j"},
                            {"team", "data"}}));
}

TEST(Relabel, StepsRunInOrderAndStopAtADrop) {
    Labels labels{{"alertname", "A"}, {"replica", "b"}};
    const std::vector<RelabelConfig> steps{
        made({.source_labels = {"replica"}, .target_label = "was"}),
        made({.action = RelabelAction::labeldrop, .regex = "replica"}),
        made({.action = RelabelAction::drop, .source_labels = {"alertname"}, .regex = "B"}),
    };
    ASSERT_TRUE(relabel(labels, steps));
    EXPECT_EQ(labels, (Labels{{"alertname", "A"}, {"was", "b"}}));
    Labels other{{"alertname", "B"}};
    EXPECT_FALSE(relabel(other, steps));
}

TEST(RelabelConfig, RefusesWhatPrometheusRefuses) {
    EXPECT_EQ(refused({.regex = "("}).substr(0, 17), "regex: bad regex ");
    EXPECT_EQ(refused({.source_labels = {"a"}}), ": replace needs a target_label");
    EXPECT_EQ(refused({.target_label = "1x"}).substr(0, 14), "target_label: ");
    EXPECT_EQ(refused({.action = RelabelAction::hashmod, .target_label = "s"}), "modulus: hashmod needs a modulus above 0");
    EXPECT_EQ(refused({.action = RelabelAction::hashmod, .modulus = 3}),
              ": hashmod needs a target_label that is a label name");
    EXPECT_EQ(refused({.action = RelabelAction::labeldrop, .regex = "a", .target_label = "t"}),
              ": labeldrop takes a regex (matched against label names), and no other field");
    EXPECT_EQ(refused({.action = RelabelAction::keepequal, .regex = "x", .target_label = "t"}),
              ": keepequal takes source_labels and target_label, and no other field");
    EXPECT_EQ(refused({.action = RelabelAction::labelmap, .replacement = "-"}).substr(0, 13), "replacement: ");
    EXPECT_EQ(refused({.source_labels = {"bad-name"}, .target_label = "t"}).substr(0, 15), "source_labels: ");
    // Bounded as every regex in cargomon.
    EXPECT_EQ(refused({.regex = std::string(kMaxRegexLength + 1, 'a'), .target_label = "t"}).substr(0, 16),
              "regex: bad regex");
    EXPECT_EQ(refused({.action = RelabelAction::drop, .source_labels = {"a"}, .regex = "x"}), "accepted");
}

TEST(RelabelConfig, ActionsByName) {
    for (auto action : {RelabelAction::replace, RelabelAction::keep, RelabelAction::drop, RelabelAction::keepequal,
                        RelabelAction::dropequal, RelabelAction::hashmod, RelabelAction::labelmap,
                        RelabelAction::labeldrop, RelabelAction::labelkeep})
        EXPECT_EQ(relabel_action(relabel_action_name(action)), action);
    EXPECT_FALSE(relabel_action("lowercase"));
}

}  // namespace
}  // namespace cargomon::metrics
