#pragma once
// What a simulated workspace contains besides its tables: the workflows with their
// plays and tools and node graphs. Generated from the seed, fixed for the sim's life.
#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"

namespace cargomon::sim {

enum class NodeKind { native, connector, tool, agent };
const char* to_string(NodeKind kind);

struct Node {
    std::string uuid;
    std::string slug;               // unique within its workflow, e.g. "enrich_company"
    NodeKind kind = NodeKind::native;
    std::string action_slug;        // native and connector nodes
    std::string integration_slug;   // connector nodes ("", otherwise)
    std::string connector_uuid;     // connector nodes
    std::string tool_uuid;          // tool nodes
    std::string agent_uuid;         // agent nodes
    std::vector<std::string> children_uuids;
    // Generator parameters, not part of any API answer:
    double error_rate = 0.0;        // probability an execution of this node fails
    bool has_fallback = false;      // a failed execution takes the fallback path: the run goes on
    std::vector<std::string> error_messages;  // what a failed execution says, one picked at random
    double credits_per_execution = 0.0;
    double mean_duration_s = 1.0;
};

// A version of a workflow's graph. Runs and batches keep the release they started on.
struct Release {
    std::string uuid;
    int version = 1;
    SystemTime deployed_at;
    std::vector<Node> nodes;  // nodes[0] is the entry node
};

enum class WorkflowKind { play, tool };
const char* to_string(WorkflowKind kind);

struct Workflow {
    std::string uuid;
    WorkflowKind kind = WorkflowKind::play;
    std::string owner_uuid;         // the play's or tool's uuid
    std::string name;               // the play's or tool's name
    bool enabled = true;            // plays only; tools are always "enabled"
    int health_threshold = 80;      // plays only
    std::string release_uuid;       // the deployed release: its uuid, version, time and nodes here
    int release_version = 1;
    SystemTime deployed_at;
    std::string model_uuid;         // plays only
    std::string segment_uuid;       // plays only
    std::string user_uuid;
    SystemTime created_at;
    std::vector<Node> nodes;        // nodes[0] is the entry node; linked by children_uuids
    // Releases deployed before, oldest first. A node kept from one release to the next
    // keeps its uuid and slug; the graph around it changes.
    std::vector<Release> earlier_releases;
    // Generator parameters:
    double batches_per_day = 10.0;  // also the workflow's share of the live run rate
    int max_batch_records = 500;
    double runs_per_second = 20.0;  // how fast a batch feeds its records in
};

// The release a workflow ran on at a time: an earlier one, or the deployed one.
struct ReleaseAt {
    const std::string& uuid;
    const std::vector<Node>& nodes;
};
ReleaseAt release_at(const Workflow& workflow, SystemTime t);

struct Workspace {
    std::string uuid;
    std::string database;           // ClickHouse database holding its four tables
    std::vector<Workflow> workflows;

    const Workflow* find_workflow(const std::string& uuid) const;
};

}  // namespace cargomon::sim
