// The daemon where others can reach it: a real TLS certificate and a bcrypt user from
// --web.config.file (curl as the client, as an operator would check it), write endpoints
// behind their flags, the web config re-read on SIGHUP (a bad one keeps the old), hostile
// bodies and rules that used to crash it, and SIGTERM racing reloads. No Cargo API is
// needed: the daemon serves HTTP while its collectors fail.
#include <arpa/inet.h>
#include <crypt.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "common/net.h"
#include "tests/daemon/daemon_process.h"
#include "tests/web/certs.h"
#include "exporters/gzip.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;

const std::string& kConfig = kUnreachableApiConfig;

std::string bcrypt(const std::string& password) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt), nullptr);
    crypt_data data{};
    return crypt_r(password.c_str(), salt, &data);
}

struct CurlResult {
    int code = 0;  // HTTP status, 0 when no answer
    std::string body;
};

// curl as the client: its own TLS stack checks our certificate and hostname.
CurlResult curl(const std::string& args) {
    std::string command = "curl -sS --max-time 5 -o - -w '\\n%{http_code}' " + args + " 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    char buf[4096];
    while (auto n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    pclose(pipe);
    auto nl = out.rfind('\n');
    CurlResult r;
    if (nl == std::string::npos) return r;
    r.body = out.substr(0, nl);
    r.code = std::atoi(out.c_str() + nl + 1);
    return r;
}

std::string gzip(const std::string& data) { return exporters::gzip_compress({data}); }

// The daemon with a web config; waits until it answers over TLS.
class SecureDaemon {
public:
    SecureDaemon(const std::string& web_config, std::vector<std::string> extra = {}) {
        config_ = dir_.write("cargomon.yml", kConfig);
        web_config_ = dir_.write("web.yml", web_config);
        port_ = free_loopback_port();
        std::vector<std::string> argv = {daemon_binary(), "--config.file", config_, "--web.config.file", web_config_,
                                         "--web.listen-address", "127.0.0.1:" + std::to_string(port_),
                                         "--storage.path", dir_.path() + "/storage"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        process_ = std::make_unique<Process>(ProcessOptions{.argv = argv, .output_file = dir_.path() + "/log"});
        for (auto deadline = std::chrono::steady_clock::now() + 30s; get("/healthz").code == 0;) {
            if (!process_->running() || std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("cargomon did not serve TLS:\n" + log());
            std::this_thread::sleep_for(100ms);
        }
    }
    ~SecureDaemon() { process_->stop(10s); }

    // An https request as a client that trusts the test CA and resolves cargomon.test here.
    CurlResult get(const std::string& path, const std::string& auth = "") const {
        return curl(tls_args() + (auth.empty() ? "" : " -u '" + auth + "'") + " https://cargomon.test:" +
                    std::to_string(port_) + path);
    }
    std::string tls_args() const {
        return "--cacert " + test::test_certs().ca_crt + " --resolve cargomon.test:" + std::to_string(port_) +
               ":127.0.0.1";
    }
    int port() const { return port_; }
    Process& process() { return *process_; }
    void rewrite_web_config(const std::string& text) const { std::ofstream(web_config_) << text; }
    std::string log() const {
        std::ifstream in(dir_.path() + "/log");
        return {std::istreambuf_iterator<char>(in), {}};
    }

private:
    TempDir dir_;
    std::string config_, web_config_;
    int port_ = 0;
    std::unique_ptr<Process> process_;
};

std::string tls_web_config(const std::string& users) {
    const auto& certs = test::test_certs();
    return "tls_server_config:\n  cert_file: " + certs.server_crt + "\n  key_file: " + certs.server_key +
           "\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\nbasic_auth_users:\n" + users;
}

TEST(DaemonSecurity, TlsAndABcryptUserGuardEveryEndpoint) {
    SecureDaemon daemon(tls_web_config("  alice: " + bcrypt("wonderland") + "\n"));
    // (No credentials is no failed login: only the wrong ones count towards the limit.)
    for (const char* path : {"/", "/static/status.js"}) EXPECT_EQ(daemon.get(path).code, 401) << path;
    for (const char* path : {"/metrics", "/healthz", "/api/v1/status", "/api/v1/alerts"}) {
        EXPECT_EQ(daemon.get(path).code, 401) << path;
        EXPECT_EQ(daemon.get(path, "alice:wrong").code, 401) << path;
        EXPECT_EQ(daemon.get(path, "bob:wonderland").code, 401) << path;
    }
    // The status page and its files, served whole behind the same TLS and password.
    auto page = daemon.get("/", "alice:wonderland");
    EXPECT_EQ(page.code, 200);
    EXPECT_NE(page.body.find("<script src=\"/static/status.js\" defer></script>"), std::string::npos) << page.body;
    auto script = daemon.get("/static/status.js", "alice:wonderland");
    EXPECT_EQ(script.code, 200);
    EXPECT_NE(script.body.find("/api/v1/query_range"), std::string::npos);
    auto metrics = daemon.get("/metrics", "alice:wonderland");
    EXPECT_EQ(metrics.code, 200);
    EXPECT_NE(metrics.body.find("cargomon_build_info"), std::string::npos);
    // The password is never shown back: not in the log, not in /metrics.
    EXPECT_EQ(metrics.body.find("wonderland"), std::string::npos);
    EXPECT_EQ(daemon.log().find("wonderland"), std::string::npos);
    // Plain HTTP to the TLS port gets no answer; TLS 1.1 is under the default minimum.
    EXPECT_EQ(curl("http://127.0.0.1:" + std::to_string(daemon.port()) + "/healthz").code, 0);
    EXPECT_EQ(curl(daemon.tls_args() + " --tls-max 1.1 -u alice:wonderland https://cargomon.test:" +
                   std::to_string(daemon.port()) + "/healthz")
                  .code,
              0);
    // The web config's headers go on every answer.
    auto headers = curl(daemon.tls_args() + " -D - -u alice:wonderland https://cargomon.test:" +
                        std::to_string(daemon.port()) + "/healthz");
    EXPECT_NE(headers.body.find("X-Content-Type-Options: nosniff"), std::string::npos) << headers.body;
}

TEST(DaemonSecurity, SighupRereadsTheWebConfigAndABadOneKeepsTheOld) {
    SecureDaemon daemon(tls_web_config("  alice: " + bcrypt("one") + "\n"));
    EXPECT_EQ(daemon.get("/healthz", "alice:one").code, 200);
    daemon.rewrite_web_config("tls_server_config: {cert_file: /nonexistent.crt, key_file: /nonexistent.key}\n");
    daemon.process().signal(SIGHUP);
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(daemon.get("/healthz", "alice:one").code, 200) << "a bad web config replaced the good one";
    EXPECT_NE(daemon.log().find("nonexistent.crt"), std::string::npos) << daemon.log();
    daemon.rewrite_web_config(tls_web_config("  alice: " + bcrypt("two") + "\n"));
    daemon.process().signal(SIGHUP);
    bool switched = false;
    for (auto deadline = std::chrono::steady_clock::now() + 10s; !switched && std::chrono::steady_clock::now() < deadline;) {
        std::this_thread::sleep_for(200ms);
        switched = daemon.get("/healthz", "alice:two").code == 200;
    }
    EXPECT_TRUE(switched) << daemon.log();
    EXPECT_EQ(daemon.get("/healthz", "alice:one").code, 401);
}

TEST(DaemonSecurity, CheckWebConfigNamesTheFileLineAndColumn) {
    TempDir dir;
    auto good = dir.write("good.yml", tls_web_config("  alice: " + bcrypt("x") + "\n"));
    auto bad = dir.write("bad.yml", "basic_auth_users:\n  alice: not-a-hash\ntls_server_config:\n  cert_fil: x\n");
    EXPECT_EQ(run_cargomon({"check-web-config", good}).exit_code, 0);
    auto checked = run_cargomon({"check-web-config", bad});
    EXPECT_EQ(checked.exit_code, 1);
    EXPECT_NE(checked.output.find("bad.yml:2:"), std::string::npos) << checked.output;
    EXPECT_NE(checked.output.find("bad.yml:4:"), std::string::npos) << checked.output;
    // The daemon refuses to start on it.
    auto started = run_cargomon({"--config.file", dir.write("c.yml", kConfig), "--web.config.file", bad,
                                 "--web.listen-address", "127.0.0.1:0", "--storage.path", dir.path() + "/s"});
    EXPECT_NE(started.exit_code, 0);
    EXPECT_NE(started.output.find("bad.yml:2:"), std::string::npos) << started.output;
}

// Each of these once crashed the daemon or let anyone mute its alerts.
TEST(DaemonSecurity, HostileRequestsAreRefusedAndTheDaemonLivesOn) {
    ::signal(SIGPIPE, SIG_IGN);  // the daemon may close on a body it refuses while we still send it
    DaemonProcess closed(kConfig, {.wait_ready = false});
    httplib::Client c(closed.url());
    c.set_read_timeout(5, 0);
    // Anyone could create a silence matching every alert until 9999, and reload.
    auto anonymous = c.Post("/api/v1/silences",
                            R"({"matchers":[{"name":"alertname","value":".+","isRegex":true}],"endsAt":"9999-01-01T00:00:00Z","comment":"x"})",
                            "application/json");
    ASSERT_TRUE(anonymous);
    EXPECT_EQ(anonymous->status, 403);
    EXPECT_EQ(c.Post("/-/reload")->status, 403);
    EXPECT_EQ(c.Get("/api/v1/silences")->body, "[]");

    DaemonProcess open(kConfig, {.extra_args = {"--web.enable-admin-api", "--web.enable-lifecycle"}, .wait_ready = false});
    httplib::Client admin(open.url());
    admin.set_read_timeout(5, 0);
    // 3 KB of gzip that inflates to nested '[' killed it (RapidJSON recursion); so did 1 MB of '{'.
    auto nested = gzip(std::string(600'000, '['));
    ASSERT_LT(nested.size(), 4096u);
    auto bomb = admin.Post("/api/v1/silences", {{"Content-Encoding", "gzip"}}, nested, "application/json");
    ASSERT_TRUE(bomb);
    EXPECT_EQ(bomb->status, 400) << bomb->body;
    auto braces = admin.Post("/api/v1/silences", std::string(1'000'000, '{'), "application/json");
    ASSERT_TRUE(braces);
    EXPECT_EQ(braces->status, 400) << braces->body;
    // A 64 MiB body was read whole. curl asks first (Expect: 100-continue) and is refused
    // before it sends a byte of it.
    TempDir dir;
    auto big = dir.write("big.json", std::string(64 << 20, ' '));
    auto huge = curl("-H 'Content-Type: application/json' --data-binary @" + big + " " + open.url() + "/api/v1/silences");
    EXPECT_EQ(huge.code, 413) << huge.body;
    // The documented curl -X POST (no body, no Content-Length) got a 404 after 2 s.
    auto reload = curl("-X POST " + open.url() + "/-/reload");
    EXPECT_EQ(reload.code, 200) << reload.body;
    EXPECT_EQ(open.get("/healthz").status, 200);
    EXPECT_TRUE(open.process().running());
}

// A rule nested a few thousand deep crashed check-rules, and the daemon on reload.
TEST(DaemonSecurity, ADeeplyNestedRuleIsRefusedAndTheRunningRulesStay) {
    TempDir dir;
    const auto rules = dir.write("r.yml", "groups:\n  - name: g\n    rules:\n      - alert: Fine\n        expr: cargomon_build_info > 0\n");
    DaemonProcess daemon(kConfig + "rule_files: [" + rules + "]\n", {.wait_ready = false});
    auto listed = [&] { return daemon.get("/api/v1/rules").body; };
    ASSERT_NE(listed().find("\"Fine\""), std::string::npos) << listed();
    const std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
    dir.write("r.yml", "groups:\n  - name: g\n    rules:\n      - alert: Deep\n        expr: " + deep + "\n");
    auto checked = run_cargomon({"check-rules", rules});
    EXPECT_EQ(checked.exit_code, 1) << checked.output;
    EXPECT_NE(checked.output.find("r.yml:5:"), std::string::npos) << checked.output;
    daemon.process().signal(SIGHUP);
    daemon.scrape_until([](const Scrape& s) {
        return s.value("cargomon_config_last_reload_successful") == 0.0;
    });
    EXPECT_TRUE(daemon.process().running());
    EXPECT_NE(listed().find("\"Fine\""), std::string::npos) << "the old rules were dropped";
    EXPECT_EQ(listed().find("\"Deep\""), std::string::npos);
}

// A receiver that accepts connections and never answers holds a delivery in its request;
// SIGTERM must still end the daemon cleanly (exit 0), with nothing left half-written.
TEST(DaemonSecurity, SigtermWhileADeliveryHangsExitsCleanly) {
    // A listener that never accepts: connections complete in its backlog and then wait.
    int hang = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(hang, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(hang, 16), 0);
    socklen_t len = sizeof addr;
    ::getsockname(hang, reinterpret_cast<sockaddr*>(&addr), &len);
    const int port = ntohs(addr.sin_port);
    TempDir dir;
    const auto rules = dir.write("r.yml", "groups:\n  - name: g\n    interval: 1s\n    rules:\n"
                                          "      - alert: Always\n        expr: cargomon_build_info > 0\n");
    DaemonProcess daemon(kConfig + "rule_files: [" + rules + "]\nalerting:\n  route: {receiver: hook, group_wait: 0s}\n"
                                   "  receivers:\n    - name: hook\n      webhook_configs: [{url: 'http://127.0.0.1:" +
                             std::to_string(port) + "/hook'}]\n",
                         {.wait_ready = false});
    // The delivery is in flight once the daemon's connection sits in the backlog.
    bool connected = false;
    for (auto deadline = std::chrono::steady_clock::now() + 30s; !connected && std::chrono::steady_clock::now() < deadline;) {
        std::this_thread::sleep_for(200ms);
        connected = daemon.log().find("Always") != std::string::npos &&
                    daemon.scrape().value("cargomon_notification_outbox_length").value_or(0) > 0;
    }
    EXPECT_TRUE(connected) << daemon.log();
    EXPECT_EQ(daemon.process().stop(20s), 0) << daemon.log();
    ::close(hang);
}

// SIGTERM while a reload was in flight moved the world out from under it (SIGSEGV).
TEST(DaemonSecurity, SigtermRacingReloadsExitsCleanly) {
    for (int round = 0; round < 5; ++round) {
        DaemonProcess daemon(kConfig, {.extra_args = {"--web.enable-lifecycle"}, .wait_ready = false});
        std::atomic<bool> done{false};
        std::thread reloader([&] {
            httplib::Client c(daemon.url());
            c.set_read_timeout(5, 0);
            while (!done) c.Post("/-/reload");
        });
        for (int i = 0; i < 5; ++i) {
            daemon.process().signal(SIGHUP);
            std::this_thread::sleep_for(std::chrono::milliseconds(10 * round));
        }
        auto code = daemon.process().stop(10s);
        done = true;
        reloader.join();
        EXPECT_EQ(code, 0) << "round " << round << ":\n" << daemon.log();
    }
}

}  // namespace
}  // namespace cargomon::testing
