// Docs as tests: every shell example in README.md and docs/*.md runs, against a real
// cargomon-sim and real cargomon daemons, and what it prints is compared with what the
// doc shows. A doc that drifts from the program fails here: fix the doc (or the program).
//
// Which examples run:
//   - a fenced block with `$ command` lines is a transcript: each command runs (in one bash
//     session per block, so `export` and `cd` carry to the block's later commands) and the
//     lines after it, up to the next `$ `, are what it must print (stdout and stderr);
//     a command continues on the next line after a trailing `\`;
//   - a fenced ```sh block is a script: it runs whole under `set -e` and must exit 0 (it
//     shows no output to compare);
//   - an HTML comment on the line right before the fence says otherwise:
//       <!-- docs-test: skip (why) -->   not run (needs Docker, systemd, root, a real
//                                        Cargo account, runs until stopped, illustrative)
//       <!-- docs-test: file NAME -->    the block is written to NAME in the working folder
//                                        (a config or rule file later examples use)
//       <!-- docs-test: daemon without write flags -->  the block's daemon runs without
//                                        --web.enable-lifecycle and --web.enable-admin-api
//   Other blocks (yaml, json, output without a command) are not examples.
//
// Placeholders in the expected output (kept small on purpose):
//   - a line `...` matches any number of lines, none included;
//   - `...` inside a line matches any text on that line;
//   - a timestamp (`2026-11-28 12:55:30`, `2026-11-28T13:31:40.530Z`) matches any
//     timestamp of the same shape;
//   - a UUID alone on an output line (the ID `cargomon silence add` prints) matches any
//     UUID, and the doc's UUID then stands for the real one in the block's later commands
//     and output (so `silence expire <that ID>` expires the silence just made).
//   Everything else is compared exactly, line by line (trailing blanks ignored).
//
// Where the examples run, and what stands for what:
//   - the working folder is a temp dir with `build`, `config`, `scenarios` and `deploy`
//     linked to the source tree's, so `build/daemon/cargomon` and
//     `config/examples/cargomon.yml` work as written; `cargomon` and `cargomon-sim` are on
//     PATH. USER is `ana`, TZ is UTC.
//   - one sim like the demo's (`--workflows 12 --history 2d --seed 42 --live --rate 10
//     --control --scenario scenarios/demo.yml`) on a free loopback port: `:8080` in a
//     command or output is that port;
//   - per doc file, a daemon like the demo's (`config/examples/cargomon.yml`, the sim's URL
//     and token in CARGO_API_URL and CARGO_API_TOKEN, both write flags) on a free loopback
//     port: `:9464` (`localhost:9464`, `127.0.0.1:9464`) is that port, and CARGOMON_URL
//     (whose default is http://127.0.0.1:9464) is set to it. One daemon per file keeps one
//     doc's silences out of another's lists. Each is started once its rules have been
//     evaluated (the README's tour shows alerts "ten seconds in").
//   - `.demo/env`, which scripts/demo writes for the reader to source, holds CARGOMON_URL,
//     CARGO_API_URL and CARGO_API_TOKEN of the test's daemon and sim;
//   - `:9999` (a port nobody listens on) is a free loopback port nobody listens on.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include "common/net.h"
#include "common/process.h"
#include "tests/daemon/daemon_process.h"
#include "tests/support/sim_process.h"

namespace cargomon::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::vector<std::string> kDocs{"README.md",          "docs/configuration.md", "docs/metrics.md",
                                     "docs/alerting.md",   "docs/operations.md",    "docs/security.md",
                                     "docs/cargo-sim.md",  "docs/actions.md",       "docs/export.md"};

