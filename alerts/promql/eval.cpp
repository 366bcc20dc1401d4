// Evaluation following Prometheus' engine (v2.42): every node is evaluated at one time;
// a range query evaluates the same tree at each step. Selectors read their series once per
// query (the window every step and subquery needs) and slice it per step.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "alerts/promql/ast.h"
#include "alerts/promql/functions.h"

namespace cargomon::alerts::promql {
namespace {

constexpr std::string_view kName = "__name__";
constexpr std::int64_t kDefaultSubqueryStepMs = 60'000;  // Prometheus' default evaluation interval

using Steady = std::chrono::steady_clock;

bool contains(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// The labels vector matching compares: on(...) keeps the listed ones, ignoring(...) drops
// the listed ones and always __name__.
metrics::Labels matched_labels(const metrics::Labels& labels, bool on, const std::vector<std::string>& names) {
    metrics::Labels out;
    for (const auto& label : labels) {
        bool listed = contains(names, label.first);
        if (on ? listed : (!listed && label.first != kName)) out.push_back(label);
    }
    return out;
}

std::string signature(const metrics::Labels& labels, bool on, const std::vector<std::string>& names) {
    std::string key;
    for (const auto& [name, value] : labels) {
        bool listed = contains(names, name);
        if (on ? !listed : (listed || name == kName)) continue;
        key += name;
        key += '\xff';
        key += value;
        key += '\xff';
    }
    return key;
}

// Dropping __name__ can only make two series equal when they had different names.
bool names_differ(const Vector& vector) {
    const std::string* first = nullptr;
    for (const auto& sample : vector) {
        const std::string* name = metrics::find_label(sample.labels, kName);
        if (!name) continue;
        if (first && *first != *name) return true;
        first = name;
    }
    return false;
}

bool matrix_names_differ(const Matrix& matrix) {
    const std::string* first = nullptr;
    for (const auto& series : matrix) {
        const std::string* name = metrics::find_label(series.labels, kName);
        if (!name) continue;
        if (first && *first != *name) return true;
        first = name;
    }
    return false;
}

void check_unique(const Vector& vector) {
    if (vector.size() < 2) return;
    std::unordered_set<std::string> seen;
    seen.reserve(vector.size());
    for (const auto& sample : vector)
        if (!seen.insert(metrics::series_key(sample.labels)).second)
            throw EvalError{"vector cannot contain metrics with the same labelset"};
}

// Arithmetic drops the metric name; comparisons (without bool) and atan2 keep it.
bool drops_name(BinaryOp op, bool return_bool) {
    return return_bool || (op >= BinaryOp::add && op <= BinaryOp::pow);
}

// The value and whether a comparison keeps the sample, as Prometheus' vectorElemBinop.
std::pair<double, bool> apply(BinaryOp op, double l, double r) {
    switch (op) {
        case BinaryOp::add: return {l + r, true};
        case BinaryOp::sub: return {l - r, true};
        case BinaryOp::mul: return {l * r, true};
        case BinaryOp::div: return {l / r, true};
        case BinaryOp::mod: return {std::fmod(l, r), true};
        case BinaryOp::pow: return {std::pow(l, r), true};
        case BinaryOp::atan2: return {std::atan2(l, r), true};
        case BinaryOp::eq: return {l, l == r};
        case BinaryOp::ne: return {l, l != r};
        case BinaryOp::gt: return {l, l > r};
        case BinaryOp::lt: return {l, l < r};
        case BinaryOp::ge: return {l, l >= r};
        case BinaryOp::le: return {l, l <= r};
        default: return {0, false};
    }
}

// Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest decimal that reads back exactly,
// without an exponent.
std::string format_float(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buffer[512];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::fixed);
    return std::string(buffer, result.ptr);
}

// Groups samples by their by/without labels and folds their values as Prometheus'
// aggregation() does.
class Aggregation {
public:
    Aggregation(const AggregateNode& node, double param, std::string value_label)
        : node_(node), param_(param), value_label_(std::move(value_label)) {
        if (node.op == AggregateOp::count_values) {
            if (!metrics::is_label_name(value_label_)) throw EvalError{"invalid label name \"" + value_label_ + "\""};
            grouping_ = node.grouping;
            if (!node.without) {
                grouping_.push_back(value_label_);
                std::sort(grouping_.begin(), grouping_.end());
            }
        }
    }

