#pragma once
// The PromQL subset rules are written in, evaluated at one instant over the daemon's
// current series (its own cargomon_* ones included). Semantics follow Prometheus.
#include <functional>
#include <memory>
#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "metrics/model.h"

namespace cargomon::alerts {

// Labels include "__name__" for selected series; sorted by name like metrics::Labels.
struct VectorSample {
    metrics::Labels labels;
    double value = 0;
};
using Vector = std::vector<VectorSample>;
using Value = std::variant<double, Vector>;  // scalar or instant vector

// Where selectors read from. `visit` calls `fn` for every series whose metric name is
// `name` (labels without __name__).
class SeriesSource {
public:
    virtual ~SeriesSource() = default;
    virtual void visit(std::string_view name,
                       const std::function<void(const metrics::Labels&, double)>& fn) const = 0;
    // Like `visit`, for a selector that also requires these (label, value) pairs: a source
    // with an index answers with fewer series. It may pass series that lack some pair (the
    // caller checks every matcher), never skip one that has them all.
    using LabelValue = std::pair<std::string_view, std::string_view>;
    virtual void visit_candidates(std::string_view name, const std::vector<LabelValue>& /*required*/,
                                  const std::function<void(const metrics::Labels&, double)>& fn) const {
        visit(name, fn);
    }
    // Every metric name it holds, for selectors that match __name__ by regex or inequality;
    // a source that cannot list its names leaves it empty and such selectors find nothing.
    virtual void visit_names(const std::function<void(std::string_view)>& /*fn*/) const {}
};

// A parse failure or a feature outside the subset. `offset` is the byte offset in the
// expression; the message names the construct ("range vectors are not supported: rate(...)").
class ExprError : public std::runtime_error {
public:
    ExprError(std::size_t offset, const std::string& message) : std::runtime_error(message), offset_(offset) {}
    std::size_t offset() const { return offset_; }

private:
    std::size_t offset_;
};

class Expr;  // immutable, shareable across threads
std::shared_ptr<const Expr> parse_expr(std::string_view text);  // throws ExprError
Value evaluate(const Expr& expr, const SeriesSource& source);   // never throws on data

// What Prometheus reports as a query error at run time (many-to-one matching without
// group_left/group_right, a result with two series of the same labels): `value` is then
// an empty vector and `error` says why, in Prometheus' words. `evaluate` is this without
// the error.
struct Evaluation {
    Value value;
    std::string error;  // empty when the evaluation succeeded
};
Evaluation evaluate_checked(const Expr& expr, const SeriesSource& source);

// The metric names an expression selects (for `rules preview`: what to collect), sorted;
// nullopt when a selector names no metric ({__name__=~"..."}): it may read any.
std::optional<std::vector<std::string>> selected_metric_names(const Expr& expr);

}  // namespace cargomon::alerts
