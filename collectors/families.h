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
    // A summary's series for one label set (the declared ones; `quantile` is added):
    // each quantile as quantile="q", then _sum and _count. Throws std::logic_error, as
    // add() does, and on a family that is not a summary.
    struct Quantile {
        std::string_view quantile;  // as the label shows it: "0.5"
        double value;
    };
    void add_summary(const metrics::Labels& labels, double count, double sum, const std::vector<Quantile>& quantiles);
    const std::string& name() const { return family_.name; }
    std::size_t size() const { return family_.samples.size(); }
    metrics::Family take() && { return std::move(family_); }

private:
    void check_labels(const metrics::Labels& labels) const;

    const FamilyDescriptor* descriptor_;
    metrics::Family family_;
};

class FamilyTable {
public:
    // Throws std::invalid_argument on a name declared twice or a label declared twice.
    explicit FamilyTable(std::vector<FamilyDescriptor> families);

    // The declared names, in declaration order: Collector::metric_names(). A summary's
    // _sum and _count follow its name, as a rule reads them.
    std::vector<std::string> names() const;
    const std::vector<FamilyDescriptor>& descriptors() const { return families_; }

    // An empty family to fill; throws std::logic_error for a name the table does not declare.
    DeclaredFamily family(std::string_view name) const;

private:
    std::vector<FamilyDescriptor> families_;
};

}  // namespace cargomon::collectors
