#pragma once
// The parsed form of an expression, shared by the parser and the evaluator.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "alerts/promql/promql.h"
#include "metrics/labels.h"

namespace cargomon::alerts::promql {

enum class BinaryOp { add, sub, mul, div, mod, pow, atan2, eq, ne, gt, lt, ge, le, and_, or_, unless };
inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq && op <= BinaryOp::le; }
inline bool is_set_op(BinaryOp op) { return op >= BinaryOp::and_; }
enum class AggregateOp { sum, avg, min, max, count, group, stddev, stdvar, topk, bottomk, quantile, count_values };
enum class Cardinality { one_to_one, many_to_one, one_to_many, many_to_many };

// Where a selector or subquery reads: the evaluation time, or a fixed one (@), minus offset.
struct TimeModifier {
    std::int64_t offset_ms = 0;
    enum class At { none, time, start, end } at = At::none;
    std::int64_t at_ms = 0;  // when at == time
};

struct NumberNode {
    double value = 0;
};

struct StringNode {
    std::string value;
};

// An instant selector, or a range selector when range_ms > 0.
struct SelectorNode {
    std::string name;                        // empty when __name__ is not matched by equality
    std::vector<metrics::Matcher> matchers;  // as written, including any __name__ matcher
    std::int64_t range_ms = 0;
    TimeModifier time;
};

struct SubqueryNode {
    std::unique_ptr<Expr> operand;
    std::int64_t range_ms = 0;
    std::int64_t step_ms = 0;  // 0: the evaluation's own step (a minute for instant queries)
    TimeModifier time;
};

// Unary minus; unary plus stays a node only so absent(+x) sees no selector, as in Prometheus.
struct UnaryNode {
    bool negate = true;
    std::unique_ptr<Expr> operand;
};

struct BinaryNode {
    BinaryOp op = BinaryOp::add;
    bool return_bool = false;
    bool on = false;                    // on(...) rather than ignoring(...)
    std::vector<std::string> matching;  // the on/ignoring labels
    std::vector<std::string> include;   // group_left/group_right labels
    Cardinality card = Cardinality::one_to_one;
    std::unique_ptr<Expr> lhs;
    std::unique_ptr<Expr> rhs;
};

struct AggregateNode {
    AggregateOp op = AggregateOp::sum;
    bool without = false;
    std::vector<std::string> grouping;  // sorted, unique
    std::unique_ptr<Expr> param;        // topk/bottomk/quantile/count_values only
    std::unique_ptr<Expr> operand;
};

struct FunctionDef;  // functions.h
struct CallNode {
    const FunctionDef* function = nullptr;
    std::vector<std::unique_ptr<Expr>> args;
    metrics::Labels absent_labels;  // what absent()/absent_over_time() return when nothing matches
};

class Expr {
public:
    using Node = std::variant<NumberNode, StringNode, SelectorNode, SubqueryNode, UnaryNode, BinaryNode, AggregateNode, CallNode>;
    Expr(Node node, ValueType type) : node(std::move(node)), type(type) {}
    Node node;
    ValueType type;
    bool scalar() const { return type == ValueType::scalar; }
};

}  // namespace cargomon::alerts::promql
