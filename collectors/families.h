#pragma once
// The metric families a collector may publish, declared once per collector (as
// node_exporter's collectors declare their descriptors once): name, help, type and label
// names. metric_names() (what `rules preview` selects collectors by) and every Family the
// collector fills come from that one table, and filling refuses what it does not declare.
#include <string>
#include <string_view>
#include <vector>

#include "metrics/model.h"

namespace cargomon::collectors {

struct FamilyDescriptor {
    std::string name;  // as exposed: counters end in _total
    std::string help;
    metrics::MetricType type = metrics::MetricType::gauge;
    std::vector<std::string> labels;  // the label names every sample carries, no more, no fewer
};

// A family being filled: its name, help and type are its descriptor's, and add() refuses
// a sample whose label names are not exactly the declared ones.
class DeclaredFamily {
public:
    explicit DeclaredFamily(const FamilyDescriptor& descriptor);

    // Throws std::logic_error naming the family and the label when `labels` has a name
    // not declared, lacks a declared one or repeats one: a bug in the collector, which
    // fails the run (reason "internal") rather than publish a series the table hides.
    void add(metrics::Labels labels, double value);
    const std::string& name() const { return family_.name; }
    std::size_t size() const { return family_.samples.size(); }
    metrics::Family take() && { return std::move(family_); }

private:
    const FamilyDescriptor* descriptor_;
    metrics::Family family_;
};

class FamilyTable {
public:
    // Throws std::invalid_argument on a name declared twice or a label declared twice.
    explicit FamilyTable(std::vector<FamilyDescriptor> families);

    // The declared names, in declaration order: Collector::metric_names().
    std::vector<std::string> names() const;
    const std::vector<FamilyDescriptor>& descriptors() const { return families_; }

    // An empty family to fill; throws std::logic_error for a name the table does not declare.
    DeclaredFamily family(std::string_view name) const;

private:
    std::vector<FamilyDescriptor> families_;
};

}  // namespace cargomon::collectors