std::string source(const std::string& rel) { return std::string(CARGOMON_SOURCE_DIR) + "/" + rel; }

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string rtrim(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
    return s;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

struct Block {
    std::string doc;
    int line = 0;  // of the opening fence, 1-based
    std::string info;
    std::string directive;  // the text after "docs-test:", trimmed
    std::vector<std::string> lines;
    std::string where() const { return doc + ":" + std::to_string(line); }
    bool transcript() const {
        for (const auto& l : lines)
            if (l.starts_with("$ ")) return true;
        return false;
    }
    bool runnable() const { return info == "sh" || transcript(); }
};

std::vector<Block> blocks(const std::string& doc) {
    const auto lines = split_lines(read_file(source(doc)));
    const std::regex directive(R"(^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$)");
    std::vector<Block> out;
    std::string last_nonblank;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!lines[i].starts_with("```")) {
            if (!rtrim(lines[i]).empty()) last_nonblank = lines[i];
            continue;
        }
        Block b{.doc = doc, .line = static_cast<int>(i + 1), .info = rtrim(lines[i].substr(3))};
        std::smatch m;
        if (std::regex_match(last_nonblank, m, directive)) b.directive = m[1];
        for (++i; i < lines.size() && !lines[i].starts_with("```"); ++i) b.lines.push_back(lines[i]);
        last_nonblank.clear();
        out.push_back(std::move(b));
    }
    return out;
}

struct Step {
    std::string command;
    std::vector<std::string> expected;
};

std::vector<Step> steps(const Block& b) {
    std::vector<Step> out;
    bool continues = false;
    for (const auto& line : b.lines) {
        if (continues) {
            out.back().command += "\n" + line;
        } else if (line.starts_with("$ ")) {
            out.push_back({.command = line.substr(2), .expected = {}});
        } else if (!out.empty()) {
            out.back().expected.push_back(line);
            continue;
        }
        continues = line.ends_with("\\");
    }
    return out;
}

// ----- matching ---------------------------------------------------------------------------

const char* kUuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

// One expected line as a regex: `...` is any text, a timestamp any timestamp of its shape.
std::regex line_regex(const std::string& expected) {
    static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
    const std::regex stamp(R"(\d{4}-\d{2}-\d{2}([ T])\d{2}:\d{2}:\d{2}(\.\d+)?(Z?))");
    std::string pattern;
    std::size_t at = 0;
    auto literal = [](const std::string& text) { return std::regex_replace(text, special, "\\$&"); };
    auto add_text = [&](const std::string& text) {
        std::string out;
        std::size_t from = 0;
        for (std::sregex_iterator it(text.begin(), text.end(), stamp), end; it != end; ++it) {
            out += literal(text.substr(from, it->position() - from));
            out += R"(\d{4}-\d{2}-\d{2})" + literal((*it)[1]) + R"(\d{2}:\d{2}:\d{2})" +
                   ((*it)[2].matched ? R"(\.\d+)" : "") + literal((*it)[3]);
            from = it->position() + it->length();
        }
        return out + literal(text.substr(from));
    };
    for (auto dots = expected.find("..."); dots != std::string::npos; dots = expected.find("...", at)) {
        pattern += add_text(expected.substr(at, dots - at)) + ".*";
        at = dots + 3;
    }
    pattern += add_text(expected.substr(at));
    // __polynomial (libstdc++) matches breadth-first: the default depth-first matcher
    // recurses once per character a `.*` takes, which overflowed the stack on a long
    // output line in the ASan build (bigger frames), and would in a plain one on a longer
    // line. The pattern has no back-references, which are all it gives up.
    return std::regex(pattern, std::regex::ECMAScript | std::regex_constants::__polynomial);
}

bool lines_match(const std::vector<std::string>& want, std::size_t w, const std::vector<std::string>& got,
                 std::size_t g) {
    if (w == want.size()) return g == got.size();
    if (want[w] == "...") {
        for (std::size_t skip = g; skip <= got.size(); ++skip)
            if (lines_match(want, w + 1, got, skip)) return true;
        return false;
    }
    return g < got.size() && std::regex_match(got[g], line_regex(want[w])) && lines_match(want, w + 1, got, g + 1);
}

// ----- the peers ----------------------------------------------------------------------------

struct Daemon {
    std::string dir;
    int port = 0;
    std::unique_ptr<Process> process;
    std::string log() const {
        try {
            return read_file(dir + "/cargomon.log");
        } catch (...) {
            return "";
        }
    }
};

