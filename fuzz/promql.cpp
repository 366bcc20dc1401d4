// PromQL: parse, and evaluate what parses over a few series with history, at one instant
// and over a short range.
#include <string>

#include "alerts/promql/memory_source.h"
#include "alerts/promql/promql.h"
#include "fuzz/fuzz.h"

namespace {

using namespace cargomon;
namespace promql = alerts::promql;

const promql::MemorySource& series() {
    static const promql::MemorySource source = [] {
        promql::MemorySource s;
        for (std::int64_t t = 0; t <= 600'000; t += 60'000) {
            s.add({{"__name__", "up"}, {"instance", "1"}, {"job", "a"}}, t, 1);
            s.add({{"__name__", "up"}, {"instance", "1"}, {"job", "b"}}, t, t < 300'000 ? 0 : metrics::stale_nan());
            s.add({{"__name__", "foo"}, {"instance", "2"}, {"job", "b"}}, t, -3.5 + static_cast<double>(t) / 1000);
        }
        return s;
    }();
    return source;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::shared_ptr<const promql::Expr> expr;
    try {
        expr = promql::parse_expr(fuzz_text(data, size));
    } catch (const promql::ExprError&) {
        return 0;
    }
    // Small bounds: the fuzzer explores shapes, not sizes (limits have their own tests).
    const promql::Limits limits{.max_samples = 100'000, .timeout = std::chrono::milliseconds(1000)};
    promql::evaluate_checked(*expr, series(), 600'000, limits);
    promql::evaluate_range(*expr, series(), 0, 600'000, 60'000, limits);
    promql::selected_metric_names(*expr);
    promql::lookbehind_ms(*expr);
    return 0;
}
