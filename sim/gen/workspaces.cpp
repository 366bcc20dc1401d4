// generate_workspaces (sim/gen/generator.h): the workflows of each workspace, with GTM
// names, node graphs and the knobs the history and live generators read.
#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

#include "sim/gen/random.h"
#include "sim/gen/generator.h"

namespace cargomon::sim {
namespace {

constexpr const char* kVerbs[] = {"Enrich", "Score",      "Route", "Qualify",           "Research",           "Sync",
                                  "Dedupe", "Prioritize", "Clean", "Find contacts for", "Draft outreach for", "Tag"};
constexpr const char* kObjects[] = {"inbound leads",        "target accounts",   "demo requests",
                                    "webinar signups",      "trial users",       "closed-lost deals",
                                    "website visitors",     "event attendees",   "expansion accounts",
                                    "churn-risk customers", "partner referrals", "job changers"};

struct NativeTemplate {
    const char* slug;
    const char* action;
};
constexpr NativeTemplate kNatives[] = {{"filter_icp", "filter"},     {"route_by_region", "branch"},
                                       {"compute_score", "formula"}, {"set_fields", "variables"},
                                       {"dedupe_records", "dedupe"}, {"wait_for_enrichment", "wait"}};

struct ConnectorTemplate {
    const char* integration;
    const char* action;
    const char* slug;
    double credits;
    double mean_duration_s;
};
constexpr ConnectorTemplate kConnectors[] = {
    {"hubspot", "upsert_contact", "hubspot_upsert_contact", 0.5, 0.8},
    {"hubspot", "update_company", "hubspot_update_company", 0.5, 0.7},
    {"salesforce", "upsert_lead", "salesforce_upsert_lead", 0.5, 1.2},
    {"salesforce", "create_task", "salesforce_create_task", 0.5, 0.9},
    {"clearbit", "enrich_company", "clearbit_enrich_company", 2, 1.5},
    {"apollo", "find_people", "apollo_find_people", 1, 2.0},
    {"apollo", "enrich_person", "apollo_enrich_person", 1, 1.4},
    {"openai", "complete", "openai_summarize", 0.5, 2.5},
    {"slack", "send_message", "slack_notify_owner", 0, 0.4},
};

constexpr const char* kToolSlugs[] = {"run_find_email", "run_company_lookup", "run_lead_router"};
constexpr const char* kAgentSlugs[] = {"research_agent", "qualify_agent", "write_email_agent"};

std::vector<std::string> error_catalog(const Node& node) {
    if (node.kind == NodeKind::connector) {
        static const std::map<std::string, std::vector<std::string>> by_integration = {
            {"hubspot",
             {"HubSpot API rate limit exceeded (429)", "Contact already exists",
              "Property 'lifecyclestage' does not exist"}},
            {"salesforce",
             {"REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded", "DUPLICATES_DETECTED: Use one of these records?",
              "INVALID_FIELD: No such column 'Score__c' on entity 'Lead'"}},
            {"clearbit", {"Company not found for domain", "Clearbit request timed out after 30s"}},
            {"apollo",
             {"No person matched the given email", "Apollo API credits exhausted",
              "Apollo request failed: 502 Bad Gateway"}},
            {"openai",
             {"Model response did not match the output schema", "OpenAI request timed out",
              "Rate limit reached for requests"}},
            {"slack", {"channel_not_found", "not_in_channel"}},
        };
        return by_integration.at(node.integration_slug);
    }
    switch (node.kind) {
        case NodeKind::native:
            return {"Missing required field 'domain'", "Formula evaluation failed: division by zero"};
        case NodeKind::tool:
            return {"Tool run failed: child workflow returned an error", "Tool run timed out after 300s"};
        default:
            return {"Agent exceeded the maximum number of steps (25)", "Agent output failed validation",
                    "Agent model call failed: context length exceeded"};
    }
}

// The first `count` of a seeded shuffle of every verb-object name; past that, numbered copies.
std::vector<std::string> workflow_names(int count, Rng& rng) {
    std::vector<std::string> all;
    for (const char* v : kVerbs)
        for (const char* o : kObjects) all.push_back(std::string(v) + " " + o);
    for (std::size_t i = all.size() - 1; i > 0; --i) std::swap(all[i], all[rng.below(i + 1)]);
    std::vector<std::string> names;
    for (int i = 0; i < count; ++i) {
        std::string name = all[i % all.size()];
        if (i >= static_cast<int>(all.size())) name += " " + std::to_string(i / all.size() + 1);
        names.push_back(std::move(name));
    }
    return names;
}

Node make_node(NodeKind kind, Rng& rng, const std::map<std::string, std::string>& connectors) {
    Node n;
    n.kind = kind;
    switch (kind) {
        case NodeKind::native: {
            const NativeTemplate& t = kNatives[rng.below(std::size(kNatives))];
            n.slug = t.slug;
            n.action_slug = t.action;
            n.mean_duration_s = rng.uniform(0.05, 0.3);
            break;
        }
        case NodeKind::connector: {
            const ConnectorTemplate& t = kConnectors[rng.below(std::size(kConnectors))];
            n.slug = t.slug;
            n.action_slug = t.action;
            n.integration_slug = t.integration;
            n.connector_uuid = connectors.at(t.integration);
            n.credits_per_execution = t.credits;
            n.mean_duration_s = t.mean_duration_s * rng.uniform(0.7, 1.4);
            n.has_fallback = rng.chance(0.2);
            break;
        }
        case NodeKind::tool:
            n.slug = kToolSlugs[rng.below(std::size(kToolSlugs))];
            n.action_slug = "run_tool";
            n.tool_uuid = rng.uuid();
            n.credits_per_execution = 1;
            n.mean_duration_s = rng.uniform(2, 8);
            break;
        case NodeKind::agent:
            n.slug = kAgentSlugs[rng.below(std::size(kAgentSlugs))];
            n.action_slug = "agent";
            n.agent_uuid = rng.uuid();
            n.credits_per_execution = 2;
            n.mean_duration_s = rng.uniform(6, 25);
            break;
    }
    n.error_rate = rng.uniform(0.0005, 0.0025);  // at most 8 nodes: a healthy workflow stays under 2 %
    n.error_messages = error_catalog(n);
    n.error_messages.resize(std::min<std::size_t>(n.error_messages.size(), rng.between(2, 3)));
    return n;
}

NodeKind random_kind(Rng& rng) {
    double u = rng.uniform();
    if (u < 0.5) return NodeKind::connector;
    if (u < 0.7) return NodeKind::native;
    if (u < 0.85) return NodeKind::agent;
    return NodeKind::tool;
}

// The node a branch of a graph may end at: what Cargo's docs call the terminal node.
void make_end_node(Node& n) {
    n = Node{.uuid = n.uuid, .slug = "end", .kind = NodeKind::native, .action_slug = "end"};
    n.mean_duration_s = 0.05;
    n.error_rate = 0.0002;
    n.error_messages = {"Output mapping failed: a variable has no value"};
}

// Links the nodes into a graph from nodes[0]: a chain; or a diamond (a node branches in
// two and the branches join at the last node); or a fork (the last two nodes end two
// branches, so the graph has two ends: in half of them the second is an "end" node). The
// draws come from their own stream: the rest of the workspace is the same whatever the shape.
void link_graph(std::vector<Node>& nodes, Rng rng) {
    const std::size_t n = nodes.size();
    for (std::size_t i = 0; i + 1 < n; ++i) nodes[i].children_uuids = {nodes[i + 1].uuid};
    const double shape = rng.uniform();
    if (shape < 0.35 && n >= 5) {
        Node& split = nodes[n - 4];
        split.children_uuids = {nodes[n - 3].uuid, nodes[n - 2].uuid};
        nodes[n - 3].children_uuids = {nodes[n - 1].uuid};
    } else if (shape > 0.6 && n >= 4) {
        nodes[n - 3].children_uuids = {nodes[n - 2].uuid, nodes[n - 1].uuid};
        nodes[n - 2].children_uuids.clear();
        if (rng.chance(0.5)) make_end_node(nodes[n - 1]);
    }
}

// Half the workflows were deployed once before, partway through the history: that first
// release was a chain of the first nodes, all but the last two (but at least two): it
// ends at a node that today's graph leads on from (kept, with its uuid and slug).
void add_earlier_release(Workflow& w, Rng rng, const GeneratorOptions& options) {
    w.deployed_at = w.created_at;
    if (!rng.chance(0.5) || w.nodes.size() < 3) return;
    Release first{.uuid = rng.uuid(), .version = 1, .deployed_at = w.created_at};
    const std::size_t kept = std::max<std::size_t>(2, w.nodes.size() - 2);
    first.nodes.assign(w.nodes.begin(), w.nodes.begin() + static_cast<std::ptrdiff_t>(kept));
    for (std::size_t i = 0; i < first.nodes.size(); ++i)
        first.nodes[i].children_uuids =
            i + 1 < first.nodes.size() ? std::vector<std::string>{first.nodes[i + 1].uuid} : std::vector<std::string>{};
    w.earlier_releases.push_back(std::move(first));
    w.release_version = 2;
    w.deployed_at = options.now - std::chrono::duration_cast<std::chrono::milliseconds>(
                                      options.history * rng.uniform(0.3, 0.7));
}

std::vector<Node> make_graph(Rng& rng, const std::map<std::string, std::string>& connectors) {
    std::vector<Node> nodes;
    Node start;
    start.slug = "start";
    start.action_slug = "start";
    start.kind = NodeKind::native;
    start.mean_duration_s = 0.05;
    start.error_rate = 0.0002;
    start.error_messages = {"Record is missing its id"};
    nodes.push_back(std::move(start));
    const int count = rng.between(3, 8);
    while (static_cast<int>(nodes.size()) < count) {
        Node n = make_node(random_kind(rng), rng, connectors);
        int same = 0;
        for (const Node& other : nodes) same += other.slug.rfind(n.slug, 0) == 0 ? 1 : 0;
        if (same > 0) n.slug += "_" + std::to_string(same + 1);
        nodes.push_back(std::move(n));
    }
    // A few workflows have one bad node: the alerting demos need something to find.
    if (rng.chance(0.2)) {
        Node& bad = nodes[1 + rng.below(nodes.size() - 1)];
        bad.error_rate = rng.uniform(0.10, 0.40);
        bad.has_fallback = false;
    }
    for (Node& n : nodes) n.uuid = rng.uuid();
    link_graph(nodes, rng.fork(0x6772617068));
    return nodes;
}

Workflow make_workflow(std::string name, Rng& rng, const GeneratorOptions& options,
                       const std::vector<std::string>& users, const std::map<std::string, std::string>& connectors) {
    Workflow w;
    w.uuid = rng.uuid();
    w.kind = rng.chance(0.65) ? WorkflowKind::play : WorkflowKind::tool;
    w.owner_uuid = rng.uuid();
    w.name = std::move(name);
    w.release_uuid = rng.uuid();
    w.user_uuid = users[rng.below(users.size())];
    w.created_at = options.now - options.history - std::chrono::hours{24 * rng.between(1, 120)};
    if (w.kind == WorkflowKind::play) {
        w.enabled = rng.chance(0.85);
        w.health_threshold = 5 * rng.between(14, 19);
        w.model_uuid = rng.uuid();
        w.segment_uuid = rng.uuid();
        w.batches_per_day = rng.uniform(4, 10);  // scheduled: the segment is re-read every few hours
        w.max_batch_records = rng.between(1000, 5000);
    } else {
        w.batches_per_day = rng.uniform(2, 8);  // on demand
        w.max_batch_records = rng.between(200, 2000);
    }
    w.runs_per_second = rng.uniform(5, 40);
    w.nodes = make_graph(rng, connectors);
    add_earlier_release(w, rng.fork(0x72656c65617365), options);
    return w;
}

}  // namespace

std::vector<Workspace> generate_workspaces(const GeneratorOptions& options) {
    validate(options);
    Rng root(options.seed);
    std::vector<Workspace> workspaces;
    for (int i = 0; i < options.workspaces; ++i) {
        Rng rng = root.fork(static_cast<std::uint64_t>(i));
        Workspace ws;
        ws.uuid = rng.uuid();
        ws.database = "ws_" + ws.uuid.substr(0, 8) + ws.uuid.substr(9, 4) + ws.uuid.substr(14, 4);
        std::vector<std::string> users;
        for (int u = 0; u < 4; ++u) users.push_back(rng.uuid());
        std::map<std::string, std::string> connectors;
        for (const ConnectorTemplate& t : kConnectors)
            if (!connectors.count(t.integration)) connectors[t.integration] = rng.uuid();
        for (std::string& name : workflow_names(options.workflows, rng))
            ws.workflows.push_back(make_workflow(std::move(name), rng, options, users, connectors));
        workspaces.push_back(std::move(ws));
    }
    return workspaces;
}

}  // namespace cargomon::sim
