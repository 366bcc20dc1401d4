#pragma once
// Prometheus naming rules, checked before anything reaches an exposition (label names:
// metrics/labels.h).
#include <string_view>

namespace cargomon::metrics {

bool is_valid_metric_name(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_utf8(std::string_view text);

}  // namespace cargomon::metrics
