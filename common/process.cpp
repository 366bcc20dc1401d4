#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace cargomon {
namespace {

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

std::string find_executable(const std::string& program) {
    auto executable = [](const std::string& p) {
        struct stat st {};
        return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
    };
    if (program.find('/') != std::string::npos) return executable(program) ? program : "";
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    dirs += ":/usr/local/sbin:/usr/sbin:/sbin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        std::string candidate = dirs.substr(start, end - start) + "/" + program;
        if (end > start && executable(candidate)) return candidate;
        start = end + 1;
    }
    return "";
}

Process::Process(ProcessOptions options) {
    if (options.argv.empty()) throw std::runtime_error("process: empty argv");
    std::string exe = find_executable(options.argv[0]);
    if (exe.empty()) throw std::runtime_error("process: " + options.argv[0] + " not found in PATH");

    // Everything the child needs is built before fork: after it, only async-signal-safe calls.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string entry = *e;
        std::string key = entry.substr(0, entry.find('='));
        if (!options.env.count(key)) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& a : options.argv) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out_fd = -1;
    if (!options.output_file.empty()) {
        out_fd = ::open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out_fd < 0)
            throw std::runtime_error("process: cannot open " + options.output_file + ": " + std::strerror(errno));
    }
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        if (out_fd >= 0) ::close(out_fd);
        throw std::runtime_error(std::string("process: fork failed: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);  // parent died before prctl took effect
        ::setpgid(0, 0);  // own process group: a Ctrl-C meant for us is ours to forward
        if (out_fd >= 0) {
            ::dup2(out_fd, STDOUT_FILENO);
            ::dup2(out_fd, STDERR_FILENO);
        }
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
        if (!options.working_dir.empty() && ::chdir(options.working_dir.c_str()) != 0) ::_exit(126);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(exe.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    if (out_fd >= 0) ::close(out_fd);
}

Process::~Process() {
    if (pid_ > 0 && !status_) stop();
}

bool Process::running() { return !exit_code().has_value(); }

std::optional<int> Process::exit_code() {
    if (status_) return status_;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) status_ = decode_status(status);
    return status_;
}

void Process::signal(int sig) {
    // The whole group: a shell's children go with it.
    if (!exit_code()) ::kill(-pid_, sig);
}

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (auto code = exit_code()) return code;
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
}

int Process::stop(std::chrono::milliseconds grace) {
    signal(SIGTERM);
    if (auto code = wait_for(grace)) return *code;
    kill_hard();
    return status_.value_or(-1);
}

void Process::kill_hard() {
    if (exit_code()) return;
    ::kill(-pid_, SIGKILL);
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) status_ = decode_status(status);
}

}  // namespace cargomon
