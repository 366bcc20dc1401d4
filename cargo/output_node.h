#pragma once
// Which node of a release holds a run's output: what `cargomon export outputs` and
// `export batch` ask the download for when --node is not given. A release's nodes are a
// graph (childrenUuids), not a list: the output is where the graph ends.
#include <optional>
#include <string>
#include <vector>

#include "cargo/types.h"

namespace cargomon::cargo {

struct OutputNode {
    std::optional<std::string> slug;  // the one output node; nullopt when there is none or several
    std::vector<std::string> candidates;  // the slugs it was chosen among, in the release's order
};

// The node that leads nowhere (no child inside the release, fallback children counted).
// Several such nodes (branches that never join): the one whose slug is "output" or "end"
// (the names Cargo's docs give the terminal node) when exactly one is; else none, and
// `candidates` lists them all. When no node says its children (Cargo's docs show release
// nodes without childrenUuids), every node is a candidate and only the slug rule can choose.
OutputNode output_node(const std::vector<WorkflowNode>& nodes);

}  // namespace cargomon::cargo
