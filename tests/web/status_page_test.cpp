// The status page (web/status_page.h): what it shows of each source, every value escaped,
// no secret in it, its empty states, and how / and its files are served (the policy, the
// types). tests/daemon/status_page_browser_test.cpp loads it in Chromium.
#include "web/status_page.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <prometheus/registry.h>

#include <chrono>
#include <string>

#include "common/timefmt.h"
#include "tests/web/test_api.h"
#include "web/static_assets.h"

namespace cargomon::web {
namespace {

using namespace std::chrono_literals;
using testing_support::TestApi;

const SystemTime kNow{std::chrono::seconds{1'800'000'000}};

alerts::Alert alert(const std::string& name, alerts::AlertState state, metrics::Labels labels,
                    metrics::Labels annotations = {}) {
    labels.insert(labels.begin(), {"alertname", name});
    std::sort(labels.begin(), labels.end());
    return {.labels = labels,
            .annotations = std::move(annotations),
            .state = state,
            .value = 0.5,
            .active_at = kNow - 20min,
            .starts_at = kNow - 10min,
            .fingerprint = name + "-fp"};
}

std::size_t count(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

StatusPage empty_page() {
    return StatusPage{.now = kNow,
                      .status = {.version = "1.2.3", .ready = true, .config_file = "/etc/cargomon.yml",
                                 .config_last_reload_successful = true},
                      .build = {.version = "1.2.3"}};
}

TEST(StatusPageRender, EmptyStatesSayWhatIsMissing) {
    const std::string html = render_status_page(empty_page());
    EXPECT_NE(html.find("No alert is pending or firing."), std::string::npos);
    EXPECT_NE(html.find("No collector is configured."), std::string::npos);
    EXPECT_NE(html.find("No silence."), std::string::npos);
    EXPECT_NE(html.find("No automatic action is configured"), std::string::npos);
    EXPECT_NE(html.find("No automatic re-run was decided yet."), std::string::npos);
    EXPECT_NE(html.find("None (as far back as the sample history goes)."), std::string::npos);
    EXPECT_NE(html.find("0 firing"), std::string::npos);
    EXPECT_NE(html.find("0/0 collectors up"), std::string::npos);
    // The charts' places, and the note for readers without JavaScript.
    for (const char* chart : {"data-chart=\"errors\"", "data-chart=\"credits\"", "data-chart=\"runs\"", "<noscript>"})
        EXPECT_NE(html.find(chart), std::string::npos) << chart;
}

TEST(StatusPageRender, EveryValueFromOutsideIsEscaped) {
    StatusPage page = empty_page();
    const std::string hostile = "<script>alert(1)</script>\"'&";
    page.groups.push_back({.key = "k",
                           .receiver = "<b>team</b>",
                           .labels = {{"workflow_name", hostile}},
                           .alerts = {alert("Bad<i>Name", alerts::AlertState::firing, {{"workflow_name", hostile}},
                                            {{"summary", hostile}, {"<dt>", "x"}})}});
    page.status.collectors.push_back({.name = hostile, .kind = "runs", .last_error = hostile, .next_run = kNow});
    // (not matching the alert, which keeps its "Silence…" button)
    alerts::notify::Silence silence{.id = "\"><script>",
                                    .matchers = {std::get<metrics::Matcher>(metrics::make_matcher(
                                        "workflow_name", metrics::Matcher::Op::not_equal, hostile))},
                                    .starts_at = kNow - 1h,
                                    .ends_at = kNow + 1h,
                                    .created_by = hostile,
                                    .comment = hostile};
    page.silences.push_back({silence, alerts::notify::SilenceState::active});
    page.actions.push_back({.batch_uuid = hostile, .workflow_name = hostile, .rule = hostile, .mode = "enabled",
                            .state = "skipped", .reason = hostile, .decided_at = kNow});
    page.budgets.push_back({.rule = hostile, .mode = "enabled"});
    page.admin_api = true;
    page.routes = {{"GET", "/api/v1/<x>"}};
    const std::string html = render_status_page(page);
    // The only tags are the page's own: its one script element, no injected one.
    EXPECT_EQ(count(html, "<script"), 1u) << html;
    EXPECT_EQ(html.find("<b>team"), std::string::npos);
    EXPECT_EQ(html.find("<i>"), std::string::npos);
    EXPECT_EQ(html.find("<dt><dt>"), std::string::npos);
    EXPECT_EQ(html.find("/api/v1/<x>"), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"), std::string::npos);
    // Attributes too: the silence's id and the matchers the "Silence…" button hands the form.
    EXPECT_NE(html.find("id=\"silence-&quot;&gt;&lt;script&gt;\""), std::string::npos);
    EXPECT_NE(html.find("data-matchers=\"alertname=&quot;Bad&lt;i&gt;Name&quot;, workflow_name=&quot;&lt;script&gt;"),
              std::string::npos);
}

TEST(StatusPageRender, NoTokenSignedUrlOrUrlCredentialsIsShown) {
    StatusPage page = empty_page();
    page.groups.push_back(
        {.key = "k",
         .alerts = {alert("Leak", alerts::AlertState::firing, {},
                          {{"runbook_url", "https://user:hunter2@wiki.example.com/runbook?token=sekrit#frag"},
                           {"download", "see https://files.example.com/out.csv?X-Amz-Signature=0a1b2c3d&X-Amz-Expires=60"}})}});
    page.status.collectors.push_back(
        {.name = "runs", .kind = "run_counts", .last_run_start = kNow - 1min,
         .last_error = "GET http://cargo.example.com/v1/x?api_key=k3y failed: Authorization: Bearer tok-123456",
         .next_run = kNow + 1min});
    page.actions.push_back({.rule = "r", .mode = "enabled", .state = "failed",
                            .reason = "signed URL https://s3.example.com/b?Signature=zz9 refused", .decided_at = kNow});
    const std::string html = render_status_page(page);
    for (const char* secret : {"hunter2", "sekrit", "frag", "0a1b2c3d", "X-Amz", "k3y", "tok-123456", "zz9"})
        EXPECT_EQ(html.find(secret), std::string::npos) << secret;
    // What is left still says where: scheme, host and path.
    EXPECT_NE(html.find("https://wiki.example.com/runbook?…"), std::string::npos);
    EXPECT_NE(html.find("https://files.example.com/out.csv?…"), std::string::npos);
    EXPECT_NE(html.find("Bearer …"), std::string::npos);
}

TEST(StatusPageRender, RedactUrlsKeepsPlainTextAndBareUrls) {
    EXPECT_EQ(redact_urls("no url here: a=b?c"), "no url here: a=b?c");
    EXPECT_EQ(redact_urls("https://example.com/a/b"), "https://example.com/a/b");
    EXPECT_EQ(redact_urls("(HTTP://Example.com?x=1) next"), "(HTTP://Example.com?…) next");
    EXPECT_EQ(redact_urls("http://u:p@h:8080/p q"), "http://h:8080/p?… q");
    EXPECT_EQ(redact_urls("bearer"), "bearer");
    // A runbook's anchor stays; a fragment holding more than an anchor's characters does not.
    EXPECT_EQ(redact_urls("https://h/docs/alerting.md#cargobatchstuck"), "https://h/docs/alerting.md#cargobatchstuck");
    EXPECT_EQ(redact_urls("https://h/cb#access_token=abc"), "https://h/cb?…");
}

TEST(StatusPageRender, AlertsAreShownInTheirRouteGroupsWithTheirSilences) {
    StatusPage page = empty_page();
    auto firing = alert("CargoBatchStuck", alerts::AlertState::firing, {{"workflow_uuid", "w1"}},
                        {{"summary", "A batch of Enrich is stuck"}, {"rerun", "cargomon batch rerun b1"}});
    auto pending = alert("CargoWorkflowErrorRateHigh", alerts::AlertState::pending, {{"workflow_uuid", "w2"}});
    page.groups.push_back({.key = "a", .receiver = "pager", .labels = {{"workflow_uuid", "w1"}}, .alerts = {firing}});
    page.groups.push_back({.key = "b", .receiver = "", .labels = {{"workflow_uuid", "w2"}}, .alerts = {pending}});
    alerts::notify::Silence silence{.id = "0123456789abcdef",
                                    .matchers = {std::get<metrics::Matcher>(
                                        metrics::make_matcher("workflow_uuid", metrics::Matcher::Op::equal, "w1"))},
                                    .starts_at = kNow - 1h,
                                    .ends_at = kNow + 1h,
                                    .created_by = "ops",
                                    .comment = "known"};
    page.silences.push_back({silence, alerts::notify::SilenceState::active});
    page.resolved.push_back({{{"alertname", "CargoPlaySilent"}, {"workflow_uuid", "w3"}}, kNow - 2h});
    const std::string html = render_status_page(page);
    EXPECT_NE(html.find("1 firing"), std::string::npos);
    EXPECT_NE(html.find("1 pending"), std::string::npos);
    EXPECT_NE(html.find("(1 firing) cargomon"), std::string::npos);
    EXPECT_NE(html.find("{workflow_uuid=&quot;w1&quot;}"), std::string::npos);
    EXPECT_NE(html.find("notifying receiver pager"), std::string::npos);
    EXPECT_NE(html.find("notifying no receiver"), std::string::npos);
    EXPECT_NE(html.find("cargomon batch rerun b1"), std::string::npos);
    EXPECT_NE(html.find("firing since <time datetime=\"" + format_iso8601(kNow - 10min)), std::string::npos);
    EXPECT_NE(html.find("10m ago"), std::string::npos);
    EXPECT_NE(html.find("Silenced by <a href=\"#silence-0123456789abcdef\">01234567</a>"), std::string::npos);
    EXPECT_NE(html.find("CargoPlaySilent</strong> <span class=\"meta\">last firing"), std::string::npos);
    EXPECT_NE(html.find("2h ago"), std::string::npos);
}

// The 6h and 24h charts and the resolved list show what the history keeps: when it keeps
// less than a day, the page says how much, and how to keep more.
TEST(StatusPageRender, SaysHowFarBackTheHistoryGoesWhenLessThanADay) {
    StatusPage page = empty_page();
    page.status.history_retention = std::chrono::minutes{75};
    const std::string hour = render_status_page(page);
    const std::string note = "The sample history keeps 1h15m";
    auto first = hour.find(note);
    ASSERT_NE(first, std::string::npos) << hour;
    EXPECT_NE(hour.find(note, first + 1), std::string::npos) << "under the charts and the resolved list";
    page.status.history_retention = std::chrono::hours{24};
    EXPECT_EQ(render_status_page(page).find("The sample history keeps"), std::string::npos);
}

TEST(StatusPageRender, SilenceFormsOnlyWithTheAdminApi) {
    StatusPage page = empty_page();
    alerts::notify::Silence silence{.id = "s1",
                                    .matchers = {std::get<metrics::Matcher>(
                                        metrics::make_matcher("a", metrics::Matcher::Op::regex, "b.*"))},
                                    .starts_at = kNow - 1h,
                                    .ends_at = kNow + 1h,
                                    .created_by = "ops",
                                    .comment = "c"};
    page.silences.push_back({silence, alerts::notify::SilenceState::active});
    page.silences.push_back({{.id = "s0", .starts_at = kNow - 2h, .ends_at = kNow - 1h}, alerts::notify::SilenceState::expired});
    const std::string read_only = render_status_page(page);
    EXPECT_NE(read_only.find("Read-only: creating and expiring silences needs cargomon started with "
                             "<code>--web.enable-admin-api</code>"),
              std::string::npos);
    EXPECT_EQ(read_only.find("<form"), std::string::npos);
    EXPECT_EQ(read_only.find("class=\"expire\""), std::string::npos);
    EXPECT_NE(read_only.find("a=~&quot;b.*&quot;"), std::string::npos);
    page.admin_api = true;
    const std::string admin = render_status_page(page);
    EXPECT_EQ(admin.find("Read-only"), std::string::npos);
    EXPECT_NE(admin.find("<form id=\"silence-form\""), std::string::npos);
    // Only the unexpired silence can be expired.
    EXPECT_EQ(count(admin, "class=\"expire\""), 1u);
    EXPECT_NE(admin.find("data-id=\"s1\""), std::string::npos);
}

TEST(StatusPageRender, HealthShowsEachCollectorTheConfigAndTheStateDatabase) {
    StatusPage page = empty_page();
    page.status.collectors = {
        {.name = "runs", .kind = "run_counts", .up = true, .last_run_start = kNow - 30s, .last_duration_seconds = 1.25,
         .next_run = kNow + 30s, .series = 42},
        {.name = "credits", .kind = "credits", .last_run_start = kNow - 1min, .last_error = "timeout after 30s",
         .next_run = kNow + 2min},
        {.name = "batches", .kind = "batches", .next_run = kNow + 5s}};
    page.status.config_last_reload_successful = false;
    page.status.config_last_reload_success = kNow - 1h;
    page.status.state_database = "/var/lib/cargomon/cargomon.db";
    page.status.state_database_moved_aside = {"/var/lib/cargomon/cargomon.db.broken-1"};
    const std::string html = render_status_page(page);
    EXPECT_NE(html.find("1/3 collectors up"), std::string::npos);
    EXPECT_NE(html.find("config reload failed"), std::string::npos);
    EXPECT_NE(html.find("the last reload failed</strong>; the config loaded <time"), std::string::npos);
    EXPECT_NE(html.find("<th scope=\"row\">runs</th><td>run_counts</td><td><span class=\"badge good\">up</span>"),
              std::string::npos);
    EXPECT_NE(html.find("1.25 s"), std::string::npos);
    EXPECT_NE(html.find("in 30s"), std::string::npos);
    EXPECT_NE(html.find("<td>42</td>"), std::string::npos);
    EXPECT_NE(html.find("<span class=\"badge bad\">down</span>"), std::string::npos);
    EXPECT_NE(html.find("timeout after 30s"), std::string::npos);
    EXPECT_NE(html.find("<span class=\"badge warn\">waiting</span>"), std::string::npos);
    EXPECT_NE(html.find("cargomon.db.broken-1"), std::string::npos);
}

TEST(StatusPageRender, BudgetsCountTodaysRowsOfTheRulesMode) {
    StatusPage page = empty_page();
    page.budgets = {{.rule = "transient", .mode = "enabled", .max_reruns_per_day_per_workflow = 3, .max_credits_per_day = 500}};
    const SystemTime yesterday = std::chrono::floor<std::chrono::days>(kNow) - 1h;
    page.actions = {
        {.workflow_uuid = "w1", .rule = "transient", .mode = "enabled", .state = "done", .result = "created",
         .records = 4, .estimated_credits = 40, .created_batch_uuid = "rb1", .decided_at = kNow - 1min,
         .outcome = "recovered", .recovered = 4},
        {.workflow_uuid = "w1", .rule = "transient", .mode = "enabled", .state = "done", .estimated_credits = 60, .decided_at = kNow - 2min},
        {.workflow_uuid = "w2", .rule = "transient", .mode = "enabled", .state = "done", .estimated_credits = 5, .decided_at = kNow - 3min},
        {.workflow_uuid = "w1", .rule = "transient", .mode = "enabled", .state = "skipped", .estimated_credits = 1000, .decided_at = kNow},
        {.workflow_uuid = "w1", .rule = "transient", .mode = "dry_run", .state = "dry_run", .estimated_credits = 1000, .decided_at = kNow},
        {.workflow_uuid = "w1", .rule = "transient", .mode = "enabled", .state = "done", .estimated_credits = 1000, .decided_at = yesterday},
    };
    const std::string html = render_status_page(page);
    EXPECT_NE(html.find("<th scope=\"row\">transient</th><td>enabled</td><td>2 of 3</td><td>105 of 500</td>"),
              std::string::npos)
        << html;
    EXPECT_NE(html.find("recovered (4 recovered, 0 still failing)"), std::string::npos);
    EXPECT_NE(html.find("(dry run)"), std::string::npos);
}

// / and its files as the server answers them, from TestApi's sources.
class StatusPageServed : public ::testing::Test {
protected:
    void SetUp() override {
        api_ = std::make_unique<TestApi>(store_, registry_, TestApi::Reload{}, ServerOptions{.enable_admin_api = true});
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
        // ALERTS said firing an hour ago, for an alert active no more, and for one active now.
        for (std::int64_t t = now_ms - 3'600'000; t <= now_ms - 3'000'000; t += 60'000) {
            api_->history_source.add({{"__name__", "ALERTS"}, {"alertname", "Gone"}, {"alertstate", "firing"}}, t, 1);
            api_->history_source.add({{"__name__", "ALERTS"}, {"alertname", "Still"}, {"alertstate", "firing"}}, t, 1);
        }
        api_->history_source.add({{"__name__", "ALERTS"}, {"alertname", "Old"}, {"alertstate", "firing"}},
                                 now_ms - 25 * 3'600'000LL, 1);
        api_->alert_group_list.push_back({.key = "k", .alerts = {alert("Still", alerts::AlertState::firing, {})}});
        api_->alert_group_list[0].alerts[0].labels = {{"alertname", "Still"}};
        api_->server.start("127.0.0.1:0");
    }

    httplib::Result get(const std::string& path) {
        httplib::Client c("127.0.0.1", api_->server.port());
        return c.Get(path);
    }

    metrics::MetricStore store_;
    prometheus::Registry registry_;
    std::unique_ptr<TestApi> api_;
};

TEST_F(StatusPageServed, TheRootIsThePageUnderItsPolicy) {
    auto res = get("/");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
    const std::string policy = res->get_header_value("Content-Security-Policy");
    EXPECT_NE(policy.find("script-src 'self'"), std::string::npos);
    EXPECT_NE(policy.find("default-src 'none'"), std::string::npos);
    EXPECT_EQ(policy.find("unsafe"), std::string::npos);
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
    // The page's script is a file of the server, never inline; nothing comes from elsewhere.
    EXPECT_NE(res->body.find("<script src=\"/static/status.js\" defer></script>"), std::string::npos);
    EXPECT_EQ(count(res->body, "<script"), 1u);
    for (const char* elsewhere : {"src=\"http", "src=\"//", "href=\"//"}) EXPECT_EQ(res->body.find(elsewhere), std::string::npos);
    EXPECT_EQ(count(res->body, "<link rel=\"stylesheet\" href=\"/static/"), 1u);
    // Read from the sources: the admin API's form, the routes, the alert resolved within 24 h only.
    EXPECT_NE(res->body.find("<form id=\"silence-form\""), std::string::npos);
    EXPECT_NE(res->body.find("<a href=\"/api/v1/status\">/api/v1/status</a>"), std::string::npos);
    EXPECT_NE(res->body.find("<strong>Gone</strong> <span class=\"meta\">last firing"), std::string::npos);
    EXPECT_EQ(res->body.find("<strong>Still</strong> <span class=\"meta\">last firing"), std::string::npos);
    EXPECT_EQ(res->body.find("<strong>Old</strong>"), std::string::npos);
}

TEST_F(StatusPageServed, EachFileIsServedWithItsType) {
    std::size_t total = get("/")->body.size();
    ASSERT_EQ(static_assets().size(), 3u);
    for (const auto& asset : static_assets()) {
        auto res = get(std::string(asset.path));
        ASSERT_TRUE(res) << asset.path;
        EXPECT_EQ(res->status, 200);
        EXPECT_EQ(res->body, asset.body);
        EXPECT_EQ(res->get_header_value("Content-Type"), asset.content_type);
        EXPECT_FALSE(res->get_header_value("Content-Security-Policy").empty());
        total += res->body.size();
    }
    EXPECT_EQ(get("/static/status.js")->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(get("/static/nope.js")->status, 404);
    // The page's whole transfer, uncompressed (the bound: 200 KB).
    EXPECT_LT(total, 200'000u);
}

TEST_F(StatusPageServed, SilencesOfTheStoreAreListed) {
    alerts::notify::Silence s{.matchers = {std::get<metrics::Matcher>(
                                  metrics::make_matcher("alertname", metrics::Matcher::Op::equal, "Still"))},
                              .ends_at = std::chrono::system_clock::now() + 1h,
                              .created_by = "page-test",
                              .comment = "while we look"};
    auto added = api_->silences().add(s);
    ASSERT_TRUE(std::holds_alternative<std::string>(added));
    const std::string body = get("/")->body;
    EXPECT_NE(body.find("while we look"), std::string::npos);
    EXPECT_NE(body.find("Silenced by <a href=\"#silence-" + std::get<std::string>(added) + "\""), std::string::npos);
}

}  // namespace
}  // namespace cargomon::web
