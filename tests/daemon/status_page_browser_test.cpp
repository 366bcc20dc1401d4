// The status page (web/status_page.h) in a real browser: the Debian chromium, driven
// headless by chromedriver through the W3C WebDriver HTTP API, loads / from the real
// daemon watching the real sim playing the demo scenario (scenarios/demo.yml). It sees
// the firing alerts, creates a silence and expires it through the page, finds the charts
// drawn, no console error and no request outside the daemon, and a label value holding
// <script> shown as text. Screenshots at 1280 and 360 px wide are left in
// <build>/artifacts/ (status-page-1280.png and status-page-360.png, the whole page;
// status-page-1280-top.png, the first 900 px, as docs/status-page.png shows it).
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/net.h"
#include "common/process.h"
#include "tests/daemon/daemon_process.h"
#include "tests/daemon/sim_environment.h"
#include "tests/support/environment_main.h"
#include "tests/support/eventually.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tools.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;

class Env : public SimEnvironment {
public:
    // scripts/demo's sim: its workflows, seed and scenario.
    Env()
        : SimEnvironment({.workflows = 12,
                          .history = "2d",
                          .seed = 42,
                          .live = true,
                          .rate = 10,
                          .extra_args = {"--scenario", CARGOMON_SOURCE_DIR "/scenarios/demo.yml"}}) {}
};

Env* env = nullptr;

// A rule that fires at once with a label and an annotation a careless page would run.
const char* kInjectionRules = R"(groups:
  - name: page-injection
    interval: 2s
    rules:
      - alert: LabelInjection
        expr: vector(1)
        labels:
          probe: "<script>window.injected = 1</script><img src=x onerror=\"window.injected = 2\">"
        annotations:
          summary: "<b>not bold</b><script>window.injected = 3</script>"
)";

std::string to_json(const rapidjson::Value& value) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    return buffer.GetString();
}