    // `labels` may hold empty values and, when `name` is given (the series' metric name,
    // straight from a selector), may lack __name__ or hold it with that value.
    void add(const metrics::Labels& labels, std::optional<std::string_view> name, double v) {
        if (node_.op == AggregateOp::count_values) {
            metrics::Labels with_value = labels;
            std::erase_if(with_value, [](const auto& l) { return l.second.empty(); });
            if (name) metrics::set_label(with_value, std::string(kName), std::string(*name));
            metrics::set_label(with_value, value_label_, format_float(v));
            return add_to_group(with_value, std::nullopt, v);
        }
        add_to_group(labels, name, v);
    }

    Vector result(std::int64_t t) {
        Vector out;
        out.reserve(groups_.size());
        for (auto& g : groups_) {
            switch (node_.op) {
                case AggregateOp::avg: out.push_back({std::move(g.labels), g.mean, t}); break;
                case AggregateOp::count:
                case AggregateOp::count_values: out.push_back({std::move(g.labels), static_cast<double>(g.count), t}); break;
                case AggregateOp::group: out.push_back({std::move(g.labels), 1, t}); break;
                case AggregateOp::stdvar: out.push_back({std::move(g.labels), g.value / static_cast<double>(g.count), t}); break;
                case AggregateOp::stddev:
                    out.push_back({std::move(g.labels), std::sqrt(g.value / static_cast<double>(g.count)), t});
                    break;
                case AggregateOp::quantile:
                    out.push_back({std::move(g.labels), quantile(param_, std::move(g.values)), t});
                    break;
                case AggregateOp::topk:
                case AggregateOp::bottomk:
                    for (auto& s : g.members) {
                        s.t = t;
                        out.push_back(std::move(s));
                    }
                    break;
                default: out.push_back({std::move(g.labels), g.value, t}); break;
            }
        }
        return out;
    }

private:
    struct Group {
        metrics::Labels labels;
        double value = 0;
        double mean = 0;
        std::size_t count = 0;
        std::vector<double> values;  // quantile
        Vector members;              // topk, bottomk: the best so far, best first
    };

    const std::vector<std::string>& grouping() const { return node_.op == AggregateOp::count_values ? grouping_ : node_.grouping; }

    bool keeps(std::string_view label) const {
        bool listed = contains(grouping(), label);
        return node_.without ? (!listed && label != kName) : listed;
    }

    // The group's labels in order: by keeps the listed ones, without drops them and __name__.
    template <typename Fn>
    void for_each_group_label(const metrics::Labels& labels, std::optional<std::string_view> name, Fn&& fn) const {
        bool name_pending = name && keeps(kName);
        for (const auto& [n, value] : labels) {
            if (name && n == kName) continue;
            if (name_pending && n > kName) {
                fn(kName, *name);
                name_pending = false;
            }
            if (!value.empty() && keeps(n)) fn(n, value);
        }
        if (name_pending) fn(kName, *name);
    }

    // topk keeps the k largest (NaN counts as smallest), bottomk the k smallest (NaN as largest).
    bool better(double a, double b) const {
        if (std::isnan(b)) return !std::isnan(a);
        if (std::isnan(a)) return false;
        return node_.op == AggregateOp::topk ? a > b : a < b;
    }

    void add_to_group(const metrics::Labels& labels, std::optional<std::string_view> name, double v) {
        key_.clear();
        for_each_group_label(labels, name, [&](std::string_view n, std::string_view value) {
            key_ += n;
            key_ += '\xff';
            key_ += value;
            key_ += '\xff';
        });
        auto [it, inserted] = index_.try_emplace(key_, groups_.size());
        if (inserted) {
            Group g;
            for_each_group_label(labels, name, [&](std::string_view n, std::string_view value) { g.labels.emplace_back(n, value); });
            g.value = v;
            g.mean = v;
            g.count = 1;
            if (node_.op == AggregateOp::stddev || node_.op == AggregateOp::stdvar) g.value = 0;
            groups_.push_back(std::move(g));
            if (node_.op == AggregateOp::quantile) groups_.back().values.push_back(v);
            if (node_.op == AggregateOp::topk || node_.op == AggregateOp::bottomk) add_member(groups_.back(), labels, name, v);
            return;
        }
        Group& g = groups_[it->second];
        ++g.count;
        switch (node_.op) {
            case AggregateOp::sum: g.value += v; break;
            case AggregateOp::avg:
                // Prometheus keeps a running mean so sums of large values cannot overflow.
                if (std::isinf(g.mean)) {
                    if (std::isinf(v) && (g.mean > 0) == (v > 0)) break;
                    if (!std::isinf(v) && !std::isnan(v)) break;
                }
                g.mean += v / static_cast<double>(g.count) - g.mean / static_cast<double>(g.count);
                break;
            case AggregateOp::max:
                if (g.value < v || std::isnan(g.value)) g.value = v;
                break;
            case AggregateOp::min:
                if (g.value > v || std::isnan(g.value)) g.value = v;
                break;
            case AggregateOp::stddev:
            case AggregateOp::stdvar: {
                double delta = v - g.mean;
                g.mean += delta / static_cast<double>(g.count);
                g.value += delta * (v - g.mean);
                break;
            }
            case AggregateOp::quantile: g.values.push_back(v); break;
            case AggregateOp::topk:
            case AggregateOp::bottomk: add_member(g, labels, name, v); break;
            default: break;
        }
    }

