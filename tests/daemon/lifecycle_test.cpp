// The daemon's lifecycle: refusing a bad config at start and in check-config, reloads
// (failed ones keep the running config; good ones swap collectors), and counters of
// query collectors carried across a restart without going down or counting twice.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "collectors/watermarks.h"
#include "tests/support/environment_main.h"
#include "tests/daemon/daemon_process.h"
#include "tests/daemon/sim_client.h"
#include "tests/daemon/sim_environment.h"
#include "tests/support/http_receiver.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;

class Env : public SimEnvironment {
public:
    // Live, so the watermarked counter has new rows to count between runs.
    Env() : SimEnvironment({.workflows = 2, .history = "2h", .live = true, .rate = 5}) {}
    void SetUp() override {
        SimEnvironment::SetUp();
        live_since = std::chrono::steady_clock::now();
    }
    std::chrono::steady_clock::time_point live_since;
};

Env* env = nullptr;

std::string connection() {
    return "api_url: " + env->sim->url() + "\ntoken: " + env->sim->token() +
           "\nclient: {rate_limit: 500}\ndefaults: {interval: 2s, timeout: 2s, jitter: 0}\n";
}

const std::string kRunsCollector = "  - {name: runs, kind: run_counts, windows: [1h]}\n";
const std::string kQueryCollector = R"(  - name: added
    kind: query
    sql: SELECT count() AS n FROM runs
    metrics: [{name: cargo_e2e_all_runs, value: n}]
)";

double up(const Scrape& s, const std::string& collector) {
    return s.value("cargomon_collector_up", {{"collector", collector}}).value_or(-1);
}

std::optional<double> reload_ok(const Scrape& s) { return s.value("cargomon_config_last_reload_successful"); }

TEST(DaemonE2eLifecycle, BadConfigRefusedAtStartAndByCheckConfig) {
    TempDir dir;
    const auto good = dir.write("good.yml", connection() + "collectors:\n" + kRunsCollector);
    const auto bad = dir.write("bad.yml", connection() + "collectors:\n  - {name: runs, kind: run_counts, intervall: 5s}\n"
                                                         "  - {name: other, kind: batches, window: 5x}\n");
    const std::regex position(R"(bad\.yml:(\d+):(\d+): )");

    auto start = run_cargomon({"--config.file", bad, "--web.listen-address", "127.0.0.1:0", "--storage.path",
                               dir.path() + "/storage"});
    EXPECT_NE(start.exit_code, 0) << start.output;
    EXPECT_TRUE(std::regex_search(start.output, position)) << start.output;
    EXPECT_NE(start.output.find("intervall"), std::string::npos) << start.output;
    EXPECT_NE(start.output.find("5x"), std::string::npos) << start.output;

    auto check_bad = run_cargomon({"check-config", bad});
    EXPECT_NE(check_bad.exit_code, 0);
    EXPECT_TRUE(std::regex_search(check_bad.output, position)) << check_bad.output;
    EXPECT_NE(check_bad.output.find("did you mean \"interval\""), std::string::npos) << check_bad.output;

    auto check_good = run_cargomon({"check-config", good});
    EXPECT_EQ(check_good.exit_code, 0) << check_good.output;

    auto broken_yaml = run_cargomon({"check-config", dir.write("broken.yml", "collectors: [\n  {name: x\n")});
    EXPECT_NE(broken_yaml.exit_code, 0);
    EXPECT_TRUE(std::regex_search(broken_yaml.output, std::regex(R"(broken\.yml:\d+:\d+: )"))) << broken_yaml.output;
}

