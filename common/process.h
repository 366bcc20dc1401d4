#pragma once
// A child process we own: started with an argv, stopped (SIGTERM, then SIGKILL) when
// the owner goes away. The child also gets SIGKILL if this process dies without
// cleaning up, so a killed parent never leaves servers listening behind it.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cargomon {

struct ProcessOptions {
    std::vector<std::string> argv;             // argv[0] is the program (searched in PATH)
    std::map<std::string, std::string> env;    // added to (or overriding) our environment
    std::string output_file;                   // stdout+stderr go here; empty = inherit
    std::string working_dir;                   // empty = ours
};

class Process {
public:
    explicit Process(ProcessOptions options);  // throws std::runtime_error when it cannot start
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    int pid() const { return pid_; }
    bool running();
    // Exit status once it has exited (128+signal when killed by a signal).
    std::optional<int> exit_code();
    // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code.
    int stop(std::chrono::milliseconds grace = std::chrono::seconds{5});
    void kill_hard();  // SIGKILL, then reap
    void signal(int sig);
    // Waits for exit up to `timeout`; nullopt if still running.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);

private:
    int pid_ = -1;
    std::optional<int> status_;
};

// Absolute path of `program` found in PATH (or as given when it contains a '/'), empty if missing.
std::string find_executable(const std::string& program);

}  // namespace cargomon