    void add_member(Group& g, const metrics::Labels& labels, std::optional<std::string_view> name, double v) {
        auto k = static_cast<std::size_t>(param_);
        if (g.members.size() >= k && !better(v, g.members.back().value)) return;
        VectorSample sample;
        for (const auto& label : labels)
            if (!label.second.empty()) sample.labels.push_back(label);
        if (name) metrics::set_label(sample.labels, std::string(kName), std::string(*name));
        sample.value = v;
        // After every member that is at least as good: equal values keep their input order.
        auto at = std::find_if(g.members.begin(), g.members.end(), [&](const VectorSample& m) { return better(v, m.value); });
        g.members.insert(at, std::move(sample));
        if (g.members.size() > k) g.members.pop_back();
    }

    const AggregateNode& node_;
    double param_;
    std::string value_label_;
    std::vector<std::string> grouping_;  // count_values: the grouping with its label
    std::string key_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<Group> groups_;
};

// A selector's series as read from the source, once per query.
struct Loaded {
    struct Series {
        metrics::Labels labels;  // with __name__, without empty values
        std::string name;
        std::vector<Sample> samples;
    };
    bool done = false;
    // Read at one time only (an instant query outside subqueries): each evaluation reads
    // the source directly, without copying the series.
    bool stream = true;
    std::optional<std::int64_t> time;
    std::int64_t mint = std::numeric_limits<std::int64_t>::max();
    std::int64_t maxt = std::numeric_limits<std::int64_t>::min();
    std::vector<Series> series;
};

class Evaluator {
public:
    // [start, end]: the query's first and last evaluation time (what @ start() and @ end() mean).
    Evaluator(const Queryable& source, const Limits& limits, std::int64_t start, std::int64_t end)
        : source_(source), limits_(limits), start_(start), end_(end), deadline_(Steady::now() + limits.timeout) {}

    // Works out the window each selector reads over the query's steps.
    void plan(const Expr& expr) { plan(expr, start_, end_); }

    Value eval(const Expr& expr, std::int64_t t) {
        if (Steady::now() >= deadline_) throw EvalError{"query timed out in expression evaluation"};
        return std::visit([&](const auto& node) -> Value { return eval_node(node, expr, t); }, expr.node);
    }

    // Samples held beyond what one step releases: loaded series and range results.
    void hold(std::size_t samples) {
        held_ += samples;
        if (held_ > limits_.max_samples)
            throw EvalError{"query processing would load too many samples into memory in query execution"};
    }

private:
    std::int64_t base_time(const TimeModifier& time, std::int64_t t) const {
        switch (time.at) {
            case TimeModifier::At::time: return time.at_ms;
            case TimeModifier::At::start: return start_;
            case TimeModifier::At::end: return end_;
            case TimeModifier::At::none: break;
        }
        return t;
    }

