#pragma once
// The series a collector produces: one Snapshot is one complete collection.
#include <string>
#include <utility>
#include <vector>

namespace cargomon::metrics {

enum class MetricType { gauge, counter };

// Sorted by name, no duplicate names (MetricStore::publish sorts and checks).
using Labels = std::vector<std::pair<std::string, std::string>>;

// A label set as one string, for sets and maps of series: '\xff' never occurs in UTF-8,
// so distinct sets never collide.
std::string series_key(const Labels& labels);

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
