#pragma once
// The function table, as Prometheus' parser.Functions plus its engine's FunctionCalls in
// one: the parser checks calls against it, the evaluator runs its implementations.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/promql/ast.h"

namespace cargomon::alerts::promql {

// A query error at run time, in Prometheus' words.
struct EvalError {
    std::string message;
};

// A call's evaluated arguments at one evaluation time.
struct CallArgs {
    const CallNode& call;
    std::int64_t t = 0;                 // evaluation time, ms
    std::vector<Value>& args;           // as the table's argument types say
    // For a range-vector argument: the window it covers (the selector's or subquery's
    // evaluation time minus its range, and that time).
    std::int64_t window_start = 0;
    std::int64_t window_end = 0;
};

using FunctionImpl = Value (*)(CallArgs&);

struct FunctionDef {
    std::string_view name;
    std::vector<ValueType> arg_types;
    int variadic = 0;  // optional trailing arguments of the last type; -1: any number
    ValueType return_type = ValueType::vector;
    FunctionImpl impl = nullptr;  // null: Prometheus has it, cargomon refuses it (native histograms)
    // Sets labels from values: its results may share a label set even when its arguments'
    // series all have the same name (the others only drop the name).
    bool rewrites_labels = false;
};

// nullptr when Prometheus knows no function of that name.
const FunctionDef* find_function(std::string_view name);
// The names of the functions cargomon evaluates, for messages and docs.
std::vector<std::string_view> supported_functions();

// The q-quantile of `values` as Prometheus computes it (NaN sorts first, linear
// interpolation between ranks; q outside [0, 1] gives -Inf or +Inf): quantile_over_time
// and the quantile aggregation both.
double quantile(double q, std::vector<double> values);

}  // namespace cargomon::alerts::promql
