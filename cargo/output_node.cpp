#include "cargo/output_node.h"

#include <algorithm>
#include <set>

namespace cargomon::cargo {

OutputNode output_node(const std::vector<WorkflowNode>& nodes) {
    OutputNode out;
    std::set<std::string> uuids;
    for (const WorkflowNode& n : nodes) uuids.insert(n.uuid);
    const bool graph_known =
        std::any_of(nodes.begin(), nodes.end(), [](const WorkflowNode& n) { return n.children_uuids.has_value(); });
    for (const WorkflowNode& n : nodes) {
        if (n.slug.empty()) continue;
        // A child outside the release (a dangling link) leads nowhere either.
        const bool leads_on = graph_known && n.children_uuids &&
                              std::any_of(n.children_uuids->begin(), n.children_uuids->end(),
                                          [&](const std::string& c) { return c != n.uuid && uuids.count(c) > 0; });
        if (!leads_on) out.candidates.push_back(n.slug);
    }
    if (out.candidates.size() == 1) {
        out.slug = out.candidates.front();
        return out;
    }
    std::vector<std::string> named;
    for (const std::string& s : out.candidates)
        if (s == "output" || s == "end") named.push_back(s);
    if (named.size() == 1) out.slug = named.front();
    return out;
}

}  // namespace cargomon::cargo