    // [lo, hi]: the times the node is evaluated at.
    void plan(const Expr& expr, std::int64_t lo, std::int64_t hi) {
        std::visit(
            [&](const auto& node) {
                using T = std::decay_t<decltype(node)>;
                if constexpr (std::is_same_v<T, SelectorNode>) {
                    std::int64_t from = base_time(node.time, lo) - node.time.offset_ms;
                    std::int64_t to = base_time(node.time, hi) - node.time.offset_ms;
                    Loaded& loaded = loaded_[&node];
                    if (from != to || (loaded.time && *loaded.time != from)) loaded.stream = false;
                    loaded.time = from;
                    loaded.mint = std::min(loaded.mint, from - (node.range_ms > 0 ? node.range_ms : limits_.lookback_ms));
                    loaded.maxt = std::max(loaded.maxt, to);
                } else if constexpr (std::is_same_v<T, SubqueryNode>) {
                    std::int64_t from = base_time(node.time, lo) - node.time.offset_ms;
                    std::int64_t to = base_time(node.time, hi) - node.time.offset_ms;
                    plan(*node.operand, from - node.range_ms, to);
                } else if constexpr (std::is_same_v<T, UnaryNode>) {
                    plan(*node.operand, lo, hi);
                } else if constexpr (std::is_same_v<T, BinaryNode>) {
                    plan(*node.lhs, lo, hi);
                    plan(*node.rhs, lo, hi);
                } else if constexpr (std::is_same_v<T, AggregateNode>) {
                    if (node.param) plan(*node.param, lo, hi);
                    plan(*node.operand, lo, hi);
                } else if constexpr (std::is_same_v<T, CallNode>) {
                    for (const auto& arg : node.args) plan(*arg, lo, hi);
                }
            },
            expr.node);
    }

    Loaded& load(const SelectorNode& node) {
        Loaded& loaded = loaded_[&node];
        if (loaded.done) return loaded;
        loaded.done = true;
        source_.select(node.matchers, loaded.mint, loaded.maxt,
                       [&](std::string_view name, const metrics::Labels& labels, std::span<const Sample> samples) {
                           if (samples.empty()) return;
                           hold(samples.size());
                           Loaded::Series series;
                           series.labels.reserve(labels.size() + 1);
                           for (const auto& label : labels)
                               if (!label.second.empty() && label.first != kName) series.labels.push_back(label);
                           series.name = std::string(name);
                           metrics::set_label(series.labels, std::string(kName), series.name);
                           series.samples.assign(samples.begin(), samples.end());
                           loaded.series.push_back(std::move(series));
                       });
        if (Steady::now() >= deadline_) throw EvalError{"query timed out in expression evaluation"};
        return loaded;
    }

    // Calls fn(name, labels, sample) for every series with a sample at `ts`: the latest at
    // or before it within the lookback, unless that is a staleness marker. `labels` may
    // hold empty values and may lack __name__, as Queryable::select passes them.
    template <typename Fn>
    void for_each_instant(const SelectorNode& node, std::int64_t t, Fn&& fn) {
        std::int64_t ts = base_time(node.time, t) - node.time.offset_ms;
        Loaded& loaded = loaded_[&node];
        if (loaded.stream) {
            source_.select_instant(node.matchers, ts, limits_.lookback_ms,
                           [&](std::string_view name, const metrics::Labels& labels, std::span<const Sample> samples) {
                               if (samples.empty() || metrics::is_stale_nan(samples.back().v)) return;
                               hold(1);
                               fn(name, labels, samples.back());
                           });
            if (Steady::now() >= deadline_) throw EvalError{"query timed out in expression evaluation"};
            return;
        }
        for (const auto& series : load(node).series) {
            const auto& s = series.samples;
            auto after = std::upper_bound(s.begin(), s.end(), ts, [](std::int64_t v, const Sample& x) { return v < x.t; });
            if (after == s.begin()) continue;
            const Sample& sample = *(after - 1);
            if (sample.t < ts - limits_.lookback_ms || metrics::is_stale_nan(sample.v)) continue;
            fn(std::string_view(series.name), series.labels, sample);
        }
    }

    Value eval_node(const NumberNode& node, const Expr&, std::int64_t) { return node.value; }
    Value eval_node(const StringNode& node, const Expr&, std::int64_t) { return String{node.value}; }

    Value eval_node(const SelectorNode& node, const Expr&, std::int64_t t) {
        if (node.range_ms == 0) {
            Vector out;
            for_each_instant(node, t, [&](std::string_view name, const metrics::Labels& labels, const Sample& sample) {
                VectorSample& out_sample = out.emplace_back();
                out_sample.labels.reserve(labels.size() + 1);
                for (const auto& label : labels)
                    if (!label.second.empty() && label.first != kName) out_sample.labels.push_back(label);
                metrics::set_label(out_sample.labels, std::string(kName), std::string(name));
                out_sample.value = sample.v;
                out_sample.t = sample.t;
            });
            return out;
        }
        std::int64_t ts = base_time(node.time, t) - node.time.offset_ms;
        Matrix out;
        for (const auto& series : load(node).series) {
            const auto& s = series.samples;
            auto from = std::lower_bound(s.begin(), s.end(), ts - node.range_ms, [](const Sample& x, std::int64_t v) { return x.t < v; });
            Series window{series.labels, {}};
            for (auto it = from; it != s.end() && it->t <= ts; ++it)
                if (!metrics::is_stale_nan(it->v)) window.samples.push_back(*it);
            if (window.samples.empty()) continue;
            out.push_back(std::move(window));
        }
        return out;
    }

