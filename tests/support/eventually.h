#pragma once
// Waiting for a condition in an end-to-end test: polled, never a fixed sleep, so a loaded
// (sanitized, 2-core) machine is slower but not flaky.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace cargomon::testing {

// Waits until `ready` holds; fails the test with `what` after `timeout`.
inline bool eventually(const std::function<bool()>& ready, std::chrono::milliseconds timeout, const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!ready()) {
        if (std::chrono::steady_clock::now() > deadline) {
            ADD_FAILURE() << "timed out waiting for " << what;
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{200});
    }
    return true;
}

}  // namespace cargomon::testing
