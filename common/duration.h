#pragma once
// Durations in Prometheus' notation: "500ms", "30s", "5m", "1h30m", "7d", "2w", "1y".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cargomon {

using Millis = std::chrono::milliseconds;

// nullopt when `text` is not a duration; `error` (if given) then says why.
std::optional<Millis> parse_duration(std::string_view text, std::string* error = nullptr);

// The shortest notation that parses back to `d` ("1h30m", "250ms", "0s").
std::string format_duration(Millis d);

}  // namespace cargomon