    Value eval_node(const SubqueryNode& node, const Expr&, std::int64_t t) {
        std::int64_t ts = base_time(node.time, t) - node.time.offset_ms;
        std::int64_t step = node.step_ms > 0 ? node.step_ms : kDefaultSubqueryStepMs;
        // The first multiple of the step inside the range, as Prometheus aligns subqueries.
        std::int64_t from = ts - node.range_ms;
        std::int64_t start = step * (from / step);
        if (start < from) start += step;
        // The operand at a time is the same whichever step asks: successive steps of a range
        // query (or of an enclosing subquery) reuse the points they share. Steps before this
        // window are dropped, as the steps asking mostly move forward.
        auto& memo = subquery_memo_[&node];
        for (auto it = memo.begin(); it != memo.end() && it->first < start; it = memo.erase(it)) held_ -= it->second.size();
        Matrix out;
        std::unordered_map<std::string, std::size_t> index;
        for (std::int64_t at = start; at <= ts; at += step) {
            auto found = memo.find(at);
            if (found == memo.end()) {
                Vector points = std::get<Vector>(eval(*node.operand, at));
                hold(points.size());
                found = memo.emplace(at, std::move(points)).first;
            }
            for (const auto& sample : found->second) {
                auto [it, inserted] = index.try_emplace(metrics::series_key(sample.labels), out.size());
                if (inserted) out.push_back(Series{sample.labels, {}});
                out[it->second].samples.push_back(Sample{at, sample.value});
            }
        }
        return out;
    }

    Value eval_node(const UnaryNode& node, const Expr&, std::int64_t t) {
        Value value = eval(*node.operand, t);
        if (auto* scalar = std::get_if<double>(&value)) return node.negate ? -*scalar : *scalar;
        Vector out = std::get<Vector>(std::move(value));
        if (!node.negate) return out;
        bool may_collide = names_differ(out);
        for (auto& sample : out) {
            sample.labels = metrics::without_name(std::move(sample.labels));
            sample.value = -sample.value;
            sample.t = t;
        }
        if (may_collide) check_unique(out);
        return out;
    }

    Value eval_node(const BinaryNode& node, const Expr& expr, std::int64_t t) {
        if (expr.scalar()) {
            auto [value, keep] = apply(node.op, std::get<double>(eval(*node.lhs, t)), std::get<double>(eval(*node.rhs, t)));
            if (node.return_bool) return keep ? 1.0 : 0.0;
            return value;
        }
        if (node.lhs->scalar() || node.rhs->scalar()) {
            bool scalar_left = node.lhs->scalar();
            Value left = eval(*node.lhs, t);
            Value right = eval(*node.rhs, t);
            Vector vec = std::get<Vector>(std::move(scalar_left ? right : left));
            bool may_collide = drops_name(node.op, node.return_bool) && names_differ(vec);
            Vector out = vector_scalar(node.op, std::move(vec), std::get<double>(scalar_left ? left : right), scalar_left,
                                       node.return_bool, t);
            if (may_collide) check_unique(out);
            return out;
        }
        // Vector matching and set operations cannot yield two series with the same labels:
        // each output's labels determine its match group, and each group yields one output.
        Vector lhs = std::get<Vector>(eval(*node.lhs, t));
        Vector rhs = std::get<Vector>(eval(*node.rhs, t));
        Vector out;
        switch (node.op) {
            case BinaryOp::and_: out = set_and(node, std::move(lhs), rhs); break;
            case BinaryOp::or_: out = set_or(node, std::move(lhs), std::move(rhs)); break;
            case BinaryOp::unless: out = set_unless(node, std::move(lhs), rhs); break;
            default: out = vector_vector(node, std::move(lhs), std::move(rhs)); break;
        }
        for (auto& sample : out) sample.t = t;
        return out;
    }

