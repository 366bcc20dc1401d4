// cargomon-sim as a user runs it: its flags, its exit codes and messages, its signals
// (the private ClickHouse goes with it), several workspaces, an external ClickHouse,
// scenarios and faults from the command line, and a seed that fixes the workspace.
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/net.h"
#include "common/process.h"
#include "sim/clickhouse/clickhouse.h"
#include "tests/support/sim_process.h"

namespace cargomon {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kToken = "cli-test-token-42";

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string make_temp_dir() {
    char tmpl[] = "/tmp/cargomon-sim-cli-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

struct Finished {
    int code = -1;
    std::string output;  // stdout and stderr
};

// Runs the sim to its end; these runs are expected to stop at the flags.
Finished run_sim(const std::vector<std::string>& args, std::map<std::string, std::string> env = {{"CARGOMON_SIM_TOKEN", kToken}}) {
    const std::string dir = make_temp_dir();
    std::vector<std::string> argv = {testing::sim_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    Finished done;
    {
        Process p({.argv = argv, .env = std::move(env), .output_file = dir + "/out"});
        auto code = p.wait_for(20s);
        done.code = code ? *code : -1;  // still running counts as a failure; the destructor stops it
    }
    done.output = read_text(dir + "/out");
    fs::remove_all(dir);
    return done;
}

// Pids of the processes whose parent is `pid`, by their command name.
std::vector<int> children_named(int pid, const std::string& comm) {
    std::vector<int> out;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string stat = read_text(entry.path() / "stat");
        // "pid (comm) state ppid ...": comm may hold spaces, so parse around the parentheses.
        auto open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos) continue;
        std::istringstream rest(stat.substr(close + 2));
        std::string state;
        int ppid = 0;
        rest >> state >> ppid;
        if (ppid == pid && stat.substr(open + 1, close - open - 1) == comm) out.push_back(std::stoi(name));
    }
    return out;
}

bool alive(int pid) { return ::kill(pid, 0) == 0; }

struct Answer {
    int status = 0;  // 0: no answer
    std::string body;
};

// A running sim as a caller sees it.
struct Target {
    std::string url;
    std::string token;
};

Answer call(const Target& sim, const std::string& method, const std::string& path, const std::string& body = "",
            const std::string& workspace = "") {
    httplib::Client client(sim.url);
    client.set_read_timeout(30);
    httplib::Headers headers = {{"authorization", "Bearer " + sim.token}};
    if (!workspace.empty()) headers.emplace("selected-workspace-uuid", workspace);
    auto res = method == "GET" ? client.Get(path.c_str(), headers) : client.Post(path.c_str(), headers, body, "application/json");
    if (!res) return {};
    return {res->status, res->body};
}

rapidjson::Document json(const std::string& text) {
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    EXPECT_FALSE(doc.HasParseError()) << text;
    return doc;
}

// "SELECT count() ..." through the API, in one workspace.
long long sql_count(const Target& sim, const std::string& sql, const std::string& workspace = "") {
    Answer a = call(sim, "POST", "/v1/orchestration/query", R"({"query": ")" + sql + R"("})", workspace);
    EXPECT_EQ(a.status, 200) << a.body;
    auto doc = json(a.body);
    if (!doc.IsObject() || !doc.HasMember("rows") || doc["rows"].Empty()) return -1;
    const auto& n = doc["rows"][0]["n"];
    return n.IsString() ? std::stoll(n.GetString()) : n.GetInt64();
}

// "name uuid workflowUuid" of every play and tool, sorted: what a seed must fix.
std::set<std::string> catalog(const Target& sim, const std::string& workspace = "") {
    std::set<std::string> out;
    for (const char* kind : {"plays", "tools"}) {
        Answer a = call(sim, "GET", std::string("/v1/orchestration/") + kind + "/list", "", workspace);
        EXPECT_EQ(a.status, 200) << a.body;
        auto doc = json(a.body);
        for (const auto& item : doc[kind].GetArray())
            out.insert(std::string(kind) + " " + item["name"].GetString() + " " + item["uuid"].GetString() + " " +
                       item["workflowUuid"].GetString());
    }
    return out;
}

// ---- flags that stop the sim before it starts anything ----

TEST(SimCliFlags, HelpExitsZeroAndDocumentsEveryFlag) {
    Finished f = run_sim({"--help"}, {});
    EXPECT_EQ(f.code, 0);
    for (const char* flag : {"--listen", "--token", "--clickhouse-data", "--clickhouse-url", "--workflows",
                             "--history", "--seed", "--workspaces", "--live", "--rate", "--scenario", "--control",
                             "--fault", "--log.level", "--log.format", "--help"})
        EXPECT_NE(f.output.find(std::string("  ") + flag + " "), std::string::npos) << flag << " missing from\n" << f.output;
}

struct BadFlags {
    std::vector<std::string> args;
    std::string message;
};

TEST(SimCliFlags, BadFlagsExitTwoWithAClearMessage) {
    const std::vector<BadFlags> cases = {
        {{"--clickhouse-data", "/tmp/x", "--frobnicate"}, "unknown flag --frobnicate"},
        {{"--clickhouse-data", "/tmp/x", "--clickhouse-url", "http://127.0.0.1:1"},
         "pass exactly one of --clickhouse-data DIR and --clickhouse-url URL"},
        {{}, "pass exactly one of --clickhouse-data DIR and --clickhouse-url URL"},
        {{"--clickhouse-data", "/tmp/x", "--history", "3 days"}, "--history: "},
        {{"--clickhouse-data", "/tmp/x", "--workflows", "many"}, "--workflows wants an integer >= 1, got \"many\""},
        {{"--clickhouse-data", "/tmp/x", "--rate", "-1"}, "--rate wants a positive number, got \"-1\""},
        {{"--clickhouse-data", "/tmp/x", "--listen"}, "--listen needs a value"},
        {{"--clickhouse-data", "/tmp/x", "--fault", "endpoint=/v1/orchestration/query,error_ratio=2"},
         "error_ratio: \"2\" is not a ratio in [0, 1]"},
        {{"--clickhouse-data", "/tmp/x", "--fault", "endpoint=/orchestration/query,error_ratio=1"},
         "is neither a /v1/ path nor \"*\""},
        {{"--clickhouse-data", "/tmp/x", "--fault", "error_ratio=1"}, "missing endpoint=<path or *>"},
        {{"--clickhouse-data", "/tmp/x", "--scenario", "/nonexistent/scenario.yml"},
         "/nonexistent/scenario.yml: cannot read the scenario file"},
        {{"--clickhouse-data", "/tmp/x", "--log.level", "bogus"}, "--log.level wants debug, info, warn or error, got \"bogus\""},
        {{"--clickhouse-data", "/tmp/x", "--log.level", "trace"}, "--log.level wants debug, info, warn or error, got \"trace\""},
        {{"--clickhouse-data", "/tmp/x", "--log.format=xml"}, "--log.format wants logfmt or json, got \"xml\""},
    };
    for (const auto& c : cases) {
        Finished f = run_sim(c.args);
        std::string joined;
        for (const auto& a : c.args) joined += a + " ";
        EXPECT_EQ(f.code, 2) << joined << "\n" << f.output;
        EXPECT_NE(f.output.find(c.message), std::string::npos) << joined << "\n" << f.output;
        EXPECT_NE(f.output.find("(see cargomon-sim --help)"), std::string::npos) << f.output;
    }
}

TEST(SimCliFlags, MissingTokenExitsTwoAndTheTokenNeverShows) {
    Finished none = run_sim({"--clickhouse-data", "/tmp/x"}, {{"CARGOMON_SIM_TOKEN", ""}});
    EXPECT_EQ(none.code, 2);
    EXPECT_NE(none.output.find("no token: pass --token or set CARGOMON_SIM_TOKEN"), std::string::npos) << none.output;

    // A bad flag next to a token: the message names the flag, never the secret.
    Finished bad = run_sim({"--token", "s3cret-value-77", "--clickhouse-data", "/tmp/x", "--bogus"}, {});
    EXPECT_EQ(bad.code, 2);
    EXPECT_EQ(bad.output.find("s3cret-value-77"), std::string::npos) << bad.output;
}

TEST(SimCliFlags, BadScenarioFileIsNamedWithLineAndColumn) {
    const std::string dir = make_temp_dir();
    const std::string path = dir + "/bad.yml";
    std::ofstream(path) << "events:\n"
                           "  - at: 2s\n"
                           "    kind: error_spike\n"
                           "    workflow: \"*\"\n"
                           "    error_rate: 2\n"
                           "    for: 1m\n";
    Finished f = run_sim({"--clickhouse-data", dir + "/ch", "--scenario", path});
    EXPECT_EQ(f.code, 2) << f.output;
    EXPECT_NE(f.output.find(path + ":5:17: error_rate: 2 is not a ratio in [0, 1]"), std::string::npos) << f.output;
    // Refused before ClickHouse was started: nothing was written to its data dir.
    EXPECT_FALSE(fs::exists(dir + "/ch"));

    std::ofstream(path) << "events:\n  - {at: 1s, kind: error_spike, workflow: \"No such play\", error_rate: 0.5, for: 1m}\n";
    Finished unknown = run_sim({"--clickhouse-data", dir + "/ch", "--scenario", path});
    EXPECT_EQ(unknown.code, 2);
    EXPECT_NE(unknown.output.find(path + ":2:43: unknown workflow \"No such play\""), std::string::npos) << unknown.output;
    fs::remove_all(dir);
}

// ---- a data folder used twice: the second start begins clean, each batch once ----

// Starts a sim and waits for its ready line; the url, or "" (and the log) when it did not start.
std::string start_sim(std::unique_ptr<Process>& sim, const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv = {testing::sim_binary(), "--listen", "127.0.0.1:" + std::to_string(free_loopback_port())};
    argv.insert(argv.end(), args.begin(), args.end());
    sim = std::make_unique<Process>(ProcessOptions{.argv = argv, .env = {{"CARGOMON_SIM_TOKEN", kToken}}, .output_file = log});
    const std::regex ready(R"(cargomon-sim listening on (http://\S+) \(workspace)");
    for (auto deadline = std::chrono::steady_clock::now() + 120s; std::chrono::steady_clock::now() < deadline;) {
        std::smatch m;
        std::string text = read_text(log);
        if (std::regex_search(text, m, ready)) return m[1];
        if (!sim->running()) break;
        std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "sim did not start:\n" << read_text(log);
    return "";
}

TEST(SimCliDataFolder, StartingTwiceOnOneDataFolderGivesEachBatchOnce) {
    const std::string dir = make_temp_dir();
    const std::vector<std::string> flags = {"--clickhouse-data", dir + "/ch", "--workflows", "3", "--history", "1d", "--seed", "5"};
    long long first_batches = 0;
    {
        std::unique_ptr<Process> first;
        const std::string url = start_sim(first, flags, dir + "/first.log");
        ASSERT_FALSE(url.empty());
        first_batches = sql_count({url, kToken}, "SELECT count() AS n FROM batches");
        ASSERT_GT(first_batches, 0);
        EXPECT_EQ(read_text(dir + "/first.log").find("earlier start"), std::string::npos);
        first->signal(SIGTERM);
        ASSERT_TRUE(first->wait_for(30s).has_value());
    }
    // Two seconds on: another `now`, so a second load would add every batch again at
    // shifted instants.
    std::this_thread::sleep_for(2s);
    std::unique_ptr<Process> second;
    const std::string url = start_sim(second, flags, dir + "/second.log");
    ASSERT_FALSE(url.empty());
    const Target sim{url, kToken};
    const long long batches = sql_count(sim, "SELECT count() AS n FROM batches");
    EXPECT_EQ(batches, sql_count(sim, "SELECT uniqExact(uuid) AS n FROM batches")) << "a batch appears twice";
    EXPECT_EQ(sql_count(sim, "SELECT count() AS n FROM runs"), sql_count(sim, "SELECT uniqExact(uuid) AS n FROM runs"));
    EXPECT_NEAR(double(batches), double(first_batches), 2.0);  // the same seed, 2 s later
    EXPECT_NE(read_text(dir + "/second.log").find("already holds " + std::to_string(first_batches) +
                                                  " batches from an earlier start; dropping it and loading the history afresh"),
              std::string::npos)
        << read_text(dir + "/second.log");
    second.reset();
    fs::remove_all(dir);
}

// ---- signals: the sim stops, and its private ClickHouse with it ----

void expect_clean_stop(int sig) {
    // At info level the sim logs which signal stopped it.
    testing::SimProcess sim({.workflows = 2, .history = "1h", .control = false, .extra_args = {"--log.level", "info"}});
    std::vector<int> clickhouse = children_named(sim.process().pid(), "clickhouse-serv");
    ASSERT_EQ(clickhouse.size(), 1u) << "expected one clickhouse-server child";
    ASSERT_TRUE(sim::ClickHouseClient(sim.clickhouse_url()).ping());

    sim.process().signal(sig);
    auto code = sim.process().wait_for(30s);
    ASSERT_TRUE(code.has_value()) << "the sim did not stop on signal " << sig;
    EXPECT_EQ(*code, 0);
    EXPECT_NE(read_text(sim.log_file()).find(sig == SIGINT ? "SIGINT received" : "SIGTERM received"), std::string::npos);
    EXPECT_FALSE(sim::ClickHouseClient(sim.clickhouse_url()).ping());
    EXPECT_FALSE(alive(clickhouse.front())) << "clickhouse-server " << clickhouse.front() << " outlived the sim";
    EXPECT_FALSE(call({sim.url(), sim.token()}, "GET", "/v1/orchestration/plays/list").status);
}

TEST(SimCliSignals, SigtermStopsTheSimAndItsClickHouse) { expect_clean_stop(SIGTERM); }
TEST(SimCliSignals, SigintStopsTheSimAndItsClickHouse) { expect_clean_stop(SIGINT); }

// ---- one running sim for the rest: two workspaces on a ClickHouse the test owns,
// a scenario and a --fault ----

class SimCliRunning : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = make_temp_dir();
        clickhouse_ = new sim::ClickHouseServer(dir_ + "/clickhouse");
        std::ofstream(dir_ + "/scenario.yml")
            << "# the API fails runs/count from 2 s after start, for 3 s\n"
               "events:\n"
               "  - {at: 2s, kind: api_fault, endpoint: /v1/orchestration/runs/count, error_ratio: 1, statuses: [500], for: 3s}\n";
        const std::string log = dir_ + "/sim.log";
        sim_ = new Process({.argv = {testing::sim_binary(), "--listen", "127.0.0.1:" + std::to_string(free_loopback_port()),
                                     "--clickhouse-url", clickhouse_->url(), "--workflows", "4", "--history", "1d",
                                     "--seed", "7", "--workspaces", "2", "--scenario", dir_ + "/scenario.yml", "--fault",
                                     "endpoint=/v1/orchestration/spans/count,error_ratio=1,statuses=502",
                                     "--log.level", "info"},
                            .env = {{"CARGOMON_SIM_TOKEN", kToken}},
                            .output_file = log});
        const std::regex ready(R"(cargomon-sim listening on (http://\S+) \(workspace (\S+), clickhouse (\S+)\))");
        for (auto deadline = std::chrono::steady_clock::now() + 120s; std::chrono::steady_clock::now() < deadline;) {
            std::string text = read_text(log);
            std::smatch m;
            if (std::regex_search(text, m, ready)) {
                sim_target_ = {m[1], kToken};
                first_workspace_ = m[2];
                return;
            }
            if (!sim_->running()) break;
            std::this_thread::sleep_for(20ms);
        }
        FAIL() << "sim did not start:\n" << read_text(log);
    }