class DocsExamples : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        sim_ = new SimProcess(SimOptions{.workflows = 12,
                                         .history = "2d",
                                         .seed = 42,
                                         .live = true,
                                         .rate = 10,
                                         .control = true,
                                         .extra_args = {"--scenario", source("scenarios/demo.yml")}});
    }
    static void TearDownTestSuite() {
        delete sim_;
        sim_ = nullptr;
    }

    void SetUp() override {
        char tmpl[] = "/tmp/cargomon-docs-examples-XXXXXX";
        ASSERT_TRUE(::mkdtemp(tmpl));
        work_ = tmpl;
        for (const char* link : {"build", "config", "scenarios", "deploy"})
            fs::create_directory_symlink(link == std::string("build") ? fs::path(daemon_binary()).parent_path().parent_path()
                                                                      : fs::path(source(link)),
                                         work_ + "/" + link);
        fs::create_directories(work_ + "/.bin");
        fs::create_symlink(daemon_binary(), work_ + "/.bin/cargomon");
        fs::create_symlink(sim_binary(), work_ + "/.bin/cargomon-sim");
        unused_port_ = free_loopback_port();
        sim_port_ = sim_->url().substr(sim_->url().rfind(':') + 1);
    }
    void TearDown() override {
        for (auto& [key, d] : daemons_) d->process->stop(15s);
        std::error_code ec;
        fs::remove_all(work_, ec);
    }

    Daemon& daemon(const std::string& key, bool write_flags) {
        auto& slot = daemons_[key];
        if (slot) return *slot;
        slot = std::make_unique<Daemon>();
        Daemon& d = *slot;
        d.dir = work_ + "/.daemons/" + std::to_string(daemons_.size());
        fs::create_directories(d.dir);
        d.port = free_loopback_port();
        std::vector<std::string> argv = {daemon_binary(), "--config.file", source("config/examples/cargomon.yml"),
                                         "--web.listen-address", "127.0.0.1:" + std::to_string(d.port),
                                         "--storage.path", d.dir + "/state"};
        if (write_flags) {
            argv.push_back("--web.enable-lifecycle");
            argv.push_back("--web.enable-admin-api");
        }
        d.process = std::make_unique<Process>(ProcessOptions{
            .argv = argv,
            .env = {{"CARGO_API_URL", sim_->url()}, {"CARGO_API_TOKEN", sim_->token()}},
            .output_file = d.dir + "/cargomon.log"});
        // Ready, and every rule group evaluated once (the tour's alerts are there by then).
        httplib::Client client("127.0.0.1", d.port);
        client.set_connection_timeout(1s);
        const auto deadline = std::chrono::steady_clock::now() + 90s;
        while (true) {
            if (!d.process->running()) throw std::runtime_error("cargomon exited:\n" + d.log());
            if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("cargomon not ready:\n" + d.log());
            auto ready = client.Get("/readyz");
            auto metrics = client.Get("/metrics");
            if (ready && ready->status == 200 && metrics && metrics->status == 200) {
                auto scrape = parse_exposition(metrics->body);
                auto evaluations = scrape.find("cargomon_rule_evaluations_total");
                if (!evaluations.empty() && std::all_of(evaluations.begin(), evaluations.end(),
                                                        [](const Sample& s) { return s.value > 0; }))
                    break;
            }
            std::this_thread::sleep_for(250ms);
        }
        return d;
    }

    // The documented ports and URLs as the test's own.
    std::string mapped(std::string text, const Daemon& d) const {
        text = replace_all(text, ":9464", ":" + std::to_string(d.port));
        text = replace_all(text, ":8080", ":" + sim_port_);
        text = replace_all(text, ":9999", ":" + std::to_string(unused_port_));
        return text;
    }

    CommandResult bash(const std::string& script, const Daemon& d) const {
        const std::string url = "http://127.0.0.1:" + std::to_string(d.port);
        write_file(work_ + "/.demo/env", "export CARGOMON_URL=" + url + "\nexport CARGO_API_URL=" + sim_->url() +
                                             "\nexport CARGO_API_TOKEN=" + sim_->token() + "\n");
        write_file(work_ + "/.script.sh", "cd " + work_ + " || exit 99\n" + script);
        return run_command({"/usr/bin/env", "-u", "CARGO_API_URL", "-u", "CARGO_API_TOKEN", "PATH=" + work_ +
                                "/.bin:" + std::getenv("PATH"), "CARGOMON_URL=" + url, "USER=ana", "TZ=UTC",
                            "LC_ALL=C.UTF-8", "bash", "--noprofile", "--norc", work_ + "/.script.sh"},
                           {}, 90s);
    }

    // Runs a transcript block, one command at a time (the shell's exported variables and
    // folder carry from one to the next); returns what differs ("" when nothing does).
    std::string run_transcript(const Block& b, const Daemon& d) {
        std::map<std::string, std::string> bound;  // the doc's UUID -> the real one
        auto rebind = [&](std::string text) {
            for (const auto& [doc_id, real] : bound) text = replace_all(text, doc_id, real);
            return mapped(text, d);
        };
        std::error_code ec;
        fs::remove(work_ + "/.session.env", ec);
        fs::remove(work_ + "/.session.pwd", ec);
        const std::regex uuid(kUuid);
        for (const auto& step : steps(b)) {
            auto result = bash("cd \"$(cat .session.pwd 2>/dev/null || pwd)\"\n"
                               "[ -f " + work_ + "/.session.env ] && . " + work_ + "/.session.env\n" +
                                   rebind(step.command) +
                                   "\nexport -p >" + work_ + "/.session.env; pwd >" + work_ + "/.session.pwd\n",
                               d);
            auto got = split_lines(result.output);
            for (auto& l : got) l = rtrim(l);
            std::vector<std::string> want;
            for (const auto& l : step.expected) want.push_back(rtrim(rebind(l)));
            // A UUID alone on a line stands for the one printed at the same place.
            for (std::size_t k = 0; k < want.size() && k < got.size(); ++k)
                if (std::regex_match(want[k], uuid) && std::regex_match(got[k], uuid) && want[k] != got[k]) {
                    bound[want[k]] = got[k];
                    want[k] = got[k];
                }
            if (!lines_match(want, 0, got, 0)) {
                std::string diff = b.where() + ": `$ " + step.command + "`\n--- the doc shows (mapped):\n";
                for (const auto& l : want) diff += l + "\n";
                diff += "--- it printed:\n";
                for (const auto& l : got) diff += l + "\n";
                return diff;
            }
        }
        return "";
    }

    static SimProcess* sim_;
    std::string work_;
    std::string sim_port_;
    int unused_port_ = 0;
    std::map<std::string, std::unique_ptr<Daemon>> daemons_;
};

