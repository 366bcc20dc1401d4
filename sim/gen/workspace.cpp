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

}  // namespace cargomon::sim
