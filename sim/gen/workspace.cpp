#include "sim/gen/workspace.h"

namespace cargomon::sim {

const char* to_string(NodeKind kind) {
    switch (kind) {
        case NodeKind::native: return "native";
        case NodeKind::connector: return "connector";
        case NodeKind::tool: return "tool";
        case NodeKind::agent: return "agent";
    }
    return "native";
}

const char* to_string(WorkflowKind kind) { return kind == WorkflowKind::play ? "play" : "tool"; }

const Workflow* Workspace::find_workflow(const std::string& uuid) const {
    for (const Workflow& w : workflows)
        if (w.uuid == uuid) return &w;
    return nullptr;
}

ReleaseAt release_at(const Workflow& workflow, SystemTime t) {
    if (t >= workflow.deployed_at || workflow.earlier_releases.empty()) return {workflow.release_uuid, workflow.nodes};
    // The last one deployed at or before t; the first one for anything earlier.
    const Release* in_force = &workflow.earlier_releases.front();
    for (const Release& r : workflow.earlier_releases)
        if (r.deployed_at <= t) in_force = &r;
    return {in_force->uuid, in_force->nodes};
}

}  // namespace cargomon::sim
