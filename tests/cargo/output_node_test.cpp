// The output node of a release's graph (cargo/output_node.h): where the graph ends,
// whatever the order of the node list; branches that never join make several ends, and
// only an "output" or "end" slug chooses among them; a release that does not say its
// nodes' children (as Cargo's docs show one) falls back to that slug.
#include "cargo/output_node.h"

#include <gtest/gtest.h>

namespace cargomon::cargo {
namespace {

WorkflowNode node(std::string uuid, std::string slug, std::optional<std::vector<std::string>> children) {
    return {.uuid = std::move(uuid), .slug = std::move(slug), .kind = "native", .children_uuids = std::move(children)};
}

using Slugs = std::vector<std::string>;

TEST(OutputNode, TheNodeAChainEndsAtWhateverTheListOrder) {
    // start -> enrich -> score, listed out of order.
    const std::vector<WorkflowNode> nodes = {node("3", "score", Slugs{}), node("1", "start", Slugs{"2"}),
                                             node("2", "enrich", Slugs{"3"})};
    const OutputNode chosen = output_node(nodes);
    EXPECT_EQ(chosen.slug, "score");
    EXPECT_EQ(chosen.candidates, Slugs{"score"});
}

TEST(OutputNode, ADiamondEndsWhereItsBranchesJoin) {
    const std::vector<WorkflowNode> nodes = {node("1", "start", Slugs{"2", "3"}), node("2", "a", Slugs{"4"}),
                                             node("3", "b", Slugs{"4"}), node("4", "merge", Slugs{})};
    EXPECT_EQ(output_node(nodes).slug, "merge");
}

TEST(OutputNode, BranchesThatNeverJoinAreRefusedUnlessOneIsNamedOutputOrEnd) {
    const std::vector<WorkflowNode> fork = {node("1", "start", Slugs{"2", "3"}), node("2", "notify", Slugs{}),
                                            node("3", "crm", Slugs{})};
    const OutputNode refused = output_node(fork);
    EXPECT_EQ(refused.slug, std::nullopt);
    EXPECT_EQ(refused.candidates, (Slugs{"notify", "crm"}));

    const std::vector<WorkflowNode> named = {node("1", "start", Slugs{"2", "3"}), node("2", "notify", Slugs{}),
                                             node("3", "end", Slugs{})};
    EXPECT_EQ(output_node(named).slug, "end");
    const std::vector<WorkflowNode> both = {node("1", "start", Slugs{"2", "3"}), node("2", "output", Slugs{}),
                                            node("3", "end", Slugs{})};
    EXPECT_EQ(output_node(both).slug, std::nullopt) << "two named ends are still two";
}

TEST(OutputNode, FallbackChildrenAndDanglingLinks) {
    // A fallback child is a child (decode adds fallbackChildUuid to children_uuids); a
    // child that is not in the release, or the node itself, leads nowhere.
    const std::vector<WorkflowNode> nodes = {node("1", "start", Slugs{"2"}), node("2", "call", Slugs{"9", "2"}),
                                             node("3", "fallback", Slugs{})};
    EXPECT_EQ(output_node(nodes).candidates, (Slugs{"call", "fallback"}));
    const std::vector<WorkflowNode> with_fallback = {node("1", "start", Slugs{"2"}), node("2", "call", Slugs{"3"}),
                                                     node("3", "fallback", Slugs{})};
    EXPECT_EQ(output_node(with_fallback).slug, "fallback");
}

TEST(OutputNode, WithoutChildrenUuidsOnlyTheSlugChooses) {
    const std::vector<WorkflowNode> docs = {node("1", "enrich_company", std::nullopt),
                                            node("2", "send_email", std::nullopt), node("3", "output", std::nullopt)};
    const OutputNode chosen = output_node(docs);
    EXPECT_EQ(chosen.slug, "output");
    EXPECT_EQ(chosen.candidates.size(), 3u);
    EXPECT_EQ(output_node({node("1", "a", std::nullopt), node("2", "b", std::nullopt)}).slug, std::nullopt);
    EXPECT_EQ(output_node({}).slug, std::nullopt);
    EXPECT_TRUE(output_node({}).candidates.empty());
}

TEST(OutputNode, ACycleHasNoEnd) {
    const OutputNode chosen = output_node({node("1", "a", Slugs{"2"}), node("2", "b", Slugs{"1"})});
    EXPECT_EQ(chosen.slug, std::nullopt);
    EXPECT_TRUE(chosen.candidates.empty());
}

}  // namespace
}  // namespace cargomon::cargo