    static Vector vector_scalar(BinaryOp op, Vector vec, double scalar, bool scalar_left, bool return_bool, std::int64_t t) {
        Vector out;
        out.reserve(vec.size());
        for (auto& sample : vec) {
            double l = scalar_left ? scalar : sample.value;
            double r = scalar_left ? sample.value : scalar;
            auto [value, keep] = apply(op, l, r);
            // A comparison always yields the vector's value, whichever side it is on.
            if (is_comparison(op) && scalar_left) value = r;
            if (return_bool) {
                value = keep ? 1.0 : 0.0;
                keep = true;
            }
            if (!keep) continue;
            if (drops_name(op, return_bool)) sample.labels = metrics::without_name(std::move(sample.labels));
            sample.value = value;
            sample.t = t;
            out.push_back(std::move(sample));
        }
        return out;
    }

    // One-to-one and many-to-one matching; one-to-many is many-to-one with the sides swapped.
    static Vector vector_vector(const BinaryNode& node, Vector lhs, Vector rhs) {
        bool swapped = node.card == Cardinality::one_to_many;
        if (swapped) std::swap(lhs, rhs);
        struct OneSide {
            const VectorSample* sample;
            bool matched = false;                      // one-to-one: a left sample already used it
            std::unordered_set<std::string> produced;  // many-to-one: the output label sets so far
        };
        std::unordered_map<std::string, OneSide> one_side;
        one_side.reserve(rhs.size());
        for (const auto& sample : rhs) {
            auto [it, inserted] = one_side.try_emplace(signature(sample.labels, node.on, node.matching), OneSide{&sample});
            if (!inserted)
                throw EvalError{"found duplicate series for the match group " +
                                metrics::labels_text(matched_labels(sample.labels, node.on, node.matching)) + " on the " +
                                (swapped ? "left" : "right") + " hand-side of the operation: [" +
                                metrics::labels_text(sample.labels) + ", " + metrics::labels_text(it->second.sample->labels) +
                                "];many-to-many matching not allowed: matching labels must be unique on one side"};
        }
        Vector out;
        for (auto& sample : lhs) {
            auto match = one_side.find(signature(sample.labels, node.on, node.matching));
            if (match == one_side.end()) continue;
            OneSide& one = match->second;
            double l = sample.value;
            double r = one.sample->value;
            if (swapped) std::swap(l, r);
            auto [value, keep] = apply(node.op, l, r);
            if (node.return_bool) {
                value = keep ? 1.0 : 0.0;
            } else if (!keep) {
                continue;
            }
            metrics::Labels labels = result_labels(node, std::move(sample.labels), one.sample->labels);
            if (node.card == Cardinality::one_to_one) {
                if (one.matched)
                    throw EvalError{"multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"};
                one.matched = true;
            } else if (!one.produced.insert(metrics::series_key(labels)).second) {
                throw EvalError{"multiple matches for labels: grouping labels must ensure unique matches"};
            }
            out.push_back(VectorSample{std::move(labels), value});
        }
        return out;
    }

    static metrics::Labels result_labels(const BinaryNode& node, metrics::Labels labels, const metrics::Labels& one) {
        if (drops_name(node.op, node.return_bool)) labels = metrics::without_name(std::move(labels));
        if (node.card == Cardinality::one_to_one) {
            std::erase_if(labels, [&](const auto& label) { return contains(node.matching, label.first) != node.on; });
        }
        for (const auto& name : node.include) {
            if (const std::string* value = metrics::find_label(one, name)) {
                metrics::set_label(labels, name, *value);
            } else {
                std::erase_if(labels, [&](const auto& label) { return label.first == name; });
            }
        }
        return labels;
    }

    static Vector set_and(const BinaryNode& node, Vector lhs, const Vector& rhs) {
        if (lhs.empty() || rhs.empty()) return {};
        std::unordered_set<std::string> right;
        for (const auto& sample : rhs) right.insert(signature(sample.labels, node.on, node.matching));
        std::erase_if(lhs, [&](const VectorSample& s) { return !right.contains(signature(s.labels, node.on, node.matching)); });
        return lhs;
    }

    static Vector set_or(const BinaryNode& node, Vector lhs, Vector rhs) {
        std::unordered_set<std::string> left;
        for (const auto& sample : lhs) left.insert(signature(sample.labels, node.on, node.matching));
        for (auto& sample : rhs)
            if (!left.contains(signature(sample.labels, node.on, node.matching))) lhs.push_back(std::move(sample));
        return lhs;
    }