TEST(DaemonE2eLifecycle, FailedReloadKeepsServingAndAGoodOneSwapsCollectors) {
    DaemonProcess daemon(connection() + "collectors:\n" + kRunsCollector, {.extra_args = {"--web.enable-lifecycle"}});
    daemon.scrape_until([](const Scrape& s) { return up(s, "runs") == 1; });

    const std::regex position(R"(cargomon\.yml:\d+:\d+: )");
    daemon.write_config(connection() + "collectors:\n  - {name: runs, kind: run_counts, windows: [1h\n");
    auto bad_yaml = daemon.post("/-/reload");
    EXPECT_EQ(bad_yaml.status, 500);
    EXPECT_TRUE(std::regex_search(bad_yaml.body, position)) << bad_yaml.body;
    EXPECT_EQ(reload_ok(daemon.scrape()), 0);

    daemon.write_config(connection() + "collectors:\n  - {name: runs, kind: run_counts, windowz: [1h]}\n");
    auto invalid = daemon.post("/-/reload");
    EXPECT_EQ(invalid.status, 500);
    EXPECT_TRUE(std::regex_search(invalid.body, position)) << invalid.body;
    EXPECT_NE(invalid.body.find("windowz"), std::string::npos) << invalid.body;

    // The old collectors keep collecting: a newer success than the one seen now.
    const auto before = daemon.scrape().value("cargomon_collector_last_success_timestamp_seconds", {{"collector", "runs"}});
    ASSERT_TRUE(before);
    auto still = daemon.scrape_until([&](const Scrape& s) {
        return s.value("cargomon_collector_last_success_timestamp_seconds", {{"collector", "runs"}}) > before;
    });
    EXPECT_FALSE(still.find("cargo_workflow_runs").empty());
    EXPECT_EQ(reload_ok(still), 0);
    EXPECT_TRUE(daemon.process().running());

    // Fixed, and changed: runs removed, a query collector added; SIGHUP reloads it.
    daemon.write_config(connection() + "collectors:\n" + kQueryCollector);
    daemon.process().signal(SIGHUP);
    auto swapped = daemon.scrape_until([](const Scrape& s) {
        return reload_ok(s) == 1 && s.value("cargo_e2e_all_runs").has_value();
    });
    EXPECT_TRUE(swapped.find("cargo_workflow_runs").empty()) << "series of a removed collector vanish";
    EXPECT_TRUE(swapped.find("cargomon_collector_up", {{"collector", "runs"}}).empty())
        << "a removed collector is not reported down forever";
    EXPECT_EQ(up(swapped, "added"), 1);
}

