#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "common/process.h"

using namespace cargomon;
using namespace std::chrono_literals;

TEST(Process, RunsAndReportsExitCode) {
    Process p({.argv = {"sh", "-c", "exit 3"}});
    EXPECT_EQ(p.wait_for(5s), 3);
}

TEST(Process, StopEscalatesToKill) {
    // The child says it is ready only after SIGTERM is ignored, so the SIGTERM cannot
    // arrive first (which would end it with 143, however loaded the machine is).
    auto ready = std::filesystem::temp_directory_path() / ("cargomon-process-ready-" + std::to_string(::getpid()));
    std::filesystem::remove(ready);
    Process p({.argv = {"sh", "-c", "trap '' TERM; : > \"$READY\"; exec sleep 30"}, .env = {{"READY", ready.string()}}});
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!std::filesystem::exists(ready)) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the child never wrote " << ready;
        std::this_thread::sleep_for(1ms);
    }
    std::filesystem::remove(ready);
    EXPECT_EQ(p.stop(200ms), 128 + 9);
}

TEST(Process, RedirectsOutputAndEnvironment) {
    auto file = std::filesystem::temp_directory_path() / ("cargomon-process-" + std::to_string(::getpid()));
    std::filesystem::remove(file);
    {
        Process p({.argv = {"sh", "-c", "echo $GREETING"}, .env = {{"GREETING", "hello"}}, .output_file = file});
        EXPECT_EQ(p.wait_for(5s), 0);
    }
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    EXPECT_EQ(s.str(), "hello\n");
    std::filesystem::remove(file);
}

TEST(Process, MissingProgramIsAnError) {
    EXPECT_THROW(Process({.argv = {"no-such-program-cargomon"}}), std::runtime_error);
}
