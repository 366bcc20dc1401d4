#pragma once
// A test's duration from the environment: CI runs a fault for its full length, a
// developer sets a short one (CARGOMON_FAULT_API_DOWN=30s) while working on the test.
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "common/duration.h"

namespace cargomon::testing {

inline std::chrono::milliseconds duration_from_env(const char* name, std::chrono::milliseconds fallback) {
    const char* text = std::getenv(name);
    if (!text || !*text) return fallback;
    std::string error;
    auto d = parse_duration(text, &error);
    if (!d) throw std::runtime_error(std::string(name) + ": " + error);
    return *d;
}

}  // namespace cargomon::testing
