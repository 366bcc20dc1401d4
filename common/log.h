#pragma once
// The one logger (spdlog's default). Formats follow Prometheus tools: logfmt or JSON.
#include <string>
#include <string_view>

namespace cargomon {

// Throws std::invalid_argument on an unknown level ("debug", "info", "warn", "error")
// or format ("logfmt", "json").
void setup_logging(std::string_view level, std::string_view format, std::string_view program);

// Quotes a value for logfmt and JSON lines alike: "..." with \" \\ \n escaped.
std::string log_quote(std::string_view value);

}  // namespace cargomon
