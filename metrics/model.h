#pragma once
// The series a collector produces: one Snapshot is one complete collection.
#include <string>
#include <utility>
#include <vector>

namespace cargomon::metrics {

enum class MetricType { gauge, counter };

// Sorted by name, no duplicate names (MetricStore::publish sorts and checks).
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
    Labels labels;
    double value = 0;
};

// Counter names end in `_total` (as they appear in the text format).
struct Family {
    std::string name;
    std::string help;
    MetricType type = MetricType::gauge;
    std::vector<Sample> samples;
};

struct Snapshot {
    std::vector<Family> families;
};

}  // namespace cargomon::metrics
