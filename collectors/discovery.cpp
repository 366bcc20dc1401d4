#include "collectors/discovery.h"

#include <re2/re2.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "collectors/series.h"
#include "metrics/labels.h"

namespace cargomon::collectors {

namespace {

constexpr const char* kInfo = "cargo_workflow_info";

const FamilyTable& families() {
    static const FamilyTable table({
        {.name = kInfo,
         .help = "Workflows cargomon covers, named after their play or tool (1 per workflow)",
         .labels = workflow_label_names({"kind", "enabled"})},
    });
    return table;
}

std::vector<std::shared_ptr<const re2::RE2>> compile(const std::vector<std::string>& patterns) {
    std::vector<std::shared_ptr<const re2::RE2>> out;
    for (const auto& p : patterns) {
        auto compiled = metrics::compile_regex(p);
        if (auto* error = std::get_if<std::string>(&compiled)) throw std::invalid_argument(*error);
        out.push_back(std::get<0>(std::move(compiled)));
    }
    return out;
}

}  // namespace

DiscoveryCollector::DiscoveryCollector(std::string name, const config::DiscoverySpec& spec, cargo::ApiClient& client,
                                       WorkflowCatalog& catalog, const Clock& clock, prometheus::Registry* registry)
    : name_(std::move(name)),
      include_(compile(spec.include)),
      exclude_(compile(spec.exclude)),
      client_(client),
      catalog_(catalog),
      clock_(clock),
      duplicates_(duplicate_rows_counter(registry, name_)) {}

bool DiscoveryCollector::covers(const std::string& workflow_name) const {
    auto matches = [&](const std::shared_ptr<const re2::RE2>& r) { return re2::RE2::PartialMatch(workflow_name, *r); };
    if (!include_.empty() && std::none_of(include_.begin(), include_.end(), matches)) return false;
    return std::none_of(exclude_.begin(), exclude_.end(), matches);
}

std::vector<std::string> DiscoveryCollector::metric_names() const { return families().names(); }

metrics::Snapshot DiscoveryCollector::collect(const CollectContext& context) {
    check_time_left(context, clock_);
    auto workflows = client_.list_workflows();
    drop_repeated_rows(workflows, [](const cargo::Workflow& w) { return w.uuid; }, duplicates_);
    check_time_left(context, clock_);
    auto plays = client_.list_plays();
    check_time_left(context, clock_);
    auto tools = client_.list_tools();

    std::unordered_map<std::string, const cargo::Play*> play_of;
    for (const auto& p : plays) play_of[p.workflow_uuid] = &p;
    std::unordered_map<std::string, const cargo::Tool*> tool_of;
    for (const auto& t : tools) tool_of[t.workflow_uuid] = &t;

    auto found = std::make_shared<Workflows>();
    for (auto& w : workflows) {
        WorkflowInfo info{.uuid = w.uuid, .name = w.uuid, .kind = "none"};
        if (auto p = play_of.find(w.uuid); p != play_of.end()) {
            info.name = p->second->name;
            info.kind = "play";
            info.enabled = p->second->is_enabled;
        } else if (auto t = tool_of.find(w.uuid); t != tool_of.end()) {
            info.name = t->second->name;
            info.kind = "tool";
        }
        if (info.name.empty()) info.name = w.uuid;
        if (!covers(info.name)) continue;
        info.deployed_release_uuid = std::move(w.deployed_release_uuid);
        for (auto& node : w.nodes) info.node_slugs.emplace(std::move(node.uuid), std::move(node.slug));
        found->covered.push_back(std::move(info));
    }
    std::sort(found->covered.begin(), found->covered.end(),
              [](const WorkflowInfo& a, const WorkflowInfo& b) { return a.uuid < b.uuid; });

    auto info = families().family(kInfo);
    for (const auto& w : found->covered)
        info.add(workflow_labels(w, {{"kind", w.kind}, {"enabled", w.enabled ? "true" : "false"}}), 1);
    catalog_.set(std::move(found));
    metrics::Snapshot snapshot;
    snapshot.families.push_back(std::move(info).take());
    return snapshot;
}

}  // namespace cargomon::collectors