SimProcess* DocsExamples::sim_ = nullptr;

TEST_F(DocsExamples, EveryShellExampleRunsAndPrintsWhatTheDocShows) {
    int ran = 0;
    int skipped = 0;
    std::vector<std::string> failures;
    std::vector<std::string> skips;
    for (const auto& doc : kDocs) {
        for (const auto& b : blocks(doc)) {
            if (b.directive.starts_with("file ")) {
                std::string text;
                for (const auto& l : b.lines) text += l + "\n";
                write_file(work_ + "/" + b.directive.substr(5), text);
                continue;
            }
            if (!b.runnable()) continue;
            if (b.directive.starts_with("skip")) {
                ++skipped;
                skips.push_back(b.where() + " " + b.directive);
                continue;
            }
            ASSERT_TRUE(b.directive.empty() || b.directive == "daemon without write flags")
                << b.where() << ": unknown docs-test directive \"" << b.directive << "\"";
            const bool write_flags = b.directive.empty();
            const Daemon& d = daemon(doc + (write_flags ? "" : " (read-only)"), write_flags);
            ++ran;
            if (b.transcript()) {
                auto diff = run_transcript(b, d);
                if (!diff.empty()) failures.push_back(diff);
            } else {
                std::string script = "set -e\n";
                for (const auto& l : b.lines) script += mapped(l, d) + "\n";
                auto result = bash(script, d);
                if (result.exit_code != 0)
                    failures.push_back(b.where() + ": the ```sh block exited " + std::to_string(result.exit_code) +
                                       ":\n" + result.output);
            }
        }
    }
    std::cout << "docs examples: " << ran << " run, " << skipped << " skipped\n";
    for (const auto& s : skips) std::cout << "  skipped " << s << "\n";
    for (const auto& f : failures) ADD_FAILURE() << f;
    EXPECT_GT(ran, 10);
}

}  // namespace
}  // namespace cargomon::testing