// What systemd gives a Type=notify service: a unix datagram socket named in NOTIFY_SOCKET.
class NotifySocket {
public:
    NotifySocket() {
        path_ = (std::filesystem::temp_directory_path() /
                 ("cargomon-notify-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}())))
                    .string();
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket(AF_UNIX) failed");
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("cannot bind " + path_ + ": " + std::strerror(errno));
    }
    ~NotifySocket() {
        ::close(fd_);
        std::filesystem::remove(path_);
    }
    const std::string& path() const { return path_; }
    // The next datagram, or "" when none comes within `timeout`.
    std::string next(std::chrono::milliseconds timeout) {
        pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
        char buf[4096];
        const auto n = ::recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
    }

private:
    std::string path_;
    int fd_ = -1;
};

bool says(const std::string& message, const std::string& state) {
    for (std::size_t at = 0; at <= message.size();) {
        auto end = message.find('\n', at);
        if (end == std::string::npos) end = message.size();
        if (message.compare(at, end - at, state) == 0) return true;
        at = end + 1;
    }
    return false;
}

// docs/operations.md: Type=notify. READY=1 once it serves, RELOADING=1 then READY=1
// around each reload (a failed one included), STOPPING=1 on the way out.
TEST(DaemonE2eLifecycle, TypeNotifyReportsReadyReloadingAndStopping) {
    NotifySocket systemd;
    DaemonProcess daemon(connection() + "collectors:\n" + kRunsCollector,
                         {.env = {{"NOTIFY_SOCKET", systemd.path()}}, .wait_ready = false});
    const auto ready = systemd.next(10s);
    EXPECT_TRUE(says(ready, "READY=1")) << "got \"" << ready << "\"\n" << daemon.log();
    EXPECT_EQ(daemon.get("/healthz").status, 200) << "READY=1 before it serves";

    daemon.process().signal(SIGHUP);
    const auto reloading = systemd.next(10s);
    EXPECT_TRUE(says(reloading, "RELOADING=1")) << "got \"" << reloading << "\"";
    const auto reloaded = systemd.next(10s);
    EXPECT_TRUE(says(reloaded, "READY=1")) << "got \"" << reloaded << "\"";

    daemon.write_config(connection() + "collectors:\n  - {name: runs, kind: run_counts, windowz: [1h]}\n");
    daemon.process().signal(SIGHUP);
    const auto failing = systemd.next(10s);
    EXPECT_TRUE(says(failing, "RELOADING=1")) << "got \"" << failing << "\"";
    const auto kept = systemd.next(10s);
    EXPECT_TRUE(says(kept, "READY=1")) << "a failed reload keeps it running: got \"" << kept << "\"";

    daemon.process().signal(SIGTERM);
    const auto stopping = systemd.next(10s);
    EXPECT_TRUE(says(stopping, "STOPPING=1")) << "got \"" << stopping << "\"";
    EXPECT_EQ(daemon.process().wait_for(10s), 0) << daemon.log();
    EXPECT_EQ(systemd.next(500ms), "") << "nothing after STOPPING=1";
}

std::string rule_file(const std::string& alertname, const std::string& expr) {
    return "groups:\n  - name: lifecycle\n    interval: 1s\n    rules:\n      - alert: " + alertname +
           "\n        expr: " + expr + "\n";
}

// Alert names in /api/v1/rules, in order.
std::vector<std::string> rule_names(const DaemonProcess& daemon) {
    const auto body = daemon.get("/api/v1/rules").body;
    std::vector<std::string> names;
    const std::regex name(R"re("name":"(Lifecycle[A-Za-z]+)")re");
    for (auto it = std::sregex_iterator(body.begin(), body.end(), name); it != std::sregex_iterator(); ++it)
        names.push_back((*it)[1]);
    return names;
}

// docs/alerting.md: a reload with a bad rule file keeps the old rules (and their alerts);
// a good one replaces them.
TEST(DaemonE2eLifecycle, AReloadWithABrokenRuleFileKeepsTheOldRules) {
    TempDir dir;
    const auto rules = dir.write("lifecycle.rules.yml", rule_file("LifecycleOld", "cargo_workflow_runs >= 0"));
    DaemonProcess daemon(connection() + "collectors:\n" + kRunsCollector + "rule_files: [" + rules + "]\n");
    auto firing = [&](const std::string& alertname) {
        return daemon.get("/api/v1/alerts").body.find("\"alertname\":\"" + alertname + "\"") != std::string::npos;
    };
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!firing("LifecycleOld")) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << daemon.log();
        std::this_thread::sleep_for(200ms);
    }
    ASSERT_EQ(rule_names(daemon), std::vector<std::string>{"LifecycleOld"});

    dir.write("lifecycle.rules.yml", rule_file("LifecycleNew", "cargo_workflow_runs >= "));
    daemon.process().signal(SIGHUP);
    daemon.scrape_until([](const Scrape& s) { return reload_ok(s) == 0; });
    EXPECT_NE(daemon.log().find("lifecycle.rules.yml"), std::string::npos) << "the error names the file";
    std::this_thread::sleep_for(3s);  // evaluations go on with the old rules
    EXPECT_EQ(rule_names(daemon), std::vector<std::string>{"LifecycleOld"});
    EXPECT_TRUE(firing("LifecycleOld"));
    EXPECT_TRUE(daemon.process().running());

    dir.write("lifecycle.rules.yml", rule_file("LifecycleNew", "cargo_workflow_runs >= 0"));
    daemon.process().signal(SIGHUP);
    daemon.scrape_until([](const Scrape& s) { return reload_ok(s) == 1; });
    EXPECT_EQ(rule_names(daemon), std::vector<std::string>{"LifecycleNew"});
}