    static void TearDownTestSuite() {
        delete sim_;
        delete clickhouse_;
        fs::remove_all(dir_);
    }

    static inline std::string dir_, first_workspace_;
    static inline Target sim_target_;
    static inline sim::ClickHouseServer* clickhouse_ = nullptr;
    static inline Process* sim_ = nullptr;
};

// First: the scenario's fault starts 2 s after the sim started serving.
TEST_F(SimCliRunning, ScenarioFaultAppearsThenEnds) {
    ASSERT_FALSE(sim_target_.url.empty());
    std::vector<int> statuses;
    bool ended = false;
    for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
        statuses.push_back(call(sim_target_, "POST", "/v1/orchestration/runs/count", "{}").status);
        const bool seen_fault = std::find(statuses.begin(), statuses.end(), 500) != statuses.end();
        if (seen_fault && statuses.back() == 200) {
            ended = true;
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(statuses.front(), 200) << "the fault was in force before its offset";
    EXPECT_NE(std::find(statuses.begin(), statuses.end(), 500), statuses.end()) << "no 500 ever";
    EXPECT_TRUE(ended) << "the 500s did not stop";
    for (int s : statuses) EXPECT_TRUE(s == 200 || s == 500) << s;
    EXPECT_NE(read_text(dir_ + "/sim.log").find("scenario: applied api_fault at 2s (/v1/orchestration/runs/count)"),
              std::string::npos);
}

TEST_F(SimCliRunning, FaultFlagIsHonouredOnItsEndpointOnly) {
    Answer faulted = call(sim_target_, "POST", "/v1/orchestration/spans/count", R"({"executionStartedAfter": "2000-01-01T00:00:00Z"})");
    EXPECT_EQ(faulted.status, 502);
    EXPECT_NE(faulted.body.find("simulatedServerError"), std::string::npos) << faulted.body;
    EXPECT_EQ(call(sim_target_, "GET", "/v1/orchestration/plays/list").status, 200);
}

TEST_F(SimCliRunning, EachWorkspaceSeesItsOwnData) {
    // The test owns this ClickHouse: the sim's two databases are found there directly.
    sim::ClickHouseClient ch(clickhouse_->url());
    std::string dbs = ch.query("SELECT name FROM system.databases WHERE name LIKE 'ws_%' ORDER BY name FORMAT TSV");
    std::vector<std::string> workspaces;
    std::istringstream lines(dbs);
    for (std::string db; std::getline(lines, db);) {
        std::string uuid = ch.query("SELECT any(workspace_uuid) FROM " + db + ".runs FORMAT TSV");
        workspaces.push_back(uuid.substr(0, uuid.find('\n')));
    }
    ASSERT_EQ(workspaces.size(), 2u) << dbs;
    const std::string second = workspaces[0] == first_workspace_ ? workspaces[1] : workspaces[0];
    ASSERT_NE(second, first_workspace_);
    ASSERT_TRUE(workspaces[0] == first_workspace_ || workspaces[1] == first_workspace_);

    const std::string runs = "SELECT count() AS n FROM runs";
    const long long first_runs = sql_count(sim_target_, runs), second_runs = sql_count(sim_target_, runs, second);
    EXPECT_GT(first_runs, 0);
    EXPECT_GT(second_runs, 0);
    EXPECT_NE(first_runs, second_runs);
    EXPECT_EQ(sql_count(sim_target_, runs, first_workspace_), first_runs);  // naming the default = no header
    // Straight from ClickHouse: the API's count for the second workspace is its own.
    EXPECT_EQ(sql_count(sim_target_, "SELECT countIf(workspace_uuid != '" + second + "') AS n FROM runs", second), 0);
    EXPECT_NE(catalog(sim_target_), catalog(sim_target_, second));

    Answer refused = call(sim_target_, "GET", "/v1/orchestration/plays/list", "", "00000000-0000-4000-8000-000000000000");
    EXPECT_EQ(refused.status, 403);
    EXPECT_NE(refused.body.find("workspaceNotAccessible"), std::string::npos) << refused.body;
}

TEST_F(SimCliRunning, SecondSimOnTheSamePortExitsOne) {
    const std::string address = sim_target_.url.substr(std::string("http://").size());
    const auto t0 = std::chrono::steady_clock::now();
    Finished second = run_sim({"--listen", address, "--clickhouse-url", clickhouse_->url(), "--workflows", "1",
                               "--history", "0"});
    EXPECT_EQ(second.code, 1) << second.output;
    EXPECT_NE(second.output.find("cargomon-sim: cannot listen on " + address + ": the port is taken"), std::string::npos)
        << second.output;
    EXPECT_EQ(second.output.find("listening on"), std::string::npos) << second.output;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "the port should be checked before ClickHouse is used";
    // The running sim still serves, its data untouched.
    EXPECT_EQ(call(sim_target_, "GET", "/v1/orchestration/plays/list").status, 200);
    EXPECT_EQ(catalog(sim_target_).size(), 4u);
}

TEST_F(SimCliRunning, SameSeedSameWorkspaces) {
    // Another sim, its own private ClickHouse, another instant: plays, tools and their
    // uuids come from the seed alone.
    testing::SimProcess twin({.workflows = 4, .history = "1h", .seed = 7, .workspaces = 2, .control = false});
    EXPECT_EQ(twin.workspace_uuid(), first_workspace_);
    const auto mine = catalog(sim_target_);
    EXPECT_EQ(mine.size(), 4u);
    EXPECT_EQ(catalog({twin.url(), twin.token()}), mine);

    testing::SimProcess other({.workflows = 4, .history = "1h", .seed = 8, .control = false});
    EXPECT_NE(other.workspace_uuid(), first_workspace_);
    EXPECT_NE(catalog({other.url(), other.token()}), mine);
}

}  // namespace
}  // namespace cargomon
