#include "alerts/promql/store_source.h"

#include <algorithm>

#include "metrics/self_metrics.h"

namespace cargomon::alerts::promql {

StoreSource::StoreSource(std::shared_ptr<const metrics::StoreView> view,
                         const std::vector<prometheus::MetricFamily>& self_metrics, std::int64_t at_ms)
    : view_(std::move(view)), at_ms_(at_ms) {
    metrics::for_each_client_sample(self_metrics, [&](const std::string& name, const metrics::Labels& labels, double value) {
        self_.push_back(Series{name, labels, value});
    });
    std::stable_sort(self_.begin(), self_.end(), [](const Series& a, const Series& b) { return a.name < b.name; });
}

void StoreSource::visit(std::string_view name,
                        const std::function<void(const metrics::Labels&, double)>& fn) const {
    if (view_) {
        const auto& families = view_->families;
        auto find = [&](std::string_view wanted) -> const metrics::MergedFamily* {
            auto merged = std::lower_bound(families.begin(), families.end(), wanted,
                                           [](const metrics::MergedFamily& f, std::string_view n) { return f.name < n; });
            return merged != families.end() && merged->name == wanted ? &*merged : nullptr;
        };
        // A summary's _sum and _count series are samples of the family named without them.
        auto visit_part = [&](const metrics::MergedFamily& merged, metrics::SamplePart wanted) {
            for (const auto& part : merged.parts)
                for (const auto& sample : part.family->samples)
                    if (sample.part == wanted) fn(sample.labels, sample.value);
        };
        if (const auto* merged = find(name)) visit_part(*merged, metrics::SamplePart::value);
        for (auto part : {metrics::SamplePart::sum, metrics::SamplePart::count}) {
            const auto suffix = metrics::part_suffix(part);
            if (!name.ends_with(suffix)) continue;
            const auto* summary = find(name.substr(0, name.size() - suffix.size()));
            if (summary && summary->type == metrics::MetricType::summary) visit_part(*summary, part);
        }
    }
    auto it = std::lower_bound(self_.begin(), self_.end(), name,
                               [](const Series& s, std::string_view n) { return s.name < n; });
    for (; it != self_.end() && it->name == name; ++it) fn(it->labels, it->value);
}

std::shared_ptr<const StoreSource::Postings> StoreSource::postings(std::string_view name, std::string_view label) const {
    std::string key = std::string(name) + '\xff' + std::string(label);
    std::lock_guard lock(index_mu_);
    auto& entry = index_[key];
    if (!entry) {
        auto built = std::make_shared<Postings>();
        std::uint32_t ordinal = 0;
        visit(name, [&](const metrics::Labels& labels, double value) {
            for (const auto& [n, v] : labels)
                if (n == label) (*built)[v].push_back(Ref{ordinal, &labels, value});
            ++ordinal;
        });
        entry = std::move(built);
    }
    return entry;
}

void StoreSource::visit_candidates(std::string_view name, const std::vector<LabelValue>& required,
                                   const std::function<void(const metrics::Labels&, double)>& fn) const {
    if (required.empty()) return visit(name, fn);
    std::vector<std::shared_ptr<const Postings>> indexes;  // keep the lists alive
    std::vector<const std::vector<Ref>*> lists;
    for (const auto& [label, value] : required) {
        indexes.push_back(postings(name, label));
        auto found = indexes.back()->find(value);
        if (found == indexes.back()->end()) return;
        lists.push_back(&found->second);
    }
    std::sort(lists.begin(), lists.end(), [](const auto* a, const auto* b) { return a->size() < b->size(); });
    // Walk the shortest list; advance a cursor in each other list (all sorted by ordinal).
    std::vector<std::size_t> cursors(lists.size(), 0);
    for (const Ref& ref : *lists[0]) {
        bool in_all = true;
        for (std::size_t i = 1; i < lists.size() && in_all; ++i) {
            const auto& list = *lists[i];
            while (cursors[i] < list.size() && list[cursors[i]].ordinal < ref.ordinal) ++cursors[i];
            in_all = cursors[i] < list.size() && list[cursors[i]].ordinal == ref.ordinal;
        }
        if (in_all) fn(*ref.labels, ref.value);
    }
}

void StoreSource::select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                         const SeriesFn& fn) const {
    if (at_ms_ < mint_ms || at_ms_ > maxt_ms) return;
    std::vector<const metrics::Matcher*> label_matchers;
    std::vector<const metrics::Matcher*> name_matchers;
    for (const auto& m : matchers) (m.name() == "__name__" ? name_matchers : label_matchers).push_back(&m);
    auto name_matches = [&](std::string_view name) {
        return std::all_of(name_matchers.begin(), name_matchers.end(), [&](const metrics::Matcher* m) { return m->matches(name); });
    };
    std::vector<std::string> names;
    auto equal_name = std::find_if(name_matchers.begin(), name_matchers.end(),
                                   [](const metrics::Matcher* m) { return m->op() == metrics::Matcher::Op::equal; });
    if (equal_name != name_matchers.end()) {
        if (name_matches((*equal_name)->value())) names.push_back((*equal_name)->value());
    } else {
        visit_names([&](std::string_view name) {
            if (name_matches(name)) names.emplace_back(name);
        });
    }
    std::vector<LabelValue> required;
    for (const metrics::Matcher* m : label_matchers)
        if (m->op() == metrics::Matcher::Op::equal && !m->value().empty()) required.emplace_back(m->name(), m->value());
    for (const auto& name : names) {
        visit_candidates(name, required, [&](const metrics::Labels& labels, double value) {
            for (const metrics::Matcher* m : label_matchers)
                if (!m->matches(metrics::label_value(labels, m->name()))) return;
            const Sample sample{at_ms_, value};
            fn(name, labels, std::span<const Sample>(&sample, 1));
        });
    }
}

void StoreSource::visit_names(const std::function<void(std::string_view)>& fn) const {
    std::vector<std::string_view> names;
    if (view_)
        for (const auto& family : view_->families) names.push_back(family.name);
    for (const auto& series : self_) names.push_back(series.name);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (auto name : names) fn(name);
}

}  // namespace cargomon::alerts::promql
