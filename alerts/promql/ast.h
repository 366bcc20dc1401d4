#pragma once
// The parsed form of a PromQL subset expression, shared by the parser and the evaluator.
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "alerts/promql/promql.h"
#include "metrics/labels.h"

namespace cargomon::alerts {

enum class BinaryOp { add, sub, mul, div, mod, eq, ne, gt, lt, ge, le, and_, or_, unless };
inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq && op <= BinaryOp::le; }
enum class AggregateOp { sum, avg, min, max, count };
enum class Function { absent, clamp_min, clamp_max };
enum class Cardinality { one_to_one, many_to_one, one_to_many, many_to_many };

struct NumberNode {
    double value = 0;
};

struct SelectorNode {
    std::string name;               // empty when __name__ is not matched by equality
    std::vector<metrics::Matcher> matchers;  // as written, including any __name__ matcher
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
    std::unique_ptr<Expr> operand;
};

struct CallNode {
    Function function = Function::absent;
    std::vector<std::unique_ptr<Expr>> args;
    metrics::Labels absent_labels;  // what absent() returns when its selector matches nothing
};

class Expr {
public:
    using Node = std::variant<NumberNode, SelectorNode, UnaryNode, BinaryNode, AggregateNode, CallNode>;
    Expr(Node node, bool scalar) : node(std::move(node)), scalar(scalar) {}
    Node node;
    bool scalar;  // evaluates to a scalar, else to an instant vector
};

}  // namespace cargomon::alerts
