// Instant evaluation of a parsed expression, following Prometheus' engine (2.x): label
// dropping, vector matching, set operations, aggregations and their NaN rules.
#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "alerts/promql_ast.h"

namespace cargomon::alerts {
namespace {

constexpr std::string_view kName = "__name__";

// What Prometheus reports as a query error at run time.
struct EvalError {
    std::string message;
};

std::string quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + '"';
}

// Prometheus' labels.String(): {a="1", b="2"}.
std::string labels_text(const metrics::Labels& labels) {
    std::string text = "{";
    for (const auto& [name, value] : labels) {
        if (text.size() > 1) text += ", ";
        text += name + "=" + quote(value);
    }
    return text + "}";
}

const std::string* label_value(const metrics::Labels& labels, std::string_view name) {
    for (const auto& label : labels)
        if (label.first == name) return &label.second;
    return nullptr;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

void drop_name(metrics::Labels& labels) {
    std::erase_if(labels, [](const auto& label) { return label.first == kName; });
}

void set_label(metrics::Labels& labels, const std::string& name, const std::string& value) {
    auto it = std::lower_bound(labels.begin(), labels.end(), name,
                               [](const auto& label, const std::string& n) { return label.first < n; });
    if (it != labels.end() && it->first == name) {
        it->second = value;
    } else {
        labels.emplace(it, name, value);
    }
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

std::string key_of(const metrics::Labels& labels) {
    std::string key;
    for (const auto& [name, value] : labels) {
        key += name;
        key += '\xff';
        key += value;
        key += '\xff';
    }
    return key;
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

void check_unique(const Vector& vector) {
    std::unordered_set<std::string> seen;
    seen.reserve(vector.size());
    for (const auto& sample : vector)
        if (!seen.insert(key_of(sample.labels)).second)
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

bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq && op <= BinaryOp::le; }

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
                } else if constexpr (std::is_same_v<T, NegateNode>) {
                    return -scalar(*node.operand);
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
                } else if constexpr (std::is_same_v<T, NegateNode>) {
                    Vector out = vector(*node.operand);
                    for (auto& sample : out) {
                        drop_name(sample.labels);
                        sample.value = -sample.value;
                    }
                    check_unique(out);
                    return out;
                } else if constexpr (std::is_same_v<T, BinaryNode>) {
                    Vector out = binary(node);
                    check_unique(out);
                    return out;
                } else if constexpr (std::is_same_v<T, AggregateNode>) {
                    return aggregate(node);
                } else if constexpr (std::is_same_v<T, CallNode>) {
                    Vector out = call(node);
                    check_unique(out);
                    return out;
                } else {
                    return {};  // a number is never typed as a vector
                }
            },
            expr.node);
    }

    Vector select(const SelectorNode& node) {
        std::vector<const Matcher*> label_matchers;
        std::vector<const Matcher*> name_matchers;
        for (const auto& m : node.matchers) (m.name == kName ? name_matchers : label_matchers).push_back(&m);
        auto name_matches = [&](std::string_view name) {
            return std::all_of(name_matchers.begin(), name_matchers.end(), [&](const Matcher* m) { return m->matches(name); });
        };
        std::vector<std::string> names;
        if (!node.name.empty()) {
            if (name_matches(node.name)) names.push_back(node.name);
        } else {
            source_.visit_names([&](std::string_view name) {
                if (name_matches(name)) names.emplace_back(name);
            });
        }
        Vector out;
        for (const auto& name : names) {
            source_.visit(name, [&](const metrics::Labels& labels, double value) {
                for (const Matcher* m : label_matchers) {
                    const std::string* v = label_value(labels, m->name);
                    if (!m->matches(v ? std::string_view(*v) : std::string_view())) return;
                }
                VectorSample sample;
                sample.labels.reserve(labels.size() + 1);
                // Prometheus has no empty-valued labels: a scrape drops them.
                for (const auto& label : labels)
                    if (!label.second.empty()) sample.labels.push_back(label);
                set_label(sample.labels, std::string(kName), name);
                sample.value = value;
                out.push_back(std::move(sample));
            });
        }
        return out;
    }

    Vector binary(const BinaryNode& node) {
        if (node.lhs->scalar) return vector_scalar(node.op, vector(*node.rhs), scalar(*node.lhs), true, node.return_bool);
        if (node.rhs->scalar) return vector_scalar(node.op, vector(*node.lhs), scalar(*node.rhs), false, node.return_bool);
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
        std::unordered_map<std::string, const VectorSample*> one_side;
        one_side.reserve(rhs.size());
        for (const auto& sample : rhs) {
            auto [it, inserted] = one_side.emplace(signature(sample.labels, node.on, node.matching), &sample);
            if (!inserted)
                throw EvalError{"found duplicate series for the match group " +
                                labels_text(matched_labels(sample.labels, node.on, node.matching)) + " on the " +
                                (swapped ? "left" : "right") + " hand-side of the operation: [" +
                                labels_text(sample.labels) + ", " + labels_text(it->second->labels) +
                                "];many-to-many matching not allowed: matching labels must be unique on one side"};
        }
        // Per match group: the output label sets already produced (one-to-one allows one).
        std::unordered_map<std::string, std::unordered_set<std::string>> produced;
        Vector out;
        for (auto& sample : lhs) {
            std::string sig = signature(sample.labels, node.on, node.matching);
            auto match = one_side.find(sig);
            if (match == one_side.end()) continue;
            double l = sample.value;
            double r = match->second->value;
            if (swapped) std::swap(l, r);
            auto [value, keep] = apply(node.op, l, r);
            if (node.return_bool) {
                value = keep ? 1.0 : 0.0;
            } else if (!keep) {
                continue;
            }
            metrics::Labels labels = result_labels(node, std::move(sample.labels), match->second->labels);
            auto& group = produced[sig];
            if (node.card == Cardinality::one_to_one) {
                if (!group.empty())
                    throw EvalError{"multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"};
                group.insert("");
            } else if (!group.insert(key_of(labels)).second) {
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
            if (const std::string* value = label_value(one, name)) {
                set_label(labels, name, *value);
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
        struct Group {
            double value = 0;
            double mean = 0;
            std::size_t count = 0;
        };
        Vector input = vector(*node.operand);
        Vector out;
        std::vector<Group> groups;
        std::unordered_map<std::string, std::size_t> index;
        for (auto& sample : input) {
            metrics::Labels labels;
            for (auto& label : sample.labels) {
                bool listed = contains(node.grouping, label.first);
                if (node.without ? (!listed && label.first != kName) : listed) labels.push_back(std::move(label));
            }
            std::string key = key_of(labels);
            auto [it, inserted] = index.emplace(std::move(key), groups.size());
            double v = sample.value;
            if (inserted) {
                groups.push_back(Group{v, v, 1});
                out.push_back(VectorSample{std::move(labels), 0});
                continue;
            }
            Group& g = groups[it->second];
            ++g.count;
            switch (node.op) {
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
        for (std::size_t i = 0; i < out.size(); ++i) {
            const Group& g = groups[i];
            out[i].value = node.op == AggregateOp::avg     ? g.mean
                           : node.op == AggregateOp::count ? static_cast<double>(g.count)
                                                           : g.value;
        }
        return out;
    }

    Vector call(const CallNode& node) {
        Vector input = vector(*node.args[0]);
        if (node.function == Function::absent) {
            if (!input.empty()) return {};
            return Vector{VectorSample{node.absent_labels, 1}};
        }
        double bound = scalar(*node.args[1]);
        for (auto& sample : input) {
            drop_name(sample.labels);
            sample.value = node.function == Function::clamp_min ? go_max(bound, sample.value) : go_min(bound, sample.value);
        }
        return input;
    }

    const SeriesSource& source_;
};

void collect_names(const Expr& expr, std::vector<std::string>& names) {
    std::visit(
        [&](const auto& node) {
            using T = std::decay_t<decltype(node)>;
            if constexpr (std::is_same_v<T, SelectorNode>) {
                if (!node.name.empty()) names.push_back(node.name);
            } else if constexpr (std::is_same_v<T, NegateNode>) {
                collect_names(*node.operand, names);
            } else if constexpr (std::is_same_v<T, BinaryNode>) {
                collect_names(*node.lhs, names);
                collect_names(*node.rhs, names);
            } else if constexpr (std::is_same_v<T, AggregateNode>) {
                collect_names(*node.operand, names);
            } else if constexpr (std::is_same_v<T, CallNode>) {
                for (const auto& arg : node.args) collect_names(*arg, names);
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

std::vector<std::string> selected_metric_names(const Expr& expr) {
    std::vector<std::string> names;
    collect_names(expr, names);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

}  // namespace cargomon::alerts