// An `alerting:` change by reload takes effect: the route's new receiver is notified.
TEST(DaemonE2eLifecycle, AReloadedRouteAndReceiverTakeEffect) {
    TempDir dir;
    HttpReceiver hook;
    hook.start();
    const auto rules = dir.write("lifecycle.rules.yml", rule_file("LifecycleRouted", "cargo_workflow_runs >= 0"));
    auto config = [&](const std::string& receiver) {
        return connection() + "collectors:\n" + kRunsCollector + "rule_files: [" + rules + "]\n" +
               "alerting:\n  route: {receiver: " + receiver +
               ", group_by: [alertname], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}\n"
               "  receivers:\n"
               "    - {name: first, webhook_configs: [{url: '" + hook.url("/first") + "'}]}\n"
               "    - {name: second, webhook_configs: [{url: '" + hook.url("/second") + "'}]}\n";
    };
    auto paths = [&] {
        std::set<std::string> p;
        for (const auto& r : hook.accepted()) p.insert(r.path);
        return p;
    };
    DaemonProcess daemon(config("first"));
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (paths().empty()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << daemon.log();
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(paths(), std::set<std::string>{"/first"});

    daemon.write_config(config("second"));
    daemon.process().signal(SIGHUP);
    daemon.scrape_until([](const Scrape& s) {
        return s.value("cargomon_config_last_reload_success_timestamp_seconds").value_or(0) > 0 && reload_ok(s) == 1;
    });
    // The reload builds a new dispatcher with no groups: the firing alerts reach it with
    // the rule engine's next re-send, at most a minute later.
    deadline = std::chrono::steady_clock::now() + 75s;
    while (!paths().contains("/second")) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the new receiver was never notified\n" << daemon.log();
        std::this_thread::sleep_for(200ms);
    }
    EXPECT_EQ(paths(), (std::set<std::string>{"/first", "/second"}));
}

struct Counted {
    SystemTime watermark;
    double total = 0;
};

Counted counted(const std::string& storage) {
    collectors::WatermarkStore store(storage + "/cargomon.db");
    auto state = store.load("counter");
    if (!state) throw std::runtime_error("no watermark stored yet");
    double total = 0;
    for (const auto& [key, value] : state->totals) total += value;
    return {state->watermark, total};
}

long long unix_seconds(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

TEST(DaemonE2eLifecycle, WatermarkedCounterSurvivesRestartWithoutDoubleCounting) {
    const std::string config = connection() + R"(collectors:
  - name: counter
    kind: query
    sql: SELECT count() AS n FROM runs WHERE created_at >= $__from AND created_at < $__to
    metrics: [{name: cargo_e2e_runs_total, type: counter, value: n}]
)";
    // A counter counts up to a minute ago (the collector's safety lag); before the live sim
    // has run that long, its ranges could hold no run at all and prove nothing.
    std::this_thread::sleep_until(env->live_since + 62s);
    TempDir storage;
    double last_seen = 0;
    // Scrapes a few runs of the counter, checking it never goes down.
    auto watch = [&](DaemonProcess& daemon, int runs) {
        auto first = daemon.scrape_until([](const Scrape& s) { return s.value("cargo_e2e_runs_total").has_value(); });
        double stamp = first.value("cargomon_collector_last_success_timestamp_seconds", {{"collector", "counter"}}).value();
        for (int i = 0; i < runs; ++i) {
            auto s = daemon.scrape_until([&](const Scrape& s) {
                return s.value("cargomon_collector_last_success_timestamp_seconds", {{"collector", "counter"}}) > stamp;
            });
            stamp = *s.value("cargomon_collector_last_success_timestamp_seconds", {{"collector", "counter"}});
            const double v = s.value("cargo_e2e_runs_total").value();
            EXPECT_GE(v, last_seen) << "the counter went down";
            last_seen = v;
        }
    };

    Counted start;
    {
        DaemonProcess first(config, {.storage_path = storage.path()});
        watch(first, 1);
        start = counted(storage.path());
        watch(first, 2);
    }
    {
        DaemonProcess second(config, {.storage_path = storage.path()});
        watch(second, 3);
    }
    const Counted end = counted(storage.path());
    EXPECT_GT(end.watermark, start.watermark);
    EXPECT_GE(end.total, last_seen);
    auto rows = env->client->sql("SELECT count() AS n FROM runs WHERE created_at >= toDateTime(" +
                                 std::to_string(unix_seconds(start.watermark)) + ") AND created_at < toDateTime(" +
                                 std::to_string(unix_seconds(end.watermark)) + ")");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(end.total - start.total, std::stod(rows[0].at("n")))
        << "counted from " << unix_seconds(start.watermark) << " to " << unix_seconds(end.watermark);
    EXPECT_GT(end.total - start.total, 0) << "the live sim should have added runs to count";
}