    static Vector set_unless(const BinaryNode& node, Vector lhs, const Vector& rhs) {
        if (rhs.empty()) return lhs;
        std::unordered_set<std::string> right;
        for (const auto& sample : rhs) right.insert(signature(sample.labels, node.on, node.matching));
        std::erase_if(lhs, [&](const VectorSample& s) { return right.contains(signature(s.labels, node.on, node.matching)); });
        return lhs;
    }

    Value eval_node(const AggregateNode& node, const Expr&, std::int64_t t) {
        double param = 0;
        std::string value_label;
        if (node.param) {
            Value p = eval(*node.param, t);
            if (auto* s = std::get_if<String>(&p)) {
                value_label = s->value;
            } else {
                param = std::get<double>(p);
            }
        }
        if (node.op == AggregateOp::topk || node.op == AggregateOp::bottomk) {
            if (!(param > -9.2e18 && param < 9.2e18)) throw EvalError{"Scalar value " + format_float(param) + " overflows int64"};
            if (static_cast<std::int64_t>(param) < 1) return Vector{};
            param = static_cast<double>(static_cast<std::int64_t>(param));
        }
        Aggregation aggregation(node, param, std::move(value_label));
        if (const auto* selector = std::get_if<SelectorNode>(&node.operand->node)) {
            // Straight from the selector's series: no vector of copies in between.
            for_each_instant(*selector, t, [&](std::string_view name, const metrics::Labels& labels, const Sample& sample) {
                aggregation.add(labels, name, sample.v);
            });
        } else {
            Value operand = eval(*node.operand, t);
            for (const auto& sample : std::get<Vector>(operand)) aggregation.add(sample.labels, std::nullopt, sample.value);
        }
        return aggregation.result(t);
    }

    Value eval_node(const CallNode& node, const Expr&, std::int64_t t) {
        std::vector<Value> args;
        args.reserve(node.args.size());
        CallArgs call{node, t, args};
        std::size_t held = 0;
        bool may_collide = node.function->rewrites_labels;
        for (const auto& arg : node.args) {
            args.push_back(eval(*arg, t));
            if (auto* vector = std::get_if<Vector>(&args.back())) may_collide = may_collide || names_differ(*vector);
            if (auto* matrix = std::get_if<Matrix>(&args.back())) {
                // The window the range argument covers, for the functions that extrapolate.
                const TimeModifier* time = nullptr;
                std::int64_t range = 0;
                if (const auto* selector = std::get_if<SelectorNode>(&arg->node)) {
                    time = &selector->time;
                    range = selector->range_ms;
                } else if (const auto* subquery = std::get_if<SubqueryNode>(&arg->node)) {
                    time = &subquery->time;
                    range = subquery->range_ms;
                }
                if (time) {
                    call.window_end = base_time(*time, t) - time->offset_ms;
                    call.window_start = call.window_end - range;
                }
                for (const auto& series : *matrix) held += series.samples.size();
                may_collide = may_collide || matrix_names_differ(*matrix);
            }
        }
        hold(held);
        Value out = node.function->impl(call);
        held_ -= held;
        if (auto* vector = std::get_if<Vector>(&out); vector && may_collide) check_unique(*vector);
        return out;
    }

