// PromQL: parse, and evaluate what parses over a few series.
#include <string>

#include "alerts/promql/promql.h"
#include "fuzz/fuzz.h"

namespace {

using namespace cargomon;

class Series final : public alerts::SeriesSource {
public:
    void visit(std::string_view name,
               const std::function<void(const metrics::Labels&, double)>& fn) const override {
        if (name == "up" || name == "foo") {
            fn({{"job", "a"}, {"instance", "1"}}, 1);
            fn({{"job", "b"}, {"instance", "1"}}, 0);
            fn({{"job", "b"}, {"instance", "2"}}, -3.5);
        }
    }
    void visit_names(const std::function<void(std::string_view)>& fn) const override {
        fn("up");
        fn("foo");
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::shared_ptr<const alerts::Expr> expr;
    try {
        expr = alerts::parse_expr(fuzz_text(data, size));
    } catch (const alerts::ExprError&) {
        return 0;
    }
    alerts::evaluate_checked(*expr, Series());
    alerts::selected_metric_names(*expr);
    return 0;
}
