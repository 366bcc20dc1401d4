#include "collectors/families.h"

#include <algorithm>
#include <stdexcept>

#include "metrics/labels.h"

namespace cargomon::collectors {

DeclaredFamily::DeclaredFamily(const FamilyDescriptor& descriptor)
    : descriptor_(&descriptor),
      family_{.name = descriptor.name, .help = descriptor.help, .type = descriptor.type, .samples = {}} {}

void DeclaredFamily::add(metrics::Labels labels, double value) {
    if (family_.type == metrics::MetricType::summary)
        throw std::logic_error("collector bug: family " + family_.name + " is a summary: use add_summary");
    check_labels(labels);
    family_.samples.push_back({std::move(labels), value});
}

void DeclaredFamily::add_summary(const metrics::Labels& labels, double count, double sum,
                                 const std::vector<Quantile>& quantiles) {
    if (family_.type != metrics::MetricType::summary)
        throw std::logic_error("collector bug: family " + family_.name + " is not a summary");
    check_labels(labels);
    for (const auto& q : quantiles) {
        auto with_quantile = labels;
        with_quantile.emplace_back("quantile", std::string(q.quantile));
        family_.samples.push_back({std::move(with_quantile), q.value});
    }
    family_.samples.push_back({labels, sum, metrics::SamplePart::sum});
    family_.samples.push_back({labels, count, metrics::SamplePart::count});
}

void DeclaredFamily::check_labels(const metrics::Labels& labels) const {
    const auto& declared = descriptor_->labels;
    auto refuse = [&](const std::string& why) {
        throw std::logic_error("collector bug: family " + family_.name + ": " + why);
    };
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto& label = labels[i].first;
        if (std::find(declared.begin(), declared.end(), label) == declared.end())
            refuse("label " + label + " is not declared");
        for (std::size_t j = 0; j < i; ++j)
            if (labels[j].first == label) refuse("label " + label + " given twice");
    }
    // Every label given is declared and none twice: as many as declared means all of them.
    if (labels.size() != declared.size())
        for (const auto& label : declared)
            if (!metrics::find_label(labels, label))
                refuse("declared label " + label + " is missing");
}

FamilyTable::FamilyTable(std::vector<FamilyDescriptor> families) : families_(std::move(families)) {
    for (std::size_t i = 0; i < families_.size(); ++i) {
        const auto& f = families_[i];
        for (std::size_t j = 0; j < i; ++j)
            if (families_[j].name == f.name) throw std::invalid_argument("metric family " + f.name + " declared twice");
        for (std::size_t a = 0; a < f.labels.size(); ++a)
            for (std::size_t b = 0; b < a; ++b)
                if (f.labels[a] == f.labels[b])
                    throw std::invalid_argument("metric family " + f.name + ": label " + f.labels[a] +
                                                " declared twice");
    }
}

std::vector<std::string> FamilyTable::names() const {
    std::vector<std::string> out;
    for (const auto& f : families_) {
        out.push_back(f.name);
        if (f.type == metrics::MetricType::summary)
            for (auto part : {metrics::SamplePart::sum, metrics::SamplePart::count})
                out.push_back(f.name + std::string(metrics::part_suffix(part)));
    }
    return out;
}

DeclaredFamily FamilyTable::family(std::string_view name) const {
    for (const auto& f : families_)
        if (f.name == name) return DeclaredFamily(f);
    throw std::logic_error("collector bug: family " + std::string(name) + " is not in the collector's table");
}

}  // namespace cargomon::collectors
