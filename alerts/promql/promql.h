#pragma once
// PromQL as Prometheus 2.x (v2.42) evaluates it: instant and range evaluation over a
// Queryable (sample history, or the current store as one sample per series). docs/promql.md
// lists what is supported, the semantics chosen and every refusal.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "metrics/labels.h"
#include "metrics/model.h"

namespace cargomon::alerts::promql {

// One sample of a series: t in milliseconds since the epoch. Same layout as tsdb::Sample.
struct Sample {
    std::int64_t t = 0;
    double v = 0;
};

// Labels include "__name__" where the series keeps its name; sorted by name like
// metrics::Labels. `t` is the evaluation time, except straight out of an instant selector
// where it is the selected sample's own time (what timestamp() reports).
struct VectorSample {
    metrics::Labels labels;
    double value = 0;
    std::int64_t t = 0;
};
using Vector = std::vector<VectorSample>;
struct Series {
    metrics::Labels labels;
    std::vector<Sample> samples;  // ascending t
};
using Matrix = std::vector<Series>;
struct String {
    std::string value;
};
// scalar, instant vector, range vector, string: what an expression evaluates to.
using Value = std::variant<double, Vector, Matrix, String>;

// Where selectors read from. `select` calls `fn` once for every series matching all
// `matchers` (a matcher on "__name__" matches the metric name; an absent label matches as
// ""), with the series' samples in [mint_ms, maxt_ms] in ascending time, staleness markers
// (metrics::stale_nan()) included. `labels` may or may not hold "__name__" (when it does,
// its value is `name`); labels with an empty value count as absent. Spans and labels are
// valid during the call only. An adapter over tsdb::Head::select is a forwarding lambda.
class Queryable {
public:
    virtual ~Queryable() = default;
    using SeriesFn = std::function<void(std::string_view name, const metrics::Labels& labels, std::span<const Sample> samples)>;
    virtual void select(const std::vector<metrics::Matcher>& matchers, std::int64_t mint_ms, std::int64_t maxt_ms,
                        const SeriesFn& fn) const = 0;
    // An instant selector at `t_ms` alone (no range, no other step reading the same
    // selector): `fn` gets each series with its samples in [t - lookback, t], of which the
    // evaluator takes the last. A source may answer it from elsewhere than select(): the
    // rules' source answers it at the evaluation time from the current store.
    virtual void select_instant(const std::vector<metrics::Matcher>& matchers, std::int64_t t_ms, std::int64_t lookback_ms,
                                const SeriesFn& fn) const {
        select(matchers, t_ms - lookback_ms, t_ms, fn);
    }
};

// A parse failure or a construct cargomon refuses. `offset` is the byte offset in the
// expression; the message names the construct, in Prometheus' words where it has them.
class ExprError : public std::runtime_error {
public:
    ExprError(std::size_t offset, const std::string& message) : std::runtime_error(message), offset_(offset) {}
    std::size_t offset() const { return offset_; }

private:
    std::size_t offset_;
};

enum class ValueType { scalar, vector, matrix, string };
std::string_view type_name(ValueType type);  // Prometheus' words: "instant vector", ...

class Expr;  // immutable, shareable across threads
std::shared_ptr<const Expr> parse_expr(std::string_view text);  // throws ExprError
ValueType expr_type(const Expr& expr);

// Bounds of one evaluation (Prometheus' --query.lookback-delta, --query.max-samples,
// --query.timeout, with the same defaults).
struct Limits {
    std::int64_t lookback_ms = 5 * 60 * 1000;
    std::size_t max_samples = 50'000'000;   // samples held at once: selected, windows, results
    std::chrono::milliseconds timeout{120'000};
};

// What Prometheus reports as a query error at run time (many-to-one matching without
// group_left, too many samples, a timeout, ...): `value` is then an empty vector (an
// empty matrix from evaluate_range) and `error` says why, in Prometheus' words.
struct Evaluation {
    Value value;
    std::string error;  // empty when the evaluation succeeded
};

// Prometheus' instant query at `t_ms`.
Evaluation evaluate_checked(const Expr& expr, const Queryable& source, std::int64_t t_ms, const Limits& limits = {});
// Prometheus' bound on a range query (its /api/v1/query_range): (end - start) / step at
// most this, so 11,001 points per series at most.
inline constexpr std::int64_t kMaxRangeSteps = 11'000;

// Prometheus' range query: the expression at start, start+step, ... <= end (step > 0), each
// step evaluated as the instant query at that time; `value` is a Matrix sorted by labels
// (a scalar expression gives one series without labels).
Evaluation evaluate_range(const Expr& expr, const Queryable& source, std::int64_t start_ms, std::int64_t end_ms,
                          std::int64_t step_ms, const Limits& limits = {});

// The metric names an expression selects (for `rules preview`: what to collect), sorted;
// nullopt when a selector names no metric ({__name__=~"..."}): it may read any.
std::optional<std::vector<std::string>> selected_metric_names(const Expr& expr);

// The longest time before the evaluation time any selector of `expr` reads (ranges,
// offsets, subqueries, the lookback), in ms: how much history its rules need.
std::int64_t lookbehind_ms(const Expr& expr, const Limits& limits = {});

}  // namespace cargomon::alerts::promql
