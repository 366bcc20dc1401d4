// Instant evaluation of a parsed expression, following Prometheus' engine (2.x): label
// dropping, vector matching, set operations, aggregations and their NaN rules.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "alerts/promql/ast.h"

namespace cargomon::alerts {
namespace {

constexpr std::string_view kName = "__name__";

// What Prometheus reports as a query error at run time.
struct EvalError {
    std::string message;
};

bool contains(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

void drop_name(metrics::Labels& labels) {
    std::erase_if(labels, [](const auto& label) { return label.first == kName; });
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

void check_unique(const Vector& vector) {
    std::unordered_set<std::string> seen;
    seen.reserve(vector.size());
    for (const auto& sample : vector)
        if (!seen.insert(metrics::series_key(sample.labels)).second)
            throw EvalError{"vector cannot contain metrics with the same labelset"};
}

// Go's math.Max/math.Min: an infinity wins over NaN, NaN over numbers, +0 over -0.
double go_max(double a, double b) {
    if (std::isinf(a) && a > 0) return a;
    if (std::isinf(b) && b > 0) return b;
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
    if (a == 0 && b == 0) return std::signbit(a) ? b : a;
    return a > b ? a : b;
}

double go_min(double a, double b) {
    if (std::isinf(a) && a < 0) return a;
    if (std::isinf(b) && b < 0) return b;
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
    if (a == 0 && b == 0) return std::signbit(a) ? a : b;
    return a < b ? a : b;
}


// The value and whether a comparison keeps the sample, as Prometheus' vectorElemBinop.
std::pair<double, bool> apply(BinaryOp op, double l, double r) {
    switch (op) {
        case BinaryOp::add: return {l + r, true};
        case BinaryOp::sub: return {l - r, true};
        case BinaryOp::mul: return {l * r, true};
        case BinaryOp::div: return {l / r, true};
        case BinaryOp::mod: return {std::fmod(l, r), true};
        case BinaryOp::eq: return {l, l == r};
        case BinaryOp::ne: return {l, l != r};
        case BinaryOp::gt: return {l, l > r};
        case BinaryOp::lt: return {l, l < r};
        case BinaryOp::ge: return {l, l >= r};
        case BinaryOp::le: return {l, l <= r};
        default: return {0, false};
    }
}

// Groups samples by their by/without labels and folds their values as Prometheus does.
class Aggregation {
public:
    explicit Aggregation(const AggregateNode& node) : node_(node) {}

    // `labels` may lack __name__ and hold empty values (straight from a source); `name`,
    // when given, is the series' metric name.
    void add(const metrics::Labels& labels, const std::string* name, double v) {
        key_.clear();
        for_each_group_label(labels, name, [&](const std::string& n, const std::string& value) {
            key_ += n;
            key_ += '\xff';
            key_ += value;
            key_ += '\xff';
        });
        auto [it, inserted] = index_.try_emplace(key_, groups_.size());
        if (inserted) {
            metrics::Labels group_labels;
            for_each_group_label(labels, name,
                                 [&](const std::string& n, const std::string& value) { group_labels.emplace_back(n, value); });
            groups_.push_back(Group{v, v, 1});
            out_.push_back(VectorSample{std::move(group_labels), 0});
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
            case AggregateOp::count: break;
        }
    }

    Vector result() {
        for (std::size_t i = 0; i < out_.size(); ++i) {
            const Group& g = groups_[i];
            out_[i].value = node_.op == AggregateOp::avg     ? g.mean
                            : node_.op == AggregateOp::count ? static_cast<double>(g.count)
                                                             : g.value;
        }
        return std::move(out_);
    }

private:
    struct Group {
        double value = 0;
        double mean = 0;
        std::size_t count = 0;
    };

    bool keeps(std::string_view label) const {
        bool listed = contains(node_.grouping, label);
        return node_.without ? (!listed && label != kName) : listed;
    }

    // The group's labels in order: by keeps the listed ones, without drops them and __name__.
    template <typename Fn>
    void for_each_group_label(const metrics::Labels& labels, const std::string* name, Fn&& fn) const {
        static const std::string name_label(kName);
        bool name_pending = name && keeps(kName);
        for (const auto& [n, value] : labels) {
            if (name_pending && n > name_label) {
                fn(name_label, *name);
                name_pending = false;
            }
            if (!value.empty() && keeps(n)) fn(n, value);
        }
        if (name_pending) fn(name_label, *name);
    }

    const AggregateNode& node_;
    std::string key_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<Group> groups_;
    Vector out_;
};

class Evaluator {
public:
    explicit Evaluator(const SeriesSource& source) : source_(source) {}

    Value eval(const Expr& expr) {
        if (expr.scalar) return scalar(expr);
        return vector(expr);
    }

private:
    double scalar(const Expr& expr) {
        return std::visit(
            [&](const auto& node) -> double {
                using T = std::decay_t<decltype(node)>;
                if constexpr (std::is_same_v<T, NumberNode>) {
                    return node.value;
                } else if constexpr (std::is_same_v<T, UnaryNode>) {
                    double value = scalar(*node.operand);
                    return node.negate ? -value : value;
                } else if constexpr (std::is_same_v<T, BinaryNode>) {
                    auto [value, keep] = apply(node.op, scalar(*node.lhs), scalar(*node.rhs));
                    if (node.return_bool) return keep ? 1.0 : 0.0;
                    return value;
                } else {
                    return 0.0;  // the parser types every other node as a vector
                }
            },
            expr.node);
    }

    Vector vector(const Expr& expr) {
        return std::visit(
            [&](const auto& node) -> Vector {
                using T = std::decay_t<decltype(node)>;
                if constexpr (std::is_same_v<T, SelectorNode>) {
                    return select(node);
                } else if constexpr (std::is_same_v<T, UnaryNode>) {
                    Vector out = vector(*node.operand);
                    if (!node.negate) return out;
                    bool may_collide = names_differ(out);
                    for (auto& sample : out) {
                        drop_name(sample.labels);
                        sample.value = -sample.value;
                    }
                    if (may_collide) check_unique(out);
                    return out;
                } else if constexpr (std::is_same_v<T, BinaryNode>) {
                    return binary(node);
                } else if constexpr (std::is_same_v<T, AggregateNode>) {
                    return aggregate(node);
                } else if constexpr (std::is_same_v<T, CallNode>) {
                    return call(node);
                } else {
                    return {};  // a number is never typed as a vector
                }
            },
            expr.node);
    }

    // Calls fn(labels without __name__, name, value) for every selected series, straight
    // from the source: what only counts or groups them need not copy their labels.
    template <typename Fn>
    void for_each_selected(const SelectorNode& node, Fn&& fn) {
        std::vector<const metrics::Matcher*> label_matchers;
        std::vector<const metrics::Matcher*> name_matchers;
        for (const auto& m : node.matchers) (m.name() == kName ? name_matchers : label_matchers).push_back(&m);
        auto name_matches = [&](std::string_view name) {
            return std::all_of(name_matchers.begin(), name_matchers.end(),
                               [&](const metrics::Matcher* m) { return m->matches(name); });
        };
        std::vector<std::string> names;
        if (!node.name.empty()) {
            if (name_matches(node.name)) names.push_back(node.name);
        } else {
            source_.visit_names([&](std::string_view name) {
                if (name_matches(name)) names.emplace_back(name);
            });
        }
        std::vector<SeriesSource::LabelValue> required;
        for (const metrics::Matcher* m : label_matchers)
            if (m->op() == metrics::Matcher::Op::equal && !m->value().empty()) required.emplace_back(m->name(), m->value());
        for (const auto& name : names) {
            source_.visit_candidates(name, required, [&](const metrics::Labels& labels, double value) {
                for (const metrics::Matcher* m : label_matchers) {
                    if (!m->matches(metrics::label_value(labels, m->name()))) return;
                }
                fn(labels, name, value);
            });
        }
    }

    Vector select(const SelectorNode& node) {
        Vector out;
        for_each_selected(node, [&](const metrics::Labels& labels, const std::string& name, double value) {
            VectorSample sample;
            sample.labels.reserve(labels.size() + 1);
            for (const auto& label : labels)
                if (!label.second.empty()) sample.labels.push_back(label);
            metrics::set_label(sample.labels, std::string(kName), name);
            sample.value = value;
            out.push_back(std::move(sample));
        });
        return out;
    }

    Vector binary(const BinaryNode& node) {
        if (node.lhs->scalar || node.rhs->scalar) {
            bool scalar_left = node.lhs->scalar;
            Vector vec = vector(scalar_left ? *node.rhs : *node.lhs);
            bool may_collide = (!is_comparison(node.op) || node.return_bool) && names_differ(vec);
            Vector out = vector_scalar(node.op, std::move(vec), scalar(scalar_left ? *node.lhs : *node.rhs), scalar_left,
                                       node.return_bool);
            if (may_collide) check_unique(out);
            return out;
        }
        // Vector matching and set operations cannot yield two series with the same labels:
        // each output's labels determine its match group, and each group yields one output.
        Vector lhs = vector(*node.lhs);
        Vector rhs = vector(*node.rhs);
        switch (node.op) {
            case BinaryOp::and_: return set_and(node, std::move(lhs), rhs);
            case BinaryOp::or_: return set_or(node, std::move(lhs), std::move(rhs));
            case BinaryOp::unless: return set_unless(node, std::move(lhs), rhs);
            default: return vector_vector(node, std::move(lhs), std::move(rhs));
        }
    }

    static Vector vector_scalar(BinaryOp op, Vector vec, double scalar, bool scalar_left, bool return_bool) {
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
            if (!is_comparison(op) || return_bool) drop_name(sample.labels);
            sample.value = value;
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
            bool matched = false;  // one-to-one: a left sample already used it
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
                                metrics::labels_text(sample.labels) + ", " +
                                metrics::labels_text(it->second.sample->labels) +
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
        if (!is_comparison(node.op) || node.return_bool) drop_name(labels);
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

    Vector aggregate(const AggregateNode& node) {
        Aggregation aggregation(node);
        if (const auto* selector = std::get_if<SelectorNode>(&node.operand->node)) {
            for_each_selected(*selector, [&](const metrics::Labels& labels, const std::string& name, double value) {
                aggregation.add(labels, &name, value);
            });
        } else {
            for (const auto& sample : vector(*node.operand)) aggregation.add(sample.labels, nullptr, sample.value);
        }
        return aggregation.result();
    }

    Vector call(const CallNode& node) {
        if (node.function == Function::absent) {
            bool any = false;
            if (const auto* selector = std::get_if<SelectorNode>(&node.args[0]->node)) {
                for_each_selected(*selector, [&](const metrics::Labels&, const std::string&, double) { any = true; });
            } else {
                any = !vector(*node.args[0]).empty();
            }
            if (any) return {};
            return Vector{VectorSample{node.absent_labels, 1}};
        }
        Vector input = vector(*node.args[0]);
        bool may_collide = names_differ(input);
        double bound = scalar(*node.args[1]);
        for (auto& sample : input) {
            drop_name(sample.labels);
            sample.value = node.function == Function::clamp_min ? go_max(bound, sample.value) : go_min(bound, sample.value);
        }
        if (may_collide) check_unique(input);
        return input;
    }

    const SeriesSource& source_;
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
            } else if constexpr (std::is_same_v<T, UnaryNode>) {
                return collect_names(*node.operand, names);
            } else if constexpr (std::is_same_v<T, BinaryNode>) {
                return collect_names(*node.lhs, names) && collect_names(*node.rhs, names);
            } else if constexpr (std::is_same_v<T, AggregateNode>) {
                return collect_names(*node.operand, names);
            } else if constexpr (std::is_same_v<T, CallNode>) {
                return std::all_of(node.args.begin(), node.args.end(),
                                   [&](const auto& arg) { return collect_names(*arg, names); });
            } else {
                return true;
            }
        },
        expr.node);
}

}  // namespace

Evaluation evaluate_checked(const Expr& expr, const SeriesSource& source) {
    try {
        return Evaluation{Evaluator(source).eval(expr), {}};
    } catch (const EvalError& e) {
        return Evaluation{Vector{}, e.message};
    }
}

Value evaluate(const Expr& expr, const SeriesSource& source) { return evaluate_checked(expr, source).value; }

std::optional<std::vector<std::string>> selected_metric_names(const Expr& expr) {
    std::vector<std::string> names;
    if (!collect_names(expr, names)) return std::nullopt;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

}  // namespace cargomon::alerts