// A string as a JSON string literal.
std::string json_string(const std::string& text) {
    rapidjson::Value v(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
    return to_json(v);
}

std::string base64_decode(const std::string& text) {
    std::string out(text.size() / 4 * 3 + 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) throw std::runtime_error("screenshot: not base64");
    std::size_t padding = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

// chromedriver on a free loopback port, and one session of headless chromium through it.
class Browser {
public:
    explicit Browser(const std::string& profile_dir) : port_(free_loopback_port()) {
        driver_ = std::make_unique<Process>(ProcessOptions{
            .argv = {"chromedriver", "--port=" + std::to_string(port_), "--allowed-ips=127.0.0.1"},
            .output_file = profile_dir + "/chromedriver.log"});
        http_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
        http_->set_read_timeout(60, 0);
        if (!eventually([&] { auto r = http_->Get("/status"); return r && r->status == 200; }, 30s, "chromedriver"))
            throw std::runtime_error("chromedriver did not start");
        const std::string caps = R"({"capabilities":{"alwaysMatch":{"browserName":"chrome",
            "goog:loggingPrefs":{"browser":"ALL"},
            "goog:chromeOptions":{"binary":)" + json_string(find_executable("chromium")) +
                                 R"(,"args":["--headless=new","--no-sandbox","--disable-gpu","--disable-dev-shm-usage",
              "--no-first-run","--disable-background-networking","--disable-component-update",
              "--disable-sync","--disable-extensions","--window-size=1280,900","--user-data-dir=)" +
                                 profile_dir + R"(/profile"]}}}})";
        const auto answer = call("POST", "/session", caps);
        session_ = answer["sessionId"].GetString();
    }
    ~Browser() {
        if (!session_.empty()) http_->Delete(("/session/" + session_).c_str());
        driver_->stop(5s);
    }

    // One WebDriver command; returns its "value" (throws on an error answer).
    rapidjson::Document call(const std::string& method, const std::string& path, const std::string& body = "{}") {
        auto res = method == "GET" ? http_->Get(path.c_str()) : http_->Post(path.c_str(), body, "application/json");
        if (!res) throw std::runtime_error("webdriver: no answer to " + method + " " + path);
        rapidjson::Document doc;
        doc.Parse(res->body.c_str());
        if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("value"))
            throw std::runtime_error("webdriver: " + path + " answered " + res->body);
        if (res->status != 200) throw std::runtime_error("webdriver: " + path + " answered " + res->body.substr(0, 2000));
        rapidjson::Document value;
        value.CopyFrom(doc["value"], value.GetAllocator());
        return value;
    }
    rapidjson::Document session_call(const std::string& method, const std::string& path, const std::string& body = "{}") {
        return call(method, "/session/" + session_ + path, body);
    }

    void open(const std::string& url) { session_call("POST", "/url", R"({"url":)" + json_string(url) + "}"); }
    // Runs `script` (a function body) in the page and returns what it returns.
    rapidjson::Document run(const std::string& script) {
        return session_call("POST", "/execute/sync", R"({"script":)" + json_string(script) + R"(,"args":[]})");
    }
    bool run_bool(const std::string& script) {
        auto v = run(script);
        return v.IsBool() && v.GetBool();
    }
    std::string run_string(const std::string& script) {
        auto v = run(script);
        return v.IsString() ? v.GetString() : to_json(v);
    }
    // The element a CSS selector finds (WebDriver's element reference).
    std::string find(const std::string& css) {
        auto v = session_call("POST", "/element", R"({"using":"css selector","value":)" + json_string(css) + "}");
        return v["element-6066-11e4-a52e-4f735466cecf"].GetString();
    }
    void click(const std::string& css) { session_call("POST", "/element/" + find(css) + "/click"); }
    void type(const std::string& css, const std::string& text) {
        session_call("POST", "/element/" + find(css) + "/value", R"({"text":)" + json_string(text) + "}");
    }
    // The viewport `width` wide and `height` high, as a device of that size (a window
    // cannot be made narrower than the platform's minimum, an emulated screen can).
    void viewport(int width, int height) {
        session_call("POST", "/goog/cdp/execute",
                     R"({"cmd":"Emulation.setDeviceMetricsOverride","params":{"width":)" + std::to_string(width) +
                         R"(,"height":)" + std::to_string(height) + R"(,"deviceScaleFactor":1,"mobile":false}})");
    }
    void screenshot(const std::string& path) {
        auto v = session_call("GET", "/screenshot");
        std::ofstream(path, std::ios::binary) << base64_decode(v.GetString());
    }
    // The browser's console since the last call: chromedriver's log endpoint.
    std::vector<std::pair<std::string, std::string>> console() {
        auto v = session_call("POST", "/se/log", R"({"type":"browser"})");
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& entry : v.GetArray()) out.emplace_back(entry["level"].GetString(), entry["message"].GetString());
        return out;
    }

private:
    int port_;
    std::unique_ptr<Process> driver_;
    std::unique_ptr<httplib::Client> http_;
    std::string session_;
};

bool has_tools() { return !find_executable("chromium").empty() && !find_executable("chromedriver").empty(); }

// Counts of non-empty line paths in each chart, e.g. {"errors":3,"credits":1,"runs":4}.
const char* kChartPaths = R"(
  const out = {};
  for (const f of document.querySelectorAll('figure[data-chart]'))
    out[f.dataset.chart] = Array.from(f.querySelectorAll('svg path.line')).filter((p) => (p.getAttribute('d') || '').length > 2).length;
  return JSON.stringify(out);)";

