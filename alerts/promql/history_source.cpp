#include "alerts/promql/history_source.h"

namespace cargomon::alerts::promql {

void HistorySource::select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                           const SeriesFn& fn) const {
    // tsdb::Sample and Sample are distinct types of the same layout: the samples are
    // copied (into one buffer reused across the series) rather than reinterpreted.
    std::vector<Sample> samples;
    head_.select(matchers, mint_ms, maxt_ms, [&](const metrics::Labels& labels, std::span<const tsdb::Sample> in) {
        samples.resize(in.size());
        for (std::size_t i = 0; i < in.size(); ++i) samples[i] = {in[i].t, in[i].v};
        fn(metrics::label_value(labels, "__name__"), labels, samples);
    });
}

}  // namespace cargomon::alerts::promql