// The sample history after kill -9: a restart reads back the last checkpoint, so what
// the history held before the last checkpoint written before the kill is there again
// (at most one checkpoint interval is lost), its oldest sample included, and a rule with
// rate() has data at its first evaluation after the restart. The restarted daemon's
// collector runs once an hour, so the one collection it makes before that evaluation
// gives rate() one sample of the two it needs: the other is the restored history's.
TEST(DaemonE2eLifecycle, HistorySurvivesKillNine) {
    TempDir storage;
    const std::string rules = storage.write("rate.rules.yml", R"(groups:
  - name: after-restart
    interval: 1h
    rules:
      - alert: RateHasData
        expr: count(rate(cargo_workflow_runs[5m])) > 0
)");
    const auto config = connection() + "collectors:\n" + kRunsCollector + "rule_files: [" + rules + "]\n";
    const DaemonOptions options{.storage_path = storage.path(),
                                .extra_args = {"--storage.history.checkpoint-interval=1s",
                                               "--storage.history.retention=1h"}};
    auto value = [](const Scrape& s, const char* name) { return s.value(name).value_or(-1); };
    double oldest = 0, samples = 0, series = 0;
    {
        DaemonProcess first(config, options);
        // The history's gauges are set every 15 s: the second setting counts the collector's
        // series (the first, at start, may come before its first run).
        const auto at_start = first.scrape_until([&](const Scrape& s) { return value(s, "cargomon_history_samples") > 0; });
        const auto grown = first.scrape_until(
            [&](const Scrape& s) {
                return value(s, "cargomon_history_samples") > value(at_start, "cargomon_history_samples") &&
                       up(s, "runs") == 1;
            },
            60s);
        oldest = value(grown, "cargomon_history_oldest_sample_timestamp_seconds");
        samples = value(grown, "cargomon_history_samples");
        series = value(grown, "cargomon_history_series");
        ASSERT_GT(oldest, 0);
        // Two checkpoints written after that scrape: everything it counted is on disk.
        const double seen_at =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        double last = 0;
        int checkpoints = 0;
        first.scrape_until([&](const Scrape& s) {
            const double at = value(s, "cargomon_history_checkpoint_last_success_timestamp_seconds");
            if (at > seen_at && at > last) {
                last = at;
                ++checkpoints;
            }
            return checkpoints >= 2;
        });
        first.process().kill_hard();
    }
    ASSERT_TRUE(std::filesystem::exists(storage.path() + "/history.ckpt"));
    DaemonProcess second(connection() + "collectors:\n  - {name: runs, kind: run_counts, windows: [1h], interval: 1h}\n" +
                             "rule_files: [" + rules + "]\n",
                         options);
    const auto restarted = second.scrape();
    EXPECT_EQ(value(restarted, "cargomon_history_oldest_sample_timestamp_seconds"), oldest);
    EXPECT_GE(value(restarted, "cargomon_history_samples"), samples);
    EXPECT_GE(value(restarted, "cargomon_history_series"), series);
    EXPECT_EQ(value(restarted, "cargomon_history_checkpoint_corruptions_total"), 0);
    EXPECT_NE(second.log().find("history: loaded"), std::string::npos) << second.log();
    // The group's first (and, for an hour, only) evaluation.
    std::string rules_answer;
    for (auto deadline = std::chrono::steady_clock::now() + 60s;; std::this_thread::sleep_for(200ms)) {
        rules_answer = second.get("/api/v1/rules").body;
        if (rules_answer.find("\"lastEvaluation\":\"0001") == std::string::npos &&
            rules_answer.find("\"health\":\"ok\"") != std::string::npos)
            break;
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << rules_answer << "\n" << second.log();
    }
    EXPECT_NE(rules_answer.find("\"state\":\"firing\""), std::string::npos)
        << "rate() had no data at the first evaluation after the restart: " << rules_answer;
}

}  // namespace
}  // namespace cargomon::testing

int main(int argc, char** argv) {
    return cargomon::testing::run_with_environment(argc, argv, cargomon::testing::env, new cargomon::testing::Env);
}
