#include "actions/failures.h"

#include <algorithm>
#include <set>

#include "common/text.h"

namespace cargomon::actions {
namespace {
constexpr int kPage = 1000;
}  // namespace

FailedRun failure_of(const cargo::Run& run) {
    const cargo::Execution* stop = nullptr;
    for (const auto& e : run.executions)
        if (e.status == "error") stop = &e;
    FailedRun out{.uuid = run.uuid, .record_id = run.record_id, .node_slug = stop ? stop->node_slug : ""};
    out.message = stop && stop->error_message ? stop->error_message : run.error_message;
    return out;
}

std::vector<FailedRun> read_failed_runs(cargo::ApiClient& client, const cargo::Batch& batch, int max,
                                        const std::function<bool(const std::vector<FailedRun>&)>& enough) {
    cargo::RunFilter failed{.workflow_uuid = batch.workflow_uuid, .statuses = {"error"}, .batch_uuid = batch.uuid};
    std::vector<FailedRun> out;
    for (int offset = 0; offset < max; offset += kPage) {
        cargo::RunPage page = client.list_runs(failed, std::min(kPage, max - offset), offset);
        for (const auto& run : page.runs) out.push_back(failure_of(run));
        if (enough && enough(out)) break;
        if (page.runs.size() < static_cast<std::size_t>(kPage)) break;
    }
    return out;
}

Diagnosis diagnose(cargo::ApiClient& client, const std::string& batch_uuid) {
    Diagnosis d;
    d.batch = client.get_batch(batch_uuid);
    for (const auto& w : client.list_workflows()) {
        if (w.uuid != d.batch.workflow_uuid) continue;
        d.deployed_release_uuid = w.deployed_release_uuid;
        d.nodes = w.deployed_release_nodes.empty() ? w.nodes : w.deployed_release_nodes;
        d.owner_kind = w.play_uuid ? "play" : w.tool_uuid ? "tool" : "";
        d.owner_uuid = w.play_uuid ? *w.play_uuid : w.tool_uuid.value_or("");
    }
    if (d.owner_kind == "play") {
        for (const auto& p : client.list_plays())
            if (p.workflow_uuid == d.batch.workflow_uuid) d.workflow_name = p.name, d.model_uuid = p.model_uuid;
    } else if (d.owner_kind == "tool") {
        for (const auto& t : client.list_tools())
            if (t.workflow_uuid == d.batch.workflow_uuid) d.workflow_name = t.name;
    }
    d.confirmed_failed = client.count_runs(
        {.workflow_uuid = d.batch.workflow_uuid, .statuses = {"error"}, .batch_uuid = d.batch.uuid});
    if (d.confirmed_failed > 0)
        d.failed_runs = read_failed_runs(client, d.batch, static_cast<int>(std::min<std::int64_t>(
                                                              kMaxFailedRuns, d.confirmed_failed)));
    std::set<std::string> seen;
    for (const auto& run : d.failed_runs) {
        ++d.by_node[run.node_slug.empty() ? "(no failed execution)" : run.node_slug];
        ++d.by_message[run.message ? printable(*run.message) : "(no message)"];
        if (seen.insert(run.record_id).second) d.failed_record_ids.push_back(run.record_id);
    }
    return d;
}

}  // namespace cargomon::actions
