#pragma once
// The real cargomon binary for end-to-end tests: a config file and storage in a temp
// dir, a free loopback port, readiness awaited, /metrics scraped and parsed.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/process.h"
#include "tests/support/temp_dir.h"

namespace cargomon::testing {

using Labels = std::map<std::string, std::string>;

struct Sample {
    std::string name;
    Labels labels;
    double value = 0;
};

// One parsed exposition in the Prometheus text format.
struct Scrape {
    std::string text;
    std::vector<Sample> samples;

    // Samples named `name` whose labels include every pair of `subset`.
    std::vector<Sample> find(const std::string& name, const Labels& subset = {}) const;
    // The value of the one such sample; nullopt when there is none, throws when several match.
    std::optional<double> value(const std::string& name, const Labels& subset = {}) const;
};

// Throws std::runtime_error naming the line on anything that is not the text format.
Scrape parse_exposition(std::string_view text);

struct HttpAnswer {
    int status = 0;  // 0: no answer
    std::string body;
};

// A config whose API nobody answers on: the collectors fail and the daemon still serves
// HTTP. For tests about the daemon itself (security, storage), not about collection.
inline const std::string kUnreachableApiConfig = R"(api_url: http://127.0.0.1:9
token: not-a-real-token
defaults: {interval: 30s, timeout: 1s}
collectors:
  - {name: discovery, kind: discovery}
)";

struct DaemonOptions {
    std::string storage_path;                  // empty: a fresh one in the temp dir
    std::map<std::string, std::string> env;    // e.g. CARGO_API_URL, CARGO_API_TOKEN
    std::vector<std::string> extra_args;
    bool wait_ready = true;  // false: only until it serves HTTP
};

class DaemonProcess {
public:
    // Writes `config_yaml` and starts cargomon; throws (with its log) if it exits or is not
    // ready (or serving, see wait_ready) within 30 s.
    explicit DaemonProcess(const std::string& config_yaml, DaemonOptions options = {});
    ~DaemonProcess();  // SIGTERM (SIGKILL after 15 s) and removes the temp dir

    const std::string& url() const { return url_; }  // "http://127.0.0.1:PORT"
    const std::string& config_path() const { return config_path_; }
    const std::string& storage_path() const { return storage_path_; }
    Process& process() { return *process_; }
    std::string log() const;  // everything it printed so far

    void write_config(const std::string& yaml) const;
    HttpAnswer get(const std::string& path) const;
    HttpAnswer post(const std::string& path) const;
    Scrape scrape() const;  // throws unless /metrics answers 200

    // Scrapes until `ready` holds; returns that scrape, throws (with the log) after `timeout`.
    Scrape scrape_until(const std::function<bool(const Scrape&)>& ready,
                        std::chrono::milliseconds timeout = std::chrono::seconds{30}) const;

private:
    std::string dir_;
    std::string config_path_;
    std::string storage_path_;
    std::string log_file_;
    std::string url_;
    std::unique_ptr<Process> process_;
};

std::string daemon_binary();  // path of the built cargomon

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr
};

// Runs cargomon with `args` to completion (killed after `timeout`, exit code then 137).
CommandResult run_cargomon(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds{30});

// Runs any program (argv[0] a path) the same way.
CommandResult run_command(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds{30});

}  // namespace cargomon::testing