TEST(StatusPageBrowser, AlertsSilencesAndChartsInChromium) {
    CARGOMON_REQUIRE_TOOL(has_tools(), "chromium and chromedriver not installed");
    TempDir dir;
    const std::string rules = dir.write("inject.rules.yml", kInjectionRules);
    const std::string config = "api_url: " + env->sim->url() + "\ntoken: " + env->sim->token() + R"(
client: {rate_limit: 200}
defaults: {interval: 3s, timeout: 3s, jitter: 0}
collectors:
  - {name: discovery, kind: discovery}
  - {name: runs, kind: run_counts, windows: [1h, 24h]}
  - {name: batches, kind: batches, window: 24h}
  - {name: subscription, kind: subscription, burn_window: 24h}
rule_files: [)" + std::string(CARGOMON_SOURCE_DIR) + "/config/rules/cargo.rules.yml, " + rules + R"(]
alerting:
  route: {receiver: default, group_by: [alertname, workflow_uuid], group_wait: 1s, group_interval: 2s}
  receivers: [{name: default}]
)";
    DaemonProcess daemon(config, {.extra_args = {"--web.enable-admin-api"}});

    // The demo's alerts (one of the shipped rules') and the injected one, firing.
    ASSERT_TRUE(eventually(
        [&] {
            const std::string body = daemon.get("/api/v1/alerts").body;
            return body.find("\"alertname\":\"LabelInjection\"") != std::string::npos &&
                   body.find("\"alertname\":\"Cargo") != std::string::npos && body.find("\"state\":\"firing\"") != std::string::npos;
        },
        300s, "the demo's alerts firing"))
        << daemon.get("/api/v1/alerts").body << daemon.log();

    Browser browser(dir.path());
    browser.viewport(1280, 900);
    browser.open(daemon.url() + "/");

    // Server-rendered: the firing alerts, a shipped rule's among them, in their groups.
    EXPECT_TRUE(browser.run_bool("return document.querySelectorAll('li.alert.firing').length >= 2;"));
    EXPECT_TRUE(browser.run_bool(
        "return Array.from(document.querySelectorAll('li.alert.firing strong')).some((s) => s.textContent.startsWith('Cargo'));"));

    // The injected label and annotation are text: shown as written, never run.
    EXPECT_TRUE(browser.run_bool("return document.body.textContent.includes('<script>window.injected = 1</script>');"));
    EXPECT_TRUE(browser.run_bool("return document.body.textContent.includes('<b>not bold</b>');"));
    EXPECT_TRUE(browser.run_bool("return window.injected === undefined && document.querySelectorAll('script').length === 1;"));

    // The charts, drawn from the query API once enough history is there for each.
    std::string paths;
    EXPECT_TRUE(eventually(
        [&] {
            browser.open(daemon.url() + "/");
            if (!eventually([&] { return browser.run_bool("return !document.querySelector('figure[aria-busy]') && "
                                                          "document.querySelectorAll('figure svg, figure p.chart-note').length >= 3;"); },
                            20s, "charts settled"))
                return false;
            paths = browser.run_string(kChartPaths);
            rapidjson::Document counts;
            counts.Parse(paths.c_str());
            return counts["errors"].GetInt() > 0 && counts["credits"].GetInt() > 0 && counts["runs"].GetInt() > 0;
        },
        180s, "every chart drawn"))
        << paths << " " << browser.run_string("return document.getElementById('charts').textContent;");

    // No request outside the daemon: every resource the page loaded (the charts' fetches
    // included) is of its origin.
    const std::string outside = browser.run_string(
        "return JSON.stringify(performance.getEntries().map((e) => e.name)"
        ".filter((n) => n.startsWith('http') && !n.startsWith(location.origin + '/')));");
    EXPECT_EQ(outside, "[]");
    EXPECT_TRUE(browser.run_bool("return performance.getEntriesByType('resource').length >= 4;"));  // css, js, icon, queries

    std::filesystem::create_directories(CARGOMON_ARTIFACT_DIR);
    browser.screenshot(CARGOMON_ARTIFACT_DIR "/status-page-1280-top.png");  // what a 1280x900 window shows first
    const int height = static_cast<int>(browser.run(
        "return Math.min(4000, document.documentElement.scrollHeight);").GetInt());
    browser.viewport(1280, height);
    browser.screenshot(CARGOMON_ARTIFACT_DIR "/status-page-1280.png");

    // A silence made on the page, from the injected alert's "Silence…" button.
    browser.viewport(1280, 900);
    browser.run("document.querySelector('li.alert.firing').scrollIntoView(); return null;");
    browser.run(R"(for (const li of document.querySelectorAll('li.alert'))
                     if (li.querySelector('strong').textContent === 'LabelInjection') li.querySelector('button.silence-alert').click();
                   return null;)");
    EXPECT_EQ(browser.run_string("return document.querySelector('#silence-form input[name=matchers]').value;"),
              "alertname=\"LabelInjection\"");
    browser.type("#silence-form input[name=createdBy]", "browser-test");
    browser.type("#silence-form input[name=comment]", "made on the status page");
    browser.click("#silence-form button[type=submit]");
    ASSERT_TRUE(eventually([&] { return daemon.get("/api/v1/silences").body.find("made on the status page") != std::string::npos; },
                           30s, "the silence created"))
        << browser.run_string("return document.querySelector('#silence-form .result').textContent;");
    EXPECT_NE(daemon.get("/api/v1/silences").body.find("\"state\":\"active\""), std::string::npos);
    // The page reloads and shows it, and the alert silenced by it.
    ASSERT_TRUE(eventually([&] { return browser.run_bool("return document.querySelectorAll('button.expire').length === 1;"); },
                           30s, "the page showing the silence"));
    EXPECT_TRUE(browser.run_bool("return document.querySelector('#silences').textContent.includes('made on the status page');"));
    EXPECT_TRUE(browser.run_bool("return Array.from(document.querySelectorAll('li.alert')).some((li) => "
                                 "li.querySelector('strong').textContent === 'LabelInjection' && li.querySelector('.silenced'));"));

    // Expired from the page.
    browser.click("button.expire");
    ASSERT_TRUE(eventually([&] { return daemon.get("/api/v1/silences").body.find("\"state\":\"expired\"") != std::string::npos; },
                           30s, "the silence expired"))
        << daemon.get("/api/v1/silences").body;
    ASSERT_TRUE(eventually([&] { return browser.run_bool("return document.querySelectorAll('button.expire').length === 0 && "
                                                         "document.querySelector('#silences .badge.expired') !== null;"); },
                           30s, "the page showing it expired"));

    // 360 px wide: nothing wider than the screen (tables scroll inside their own box).
    browser.viewport(360, 800);
    browser.open(daemon.url() + "/");
    EXPECT_TRUE(eventually([&] { return browser.run_bool("return !document.querySelector('figure[aria-busy]');"); }, 20s, "charts"));
    EXPECT_LE(browser.run("return document.documentElement.scrollWidth;").GetInt(), 360)
        << "wider than the screen: "
        << browser.run_string("return JSON.stringify(Array.from(document.querySelectorAll('body *'))"
                              ".filter((e) => e.getBoundingClientRect().right > 361 && !(e.parentElement && e.parentElement.closest('.table-wrap')))"
                              ".slice(0, 8).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)));");
    const int narrow_height = static_cast<int>(browser.run(
        "return Math.min(6000, document.documentElement.scrollHeight);").GetInt());
    browser.viewport(360, narrow_height);
    browser.screenshot(CARGOMON_ARTIFACT_DIR "/status-page-360.png");

    // Nothing on the console through all of it: no script error, no refused request, no
    // policy violation.
    for (const auto& [level, message] : browser.console()) EXPECT_NE(level, "SEVERE") << message;
}

}  // namespace
}  // namespace cargomon::testing

int main(int argc, char** argv) {
    return cargomon::testing::run_with_environment(argc, argv, cargomon::testing::env, new cargomon::testing::Env);
}
