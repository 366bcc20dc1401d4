#pragma once
// A sanitized build keeps freed memory in quarantine (ASan: up to 256 MiB) before reusing
// it, so a process's resident size grows with any churn however flat its live heap is.
// Suites that bound a daemon's memory call this before starting it, so the bound still
// means something under ASan.
#include <cstdlib>
#include <string>

namespace cargomon::testing {

// ASan reads its options when a process starts, a later key overriding an earlier one: the
// processes started after this reuse freed memory once 16 MiB of it waits (the calling
// process keeps what it started with).
inline void limit_asan_quarantine() {
    if (const char* options = std::getenv("ASAN_OPTIONS"))
        ::setenv("ASAN_OPTIONS", (std::string(options) + ":quarantine_size_mb=16").c_str(), 1);
}

}  // namespace cargomon::testing
