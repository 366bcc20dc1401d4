#include "collectors/credits.h"

#include <map>
#include <stdexcept>

#include "collectors/series.h"

namespace cargomon::collectors {

namespace {

struct Dimension {
    const char* group_by;
    const char* metric;
    const char* label;
};

// workflow_uuid is special: its series also carry workflow_name from discovery.
constexpr Dimension kDimensions[] = {
    {"workflow_uuid", "cargo_credits_used", "workflow_uuid"},
    {"connector_uuid", "cargo_credits_used_by_connector", "connector_uuid"},
    {"integration_slug", "cargo_credits_used_by_integration", "integration_slug"},
    {"model_uuid", "cargo_credits_used_by_model", "model_uuid"},
    {"agent_uuid", "cargo_credits_used_by_agent", "agent_uuid"},
};

const Dimension& dimension(const std::string& group_by) {
    for (const auto& d : kDimensions)
        if (group_by == d.group_by) return d;
    throw std::invalid_argument("credits: unknown group_by dimension \"" + group_by + "\"");
}

// A family per configured dimension, in the order of group_by.
FamilyTable declare_families(const std::vector<std::string>& group_by) {
    std::vector<FamilyDescriptor> families;
    for (const auto& g : group_by) {
        const auto& d = dimension(g);
        families.push_back({.name = d.metric,
                            .help = std::string("Credits used in the period, by ") + d.label,
                            .labels = d.label == std::string_view("workflow_uuid")
                                          ? workflow_label_names({"period"})
                                          : std::vector<std::string>{d.label, "period"}});
    }
    return FamilyTable(std::move(families));
}

SystemTime start_of_day(SystemTime t) { return std::chrono::floor<std::chrono::days>(t); }

SystemTime start_of_month(SystemTime t) {
    const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(t)};
    return std::chrono::sys_days{day.year() / day.month() / 1};
}

}  // namespace

CreditsCollector::CreditsCollector(std::string name, config::CreditsSpec spec, cargo::ApiClient& client,
                                   const WorkflowCatalog& catalog, const Clock& clock)
    : name_(std::move(name)),
      spec_(std::move(spec)),
      client_(client),
      catalog_(catalog),
      clock_(clock),
      families_(declare_families(spec_.group_by)) {}

std::vector<std::string> CreditsCollector::metric_names() const { return families_.names(); }

metrics::Snapshot CreditsCollector::collect(const CollectContext& context) {
    const auto now = whole_seconds(clock_.now());
    // Usage is reported per day, so every period starts on a day boundary (UTC).
    const std::pair<std::string, SystemTime> periods[] = {{"today", start_of_day(now)},
                                                          {"month", start_of_month(now)},
                                                          {window_label(spec_.window), start_of_day(now - spec_.window)}};
    SystemTime from = now;
    for (const auto& [_, start] : periods) from = std::min(from, start);

    metrics::Snapshot snapshot;
    for (const auto& group_by : spec_.group_by) {
        const auto& dim = dimension(group_by);
        std::shared_ptr<const Workflows> workflows;
        if (group_by == "workflow_uuid") workflows = catalog_.require();
        check_time_left(context, clock_);
        const auto usage = client_.usage_metrics({.from = from, .to = now, .group_by = group_by, .unit = "billing.credits"});

        // (group value, period) -> credits
        std::map<std::pair<std::string, std::string>, double> used;
        for (const auto& day : usage) {
            if (!day.date) continue;
            for (const auto& item : day.items) {
                if (!item.group_by) continue;  // usage no value of this dimension can claim
                for (const auto& [period, start] : periods)
                    if (*day.date >= start) used[{*item.group_by, period}] += item.count;
            }
        }

        auto family = families_.family(dim.metric);
        if (workflows) {
            // Every covered workflow, 0 when it used nothing; usage of others is not labelled.
            for (const auto& w : workflows->covered)
                for (const auto& [period, _] : periods) {
                    auto it = used.find({w.uuid, period});
                    family.add(workflow_labels(w, {{"period", period}}), it == used.end() ? 0 : it->second);
                }
        } else {
            for (const auto& [key, credits] : used)
                family.add({{dim.label, key.first}, {"period", key.second}}, credits);
        }
        snapshot.families.push_back(std::move(family).take());
    }
    return snapshot;
}

}  // namespace cargomon::collectors
