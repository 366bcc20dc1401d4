#include "alerts/promql/memory_source.h"

#include <algorithm>

namespace cargomon::alerts::promql {

void MemorySource::add(const metrics::Labels& labels, std::int64_t t_ms, double v) {
    auto [it, inserted] = index_.try_emplace(metrics::series_key(labels), series_.size());
    if (inserted) series_.push_back(Entry{labels, {}});
    auto& samples = series_[it->second].samples;
    if (!samples.empty() && samples.back().t >= t_ms) return;
    samples.push_back(Sample{t_ms, v});
}

void MemorySource::clear() {
    series_.clear();
    index_.clear();
}

void MemorySource::select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                          const SeriesFn& fn) const {
    for (const auto& entry : series_) {
        bool all = std::all_of(matchers.begin(), matchers.end(), [&](const metrics::Matcher& m) {
            return m.matches(metrics::label_value(entry.labels, m.name()));
        });
        if (!all) continue;
        const auto& s = entry.samples;
        auto from = std::lower_bound(s.begin(), s.end(), mint_ms, [](const Sample& x, std::int64_t t) { return x.t < t; });
        auto to = std::upper_bound(from, s.end(), maxt_ms, [](std::int64_t t, const Sample& x) { return t < x.t; });
        if (from == to) continue;
        fn(metrics::label_value(entry.labels, "__name__"), entry.labels, std::span<const Sample>(&*from, static_cast<std::size_t>(to - from)));
    }
}

}  // namespace cargomon::alerts::promql
