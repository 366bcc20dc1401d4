#pragma once
// The main of a suite whose cases share one expensive environment (a sim, a daemon):
// `slot` is where the cases find it; GoogleTest owns it and tears it down after the
// last case.
#include <gtest/gtest.h>

namespace cargomon::testing {

template <typename Env>
int run_with_environment(int argc, char** argv, Env*& slot, Env* environment) {
    ::testing::InitGoogleTest(&argc, argv);
    slot = environment;
    ::testing::AddGlobalTestEnvironment(environment);
    return RUN_ALL_TESTS();
}

}  // namespace cargomon::testing
