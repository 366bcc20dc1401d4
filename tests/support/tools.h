#pragma once
// The external tools the tests run (promtool, prometheus, prometheus-alertmanager,
// amtool, systemd-analyze) are all installed by scripts/bootstrap, so a missing one is a
// broken machine, not a reason to pass quietly: CARGOMON_REQUIRE_TOOL fails the test.
// Only with CARGOMON_ALLOW_MISSING_TOOLS=1 in the environment (a developer machine
// without them) does it skip instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace cargomon::testing {

inline bool missing_tools_allowed() {
    const char* allow = std::getenv("CARGOMON_ALLOW_MISSING_TOOLS");
    return allow && std::string_view(allow) == "1";
}

inline std::string missing_tool_message(const std::string& what) {
    return what + ": scripts/bootstrap installs it; set CARGOMON_ALLOW_MISSING_TOOLS=1 to skip instead";
}

// CI sets CI=true: there what CI provides (root: CI runs as root) is required, never a
// reason to skip.
inline bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci && (std::string_view(ci) == "true" || std::string_view(ci) == "1");
}

}  // namespace cargomon::testing

// In a test body or SetUp(): when `condition` is false, skips saying `why`, except in CI
// (CI=true), where it fails: a skip there would hide a case CI is meant to run.
#define CARGOMON_SKIP_UNLESS_OUTSIDE_CI(condition, why)                                             \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            if (::cargomon::testing::in_ci()) FAIL() << (why) << " (CI=true: required in CI)";      \
            GTEST_SKIP() << (why);                                                                 \
        }                                                                                          \
    } while (false)

// In a test body or SetUp(): when `available` is false, skips (CARGOMON_ALLOW_MISSING_TOOLS=1)
// or fails, saying `what` is missing; either way the test goes no further.
#define CARGOMON_REQUIRE_TOOL(available, what)                                                      \
    do {                                                                                           \
        if (!(available)) {                                                                        \
            if (::cargomon::testing::missing_tools_allowed()) GTEST_SKIP() << (what);               \
            FAIL() << ::cargomon::testing::missing_tool_message(what);                              \
        }                                                                                          \
    } while (false)
