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
    Process p({.argv = {"sh", "-c", "trap '' TERM; sleep 30"}});
    std::this_thread::sleep_for(100ms);
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
