#pragma once
// The series a collector produces: one Snapshot is one complete collection.
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cargomon::metrics {

// A summary is one family whose samples are its quantiles (each with a `quantile` label)
// and, per label set, its _sum and _count (SamplePart says which).
enum class MetricType { gauge, counter, summary };

enum class SamplePart : std::uint8_t { value, sum, count };
// The suffix a part adds to its family's name: "", "_sum", "_count".
std::string_view part_suffix(SamplePart part);

// Sorted by name, no duplicate names (MetricStore::publish sorts and checks).
using Labels = std::vector<std::pair<std::string, std::string>>;

// A label set as one string, for sets and maps of series: '\xff' never occurs in UTF-8,
// so distinct sets never collide.
std::string series_key(const Labels& labels);

struct Sample {
    Labels labels;
    double value = 0;
    SamplePart part = SamplePart::value;  // other than value only in a summary
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

// Prometheus' staleness marker (value.StaleNaN): a NaN with this exact bit pattern.
inline double stale_nan() { return std::bit_cast<double>(std::uint64_t{0x7ff0000000000002}); }
inline bool is_stale_nan(double v) { return std::bit_cast<std::uint64_t>(v) == std::uint64_t{0x7ff0000000000002}; }

}  // namespace cargomon::metrics
