#pragma once
// The rule evaluation workload shared by bench_rule_eval and bench_peers: 100,000 cargo_*
// series of the shapes the collectors publish, and 1,000 rules of the shapes users write.
#include <cstdio>
#include <iterator>
#include <string>
#include <vector>

#include "metrics/model.h"

namespace cargomon::bench {

inline constexpr std::size_t kSeries = 100'000;
inline constexpr std::size_t kRules = 1'000;

inline const char* run_statuses[] = {"success", "error", "running", "pending", "cancelled"};
inline const char* windows[] = {"5m", "1h", "24h", "7d"};
inline const char* node_statuses[] = {"success", "error", "skipped"};
inline const char* batch_statuses[] = {"success", "failed", "running", "partially_failed"};
inline const char* node_slugs[] = {"fetch-company", "enrich-person", "score-lead", "find-email",
                            "verify-email", "write-crm", "notify-slack", "dedupe"};

inline std::string uuid(std::size_t w) {
    char text[40];
    std::snprintf(text, sizeof text, "6f1c%04zx-2b7e-4c1a-9d3e-%012zx", w & 0xffff, w * 7919);
    return text;
}

inline std::string workflow_name(std::size_t w) { return "Enrich inbound leads " + std::to_string(w); }

struct Workload {
    metrics::Snapshot snapshot;
    std::size_t workflows = 0;
};

// Workflow after workflow, each with every family the collectors publish for it, until
// exactly kSeries series exist.
inline Workload workload() {
    auto family = [](const char* name) { return metrics::Family{.name = name, .help = "h", .type = metrics::MetricType::gauge}; };
    std::vector<metrics::Family> families = {family("cargo_workflow_runs"),     family("cargo_workflow_finished_runs"),
                                             family("cargo_workflow_error_ratio"), family("cargo_node_executions"),
                                             family("cargo_node_credits_used"),  family("cargo_workflow_info"),
                                             family("cargo_workflow_batches")};
    std::size_t count = 0;
    auto add = [&](std::size_t f, metrics::Labels labels, double value) {
        if (count == kSeries) return;
        families[f].samples.push_back({std::move(labels), value});
        ++count;
    };
    std::size_t w = 0;
    for (; count < kSeries; ++w) {
        metrics::Labels base{{"workflow_name", workflow_name(w)}, {"workflow_uuid", uuid(w)}};
        auto with = [&](metrics::Labels extra) {
            extra.insert(extra.end(), base.begin(), base.end());
            return extra;
        };
        double runs = static_cast<double>((w * 31) % 97);
        for (const char* window : windows) {
            for (const char* status : run_statuses)
                add(0, with({{"status", status}, {"window", window}}), static_cast<double>((w + status[0]) % 13));
            add(1, with({{"window", window}}), runs);
            add(2, with({{"window", window}}), static_cast<double>(w % 10) / 40);
        }
        for (std::size_t n = 0; n < std::size(node_slugs); ++n) {
            std::string node_uuid = uuid(w * 16 + n);
            for (const char* status : node_statuses)
                add(3, with({{"node_slug", node_slugs[n]}, {"node_uuid", node_uuid}, {"status", status}}),
                    static_cast<double>((w + n) % 9));
            add(4, with({{"node_slug", node_slugs[n]}, {"node_uuid", node_uuid}}), static_cast<double>(w % 400) * 3);
        }
        add(5, with({{"kind", w % 3 ? "play" : "tool"}}), 1);
        for (const char* status : batch_statuses) add(6, with({{"status", status}}), static_cast<double>(w % 5));
    }
    return Workload{metrics::Snapshot{std::move(families)}, w};
}

// Per-workflow rules of the shapes users write, and every 25th a rule over all workflows.
inline std::string rule(std::size_t i, std::size_t workflows) {
    std::string u = "\"" + uuid((i * 37) % workflows) + "\"";
    std::string n = "\"" + workflow_name((i * 53) % workflows) + "\"";
    if (i % 25 == 24) {
        return i % 2 ? "sum by (workflow_uuid) (cargo_workflow_runs{status=\"error\", window=\"1h\"}) / "
                       "clamp_min(sum by (workflow_uuid) (cargo_workflow_finished_runs{window=\"1h\"}), 1) > 0.25"
                     : "count(cargo_workflow_info) < 10 or absent(cargo_workflow_info{kind=\"play\"})";
    }
    switch (i % 7) {
        case 0:
            return "sum by (workflow_uuid) (cargo_workflow_runs{workflow_uuid=" + u +
                   ", status=\"error\", window=\"1h\"}) / sum by (workflow_uuid) (cargo_workflow_finished_runs{workflow_uuid=" +
                   u + ", window=\"1h\"}) > 0.1 and on(workflow_uuid) cargo_workflow_finished_runs{workflow_uuid=" + u +
                   ", window=\"1h\"} >= 20";
        case 1:
            return "sum by (workflow_name, node_slug) (cargo_node_executions{workflow_name=" + n +
                   ", status=\"error\"}) > 5";
        case 2: return "cargo_workflow_error_ratio{workflow_uuid=" + u + ", window=~\"1h|24h\"} > 0.05";
        case 3: return "absent(cargo_workflow_runs{workflow_uuid=" + u + ", window=\"5m\", status=\"success\"})";
        case 4:
            return "cargo_workflow_runs{workflow_uuid=" + u + ", status=\"running\", window=\"1h\"} > 0 unless on(workflow_uuid) "
                   "cargo_workflow_runs{workflow_uuid=" + u + ", status=\"success\", window=\"1h\"} > 0";
        case 5:
            return "sum by (workflow_uuid) (cargo_node_credits_used{workflow_uuid=" + u +
                   "}) > 1000 or on(workflow_uuid) cargo_workflow_batches{workflow_uuid=" + u + ", status=\"failed\"} > 3";
        default:
            return "cargo_workflow_error_ratio{workflow_uuid=" + u +
                   ", window=\"24h\"} * on(workflow_uuid) group_left(workflow_name) cargo_workflow_info{workflow_uuid=" + u +
                   "} > 0.2";
    }
}

}  // namespace cargomon::bench
