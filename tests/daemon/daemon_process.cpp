#include "tests/daemon/daemon_process.h"

#include <cstdlib>

#include <httplib.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/net.h"

namespace cargomon::testing {

namespace {

std::string make_temp_dir() {
    char tmpl[] = "/tmp/cargomon-daemon-test-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::trunc);
    out << content;
    if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

double parse_value(const std::string& text, std::size_t line) {
    if (text == "NaN") return std::nan("");
    if (text == "+Inf") return INFINITY;
    if (text == "-Inf") return -INFINITY;
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
    }
    if (used != text.size() || text.empty())
        throw std::runtime_error("exposition line " + std::to_string(line) + ": bad value \"" + text + "\"");
    return v;
}

Sample parse_sample(std::string_view s, std::size_t line) {
    auto fail = [&](const std::string& why) {
        return std::runtime_error("exposition line " + std::to_string(line) + ": " + why + ": " + std::string(s));
    };
    Sample sample;
    std::size_t i = 0;
    while (i < s.size() && s[i] != '{' && s[i] != ' ') ++i;
    sample.name = std::string(s.substr(0, i));
    if (sample.name.empty()) throw fail("no metric name");
    if (i < s.size() && s[i] == '{') {
        ++i;
        while (i < s.size() && s[i] != '}') {
            auto eq = s.find('=', i);
            if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') throw fail("bad label");
            std::string key(s.substr(i, eq - i));
            std::string value;
            i = eq + 2;
            for (; i < s.size() && s[i] != '"'; ++i) {
                if (s[i] != '\\') {
                    value += s[i];
                    continue;
                }
                if (++i >= s.size()) throw fail("bad escape");
                value += s[i] == 'n' ? '\n' : s[i];
            }
            if (i >= s.size()) throw fail("unterminated label value");
            ++i;
            if (i < s.size() && s[i] == ',') ++i;
            if (!sample.labels.emplace(key, value).second) throw fail("duplicate label " + key);
        }
        if (i >= s.size()) throw fail("unterminated labels");
        ++i;
    }
    if (i >= s.size() || s[i] != ' ') throw fail("no value");
    std::string rest(s.substr(i + 1));
    sample.value = parse_value(rest.substr(0, rest.find(' ')), line);
    return sample;
}

HttpAnswer answer_of(const httplib::Result& res) {
    if (!res) return {};
    return {res->status, res->body};
}

}  // namespace

// CARGOMON_TEST_BINARY runs another build of cargomon (a deliberately broken copy, to see
// a test fail) without touching the one in the build tree.
std::string daemon_binary() {
    const char* other = std::getenv("CARGOMON_TEST_BINARY");
    return other && *other ? other : CARGOMON_BINARY;
}

std::vector<Sample> Scrape::find(const std::string& name, const Labels& subset) const {
    std::vector<Sample> out;
    for (const auto& s : samples) {
        if (s.name != name) continue;
        bool all = true;
        for (const auto& [k, v] : subset) {
            auto it = s.labels.find(k);
            all = all && it != s.labels.end() && it->second == v;
        }
        if (all) out.push_back(s);
    }
    return out;
}

std::optional<double> Scrape::value(const std::string& name, const Labels& subset) const {
    auto found = find(name, subset);
    if (found.empty()) return std::nullopt;
    if (found.size() > 1) throw std::runtime_error(std::to_string(found.size()) + " samples of " + name + " match");
    return found[0].value;
}

Scrape parse_exposition(std::string_view text) {
    Scrape scrape{.text = std::string(text), .samples = {}};
    std::size_t line = 0, pos = 0;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        auto s = text.substr(pos, end - pos);
        pos = end + 1;
        ++line;
        if (s.empty() || s[0] == '#') continue;
        scrape.samples.push_back(parse_sample(s, line));
    }
    return scrape;
}

DaemonProcess::DaemonProcess(const std::string& config_yaml, DaemonOptions options) {
    dir_ = make_temp_dir();
    config_path_ = dir_ + "/cargomon.yml";
    storage_path_ = options.storage_path.empty() ? dir_ + "/storage" : options.storage_path;
    log_file_ = dir_ + "/cargomon.log";
    write_config(config_yaml);
    const int port = free_loopback_port();
    url_ = "http://127.0.0.1:" + std::to_string(port);
    std::vector<std::string> argv = {daemon_binary(),
                                     "--config.file", config_path_,
                                     "--web.listen-address", "127.0.0.1:" + std::to_string(port),
                                     "--storage.path", storage_path_,
                                     "--log.level", "debug"};
    argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
    process_ = std::make_unique<Process>(ProcessOptions{.argv = argv, .env = options.env, .output_file = log_file_});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (get(options.wait_ready ? "/readyz" : "/healthz").status != 200) {
        if (!process_->running()) throw std::runtime_error("cargomon exited at start:\n" + log());
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("cargomon not ready:\n" + log());
        std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
}

DaemonProcess::~DaemonProcess() {
    process_->stop(std::chrono::seconds{15});
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::string DaemonProcess::log() const { return read_file(log_file_); }

void DaemonProcess::write_config(const std::string& yaml) const { write_file(config_path_, yaml); }

HttpAnswer DaemonProcess::get(const std::string& path) const {
    httplib::Client client(url_);
    client.set_connection_timeout(std::chrono::seconds{2});
    client.set_read_timeout(std::chrono::seconds{10});
    return answer_of(client.Get(path));
}

HttpAnswer DaemonProcess::post(const std::string& path) const {
    httplib::Client client(url_);
    client.set_connection_timeout(std::chrono::seconds{2});
    client.set_read_timeout(std::chrono::seconds{10});
    return answer_of(client.Post(path));
}

Scrape DaemonProcess::scrape() const {
    auto answer = get("/metrics");
    if (answer.status != 200)
        throw std::runtime_error("/metrics answered " + std::to_string(answer.status) + ": " + answer.body);
    return parse_exposition(answer.body);
}

Scrape DaemonProcess::scrape_until(const std::function<bool(const Scrape&)>& ready,
                                   std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto s = scrape();
        if (ready(s)) return s;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("condition not met within " + std::to_string(timeout.count()) +
                                     " ms; last scrape:\n" + s.text + "\nlog:\n" + log());
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
}

CommandResult run_cargomon(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                           std::chrono::milliseconds timeout) {
    std::vector<std::string> argv = {daemon_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, env, timeout);
}

CommandResult run_command(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                          std::chrono::milliseconds timeout) {
    TempDir dir;
    const std::string output = dir.path() + "/output";
    Process process(ProcessOptions{.argv = argv, .env = env, .output_file = output});
    auto code = process.wait_for(timeout);
    if (!code) code = process.stop(std::chrono::milliseconds{0});
    return {*code, read_file(output)};
}

}  // namespace cargomon::testing
