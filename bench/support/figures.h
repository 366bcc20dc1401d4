#pragma once
// The small figures every benchmark prints: a median with its spread over repeated runs
// (the machine is shared, so one run says little) and this process's resident memory.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace cargomon::bench {

inline double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

// "min 1.0, max 2.0, n=10"
inline std::string spread(const std::vector<double>& values) {
    char text[64];
    std::snprintf(text, sizeof text, "min %.1f, max %.1f, n=%zu", *std::min_element(values.begin(), values.end()),
                  *std::max_element(values.begin(), values.end()), values.size());
    return text;
}

// A sample of a Prometheus-format exposition (a peer's /metrics), by its name and label
// text: "prometheus_rule_group_last_duration_seconds{".
inline std::optional<double> exposition_sample(const std::string& exposition, const std::string& prefix) {
    auto at = exposition.find("\n" + prefix);
    if (at == std::string::npos) return std::nullopt;
    auto line_end = exposition.find('\n', at + 1);
    auto line = exposition.substr(at + 1, line_end - at - 1);
    return std::stod(line.substr(line.rfind(' ') + 1));
}

// VmRSS of this process, in MiB.
inline double rss_mib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmRSS:")) return std::stod(line.substr(6)) / 1024;  // kB
    return 0;
}

}  // namespace cargomon::bench