    const Queryable& source_;
    const Limits& limits_;
    std::int64_t start_, end_;
    Steady::time_point deadline_;
    std::size_t held_ = 0;
    std::unordered_map<const SelectorNode*, Loaded> loaded_;
    std::unordered_map<const SubqueryNode*, std::map<std::int64_t, Vector>> subquery_memo_;
};

// False when a selector names no metric.
bool collect_names(const Expr& expr, std::vector<std::string>& names) {
    return std::visit(
        [&](const auto& node) {
            using T = std::decay_t<decltype(node)>;
            if constexpr (std::is_same_v<T, SelectorNode>) {
                if (node.name.empty()) return false;
                names.push_back(node.name);
                return true;
            } else if constexpr (std::is_same_v<T, SubqueryNode> || std::is_same_v<T, UnaryNode>) {
                return collect_names(*node.operand, names);
            } else if constexpr (std::is_same_v<T, BinaryNode>) {
                return collect_names(*node.lhs, names) && collect_names(*node.rhs, names);
            } else if constexpr (std::is_same_v<T, AggregateNode>) {
                return collect_names(*node.operand, names) && (!node.param || collect_names(*node.param, names));
            } else if constexpr (std::is_same_v<T, CallNode>) {
                return std::all_of(node.args.begin(), node.args.end(), [&](const auto& arg) { return collect_names(*arg, names); });
            } else {
                return true;
            }
        },
        expr.node);
}

std::int64_t lookbehind(const Expr& expr, const Limits& limits) {
    return std::visit(
        [&](const auto& node) -> std::int64_t {
            using T = std::decay_t<decltype(node)>;
            if constexpr (std::is_same_v<T, SelectorNode>) {
                return std::max<std::int64_t>(0, node.time.offset_ms) + (node.range_ms > 0 ? node.range_ms : limits.lookback_ms);
            } else if constexpr (std::is_same_v<T, SubqueryNode>) {
                return std::max<std::int64_t>(0, node.time.offset_ms) + node.range_ms + lookbehind(*node.operand, limits);
            } else if constexpr (std::is_same_v<T, UnaryNode>) {
                return lookbehind(*node.operand, limits);
            } else if constexpr (std::is_same_v<T, BinaryNode>) {
                return std::max(lookbehind(*node.lhs, limits), lookbehind(*node.rhs, limits));
            } else if constexpr (std::is_same_v<T, AggregateNode>) {
                return std::max(lookbehind(*node.operand, limits), node.param ? lookbehind(*node.param, limits) : 0);
            } else if constexpr (std::is_same_v<T, CallNode>) {
                std::int64_t most = 0;
                for (const auto& arg : node.args) most = std::max(most, lookbehind(*arg, limits));
                return most;
            } else {
                return 0;
            }
        },
        expr.node);
}

}  // namespace

Evaluation evaluate_checked(const Expr& expr, const Queryable& source, std::int64_t t_ms, const Limits& limits) {
    try {
        Evaluator evaluator(source, limits, t_ms, t_ms);
        evaluator.plan(expr);
        return Evaluation{evaluator.eval(expr, t_ms), {}};
    } catch (const EvalError& e) {
        return Evaluation{Vector{}, e.message};
    }
}

Evaluation evaluate_range(const Expr& expr, const Queryable& source, std::int64_t start_ms, std::int64_t end_ms,
                          std::int64_t step_ms, const Limits& limits) {
    if (expr.type != ValueType::scalar && expr.type != ValueType::vector)
        return Evaluation{Matrix{}, "invalid expression type \"" + std::string(type_name(expr.type)) +
                                        "\" for range query, must be Scalar or instant Vector"};
    if (step_ms <= 0)
        return Evaluation{Matrix{}, "zero or negative query resolution step widths are not accepted. Try a positive integer"};
    if (end_ms < start_ms) return Evaluation{Matrix{}, "end timestamp must not be before start time"};
    if ((end_ms - start_ms) / step_ms > kMaxRangeSteps)
        return Evaluation{Matrix{}, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
                                    "resolution (?step=XX)"};
    try {
        Evaluator evaluator(source, limits, start_ms, end_ms);
        evaluator.plan(expr);
        Matrix out;
        std::unordered_map<std::string, std::size_t> index;
        for (std::int64_t t = start_ms; t <= end_ms; t += step_ms) {
            Value value = evaluator.eval(expr, t);
            if (const double* scalar = std::get_if<double>(&value)) {
                if (out.empty()) out.push_back(Series{});
                out[0].samples.push_back(Sample{t, *scalar});
                evaluator.hold(1);
                continue;
            }
            auto& vector = std::get<Vector>(value);
            evaluator.hold(vector.size());
            for (auto& sample : vector) {
                auto [it, inserted] = index.try_emplace(metrics::series_key(sample.labels), out.size());
                if (inserted) out.push_back(Series{std::move(sample.labels), {}});
                out[it->second].samples.push_back(Sample{t, sample.value});
            }
        }
        std::sort(out.begin(), out.end(), [](const Series& a, const Series& b) { return a.labels < b.labels; });
        return Evaluation{std::move(out), {}};
    } catch (const EvalError& e) {
        return Evaluation{Matrix{}, e.message};
    }
}

std::optional<std::vector<std::string>> selected_metric_names(const Expr& expr) {
    std::vector<std::string> names;
    if (!collect_names(expr, names)) return std::nullopt;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

std::int64_t lookbehind_ms(const Expr& expr, const Limits& limits) { return lookbehind(expr, limits); }

}  // namespace cargomon::alerts::promql
