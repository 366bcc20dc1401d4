// Alerting end to end: the real cargomon evaluates rules over what it collects from the
// real cargomon-sim (whose workload the tests change through /_sim/events) and notifies
// a webhook run here. Each notification reaches the webhook exactly once, through a
// receiver outage and through a kill -9 of the daemon; silences hold notifications back.
// ctest runs each case apart, with its own sim (see CMakeLists.txt).
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/net.h"
#include "common/timefmt.h"
#include "tests/support/environment_main.h"
#include "tests/daemon/daemon_process.h"
#include "tests/daemon/sim_client.h"
#include "tests/alerts/e2e/e2e_environment.h"
#include "tests/support/eventually.h"
#include "tests/support/http_receiver.h"

namespace cargomon::testing {

AlertsE2eEnvironment* env = nullptr;

namespace {

using namespace std::chrono_literals;

// The webhook: a receiver that is up from the start.
class Webhook : public HttpReceiver {
public:
    Webhook() { start(); }
};

// What one webhook body says, reduced to what identifies a notification.
struct Notification {
    std::string version, status, group_key;
    std::vector<std::pair<std::string, std::string>> alerts;  // (fingerprint, status)
    std::vector<std::string> workflow_names;

    std::string identity() const {
        std::string s = group_key + "|" + status;
        for (const auto& [f, st] : alerts) s += "|" + f + "=" + st;
        return s;
    }
};

Notification parse_notification(const std::string& body) {
    rapidjson::Document doc;
    if (doc.Parse(body.c_str()).HasParseError() || !doc.IsObject()) throw std::runtime_error("not JSON: " + body);
    Notification n;
    n.version = doc["version"].GetString();
    n.status = doc["status"].GetString();
    n.group_key = doc["groupKey"].GetString();
    for (const auto& a : doc["alerts"].GetArray()) {
        n.alerts.emplace_back(a["fingerprint"].GetString(), a["status"].GetString());
        const auto& labels = a["labels"];
        n.workflow_names.push_back(labels.HasMember("workflow_name") ? labels["workflow_name"].GetString() : "");
    }
    return n;
}

std::vector<Notification> notifications(const std::vector<Received>& received) {
    std::vector<Notification> out;
    for (const auto& r : received) out.push_back(parse_notification(r.body));
    return out;
}

int count_status(const std::vector<Notification>& ns, const std::string& status) {
    int n = 0;
    for (const auto& x : ns) n += x.status == status;
    return n;
}

// The same notification never accepted twice: distinct keys, distinct contents.
void expect_no_duplicates(const std::vector<Received>& accepted) {
    std::set<std::string> keys, identities;
    for (const auto& r : accepted) {
        EXPECT_EQ(r.header("Idempotency-Key").size(), 32u) << r.header("Idempotency-Key");
        EXPECT_TRUE(keys.insert(r.header("Idempotency-Key")).second) << "key delivered twice: " << r.header("Idempotency-Key");
        EXPECT_TRUE(identities.insert(parse_notification(r.body).identity()).second) << "delivered twice: " << r.body;
    }
}

// Waits up to `limit` for the resolved notification, lets a few group intervals pass,
// then expects exactly one firing and one resolved notification accepted, none twice.
// What was accepted lands in `accepted`; call under ASSERT_NO_FATAL_FAILURE.
void expect_fired_and_resolved_once(const Webhook& hook, const DaemonProcess& daemon, std::chrono::milliseconds limit,
                                    std::vector<Received>& accepted) {
    ASSERT_TRUE(eventually([&] { return count_status(notifications(hook.accepted()), "resolved") > 0; }, limit,
                           "the resolved notification"))
        << daemon.log();
    std::this_thread::sleep_for(3s);  // a few group intervals: nothing more may come
    accepted = hook.accepted();
    const auto got = notifications(accepted);
    EXPECT_EQ(count_status(got, "firing"), 1);
    EXPECT_EQ(count_status(got, "resolved"), 1);
    expect_no_duplicates(accepted);
}

// A daemon config: run counts over 20 s, batches over 1 min, `rules` as the rule file and
// one webhook receiver grouping by alert and workflow.
class DaemonSetup {
public:
    DaemonSetup(const std::string& rules, const Webhook& hook) {
        rule_file_ = dir_.write("e2e.rules.yml", rules);
        config_ = "api_url: " + env->sim->url() + "\ntoken: " + env->sim->token() + R"(
client: {rate_limit: 500}
defaults: {interval: 2s, timeout: 2s, jitter: 0}
collectors:
  - {name: runs, kind: run_counts, windows: [20s]}
  - {name: batches, kind: batches, window: 1m}
rule_files: [)" + rule_file_ + R"(]
alerting:
  delivery: {max_age: 1h, min_backoff: 200ms, max_backoff: 1s}
  route: {receiver: hook, group_by: [alertname, workflow_uuid], group_wait: 1s, group_interval: 2s, repeat_interval: 1h}
  receivers:
    - name: hook
      webhook_configs: [{url: )" + hook.url() + R"(, send_resolved: true}]
)";
    }
    const std::string& config() const { return config_; }
    std::string storage() const { return dir_.path() + "/storage"; }

private:
    TempDir dir_;
    std::string rule_file_;
    std::string config_;
};

// A rule on workflow `uuid`'s error ratio over 20 s above one half, pending `for`.
std::string error_rules(const std::string& uuid, const std::string& for_, const std::string& more = "") {
    return R"(groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: E2eErrorSpike
        expr: cargo_workflow_error_ratio{window="20s", workflow_uuid=")" + uuid + R"("} > 0.5
        for: )" + for_ + "\n" + more;
}

std::optional<double> ratio(const Scrape& s, const std::string& uuid) {
    return s.value("cargo_workflow_error_ratio", {{"window", "20s"}, {"workflow_uuid", uuid}});
}

// The workflow's name as the daemon labels it, once its error ratio is back to normal
// (an earlier case's spike may still be in the window).
std::string settled(const DaemonProcess& daemon, const std::string& uuid) {
    auto s = daemon.scrape_until([&](const Scrape& s) { return ratio(s, uuid).value_or(1) < 0.3; }, 60s);
    auto info = s.find("cargo_workflow_info", {{"workflow_uuid", uuid}});
    if (info.size() != 1) throw std::runtime_error("no cargo_workflow_info for " + uuid);
    return info[0].labels.at("workflow_name");
}

// Errors on `uuid` until clear_events(): a workflow's traffic comes in batches, so a spike of
// fixed length may fall between them; the tests end it once they have seen it.
void spike(const std::string& uuid) {
    env->client->post_event(R"({"kind": "error_spike", "workflow": ")" + uuid + R"(", "error_rate": 0.95, "for": "10m"})");
}

double outbox(const Scrape& s) { return s.value("cargomon_notification_outbox_length").value_or(-1); }

class AlertsE2e : public ::testing::Test {
protected:
    void TearDown() override { env->client->clear_events(); }
};

TEST_F(AlertsE2e, ErrorSpikeFiresOnceThenResolvesOnce) {
    Webhook hook;
    const auto uuid = env->busiest[0];
    DaemonSetup setup(error_rules(uuid, "4s"), hook);
    DaemonProcess daemon(setup.config());
    const auto name = settled(daemon, uuid);

    spike(uuid);
    daemon.scrape_until([&](const Scrape& s) { return ratio(s, uuid).value_or(0) > 0.5; }, 60s);
    const auto visible = std::chrono::steady_clock::now();
    // for (4 s) + one evaluation interval + group_wait, with room for a loaded machine.
    ASSERT_TRUE(eventually([&] { return !hook.accepted().empty(); }, 20s, "the firing notification"))
        << daemon.log();
    std::cout << "firing notified "
              << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - visible).count()
              << " ms after the spike was visible\n";
    env->client->clear_events();
    ASSERT_TRUE(eventually([&] { return count_status(notifications(hook.accepted()), "resolved") > 0; }, 90s,
                           "the resolved notification"))
        << daemon.log();
    std::this_thread::sleep_for(5s);  // a few group intervals: nothing more may come

    const auto got = notifications(hook.received());
    ASSERT_EQ(got.size(), 2u);
    for (const auto& n : got) {
        EXPECT_EQ(n.version, "4");
        ASSERT_EQ(n.alerts.size(), 1u);
        EXPECT_EQ(n.workflow_names[0], name);
        EXPECT_EQ(n.alerts[0].second, n.status);
    }
    EXPECT_EQ(got[0].status, "firing");
    EXPECT_EQ(got[1].status, "resolved");
    EXPECT_EQ(got[0].group_key, got[1].group_key);
    EXPECT_EQ(got[0].alerts[0].first, got[1].alerts[0].first);
    expect_no_duplicates(hook.accepted());
    EXPECT_EQ(daemon.scrape().value("cargomon_notifications_total",
                                    {{"receiver", "hook"}, {"integration", "webhook"}, {"outcome", "delivered"}}),
              2);
}

TEST_F(AlertsE2e, ReceiverDownThenBackGetsEveryNotificationOnce) {
    Webhook hook;
    hook.answer(503);
    const auto uuid = env->busiest[0];
    DaemonSetup setup(error_rules(uuid, "0s"), hook);
    DaemonProcess daemon(setup.config());
    settled(daemon, uuid);

    spike(uuid);
    // The firing notification retried against the failing receiver a few times.
    ASSERT_TRUE(eventually([&] { return hook.received().size() >= 3; }, 90s, "retries")) << daemon.log();
    EXPECT_TRUE(hook.accepted().empty());
    env->client->clear_events();
    hook.answer(200);
    std::vector<Received> accepted;
    ASSERT_NO_FATAL_FAILURE(expect_fired_and_resolved_once(hook, daemon, 90s, accepted));
    // Each retry of one notification carries its key.
    std::set<std::string> tried, delivered;
    for (const auto& r : hook.received()) tried.insert(r.header("Idempotency-Key"));
    for (const auto& r : accepted) delivered.insert(r.header("Idempotency-Key"));
    EXPECT_EQ(tried, delivered);
}

std::optional<double> for_state(const Scrape& s) {
    auto found = s.find("ALERTS_FOR_STATE", {{"alertname", "E2eSlowSpike"}});
    if (found.size() != 1) return std::nullopt;
    return found[0].value;
}

std::string active_at(const DaemonProcess& daemon, const std::string& alertname) {
    auto answer = daemon.get("/api/v1/alerts");
    rapidjson::Document doc;
    if (answer.status != 200 || doc.Parse(answer.body.c_str()).HasParseError())
        throw std::runtime_error("/api/v1/alerts: " + answer.body);
    const auto& alerts = doc.HasMember("data") ? doc["data"]["alerts"] : doc["alerts"];
    for (const auto& a : alerts.GetArray())
        if (std::string(a["labels"]["alertname"].GetString()) == alertname) return a["activeAt"].GetString();
    return "";
}

TEST_F(AlertsE2e, KillNineWhileQueuedLosesAndRepeatsNothing) {
    Webhook hook;
    hook.stop();
    const auto uuid = env->busiest[0];
    // The same condition twice: one fires at once, one stays pending for the restart.
    DaemonSetup setup(error_rules(uuid, "0s", R"(      - alert: E2eSlowSpike
        expr: cargo_workflow_error_ratio{window="20s", workflow_uuid=")" + uuid + R"("} > 0.5
        for: 10m
)"),
                hook);
    std::string pending_since;
    double for_value = 0;
    {
        DaemonProcess daemon(setup.config(), {.storage_path = setup.storage()});
        settled(daemon, uuid);
        spike(uuid);
        auto s = daemon.scrape_until([](const Scrape& s) { return outbox(s) >= 1 && for_state(s); }, 90s);
        for_value = *for_state(s);
        pending_since = active_at(daemon, "E2eSlowSpike");
        ASSERT_FALSE(pending_since.empty());
        daemon.process().kill_hard();
    }
    DaemonProcess daemon(setup.config(), {.storage_path = setup.storage()});
    auto s = daemon.scrape_until([](const Scrape& s) { return for_state(s).has_value(); }, 30s);
    // The pending alert kept its `for` timer through the restart.
    EXPECT_EQ(*for_state(s), for_value);
    EXPECT_EQ(active_at(daemon, "E2eSlowSpike"), pending_since);
    EXPECT_GE(outbox(s), 1) << "the queued notification survived";

    hook.start();
    env->client->clear_events();
    std::vector<Received> accepted;
    ASSERT_NO_FATAL_FAILURE(expect_fired_and_resolved_once(hook, daemon, 120s, accepted));
    for (const auto& n : notifications(accepted))
        for (const auto& [fingerprint, status] : n.alerts) EXPECT_EQ(status, n.status);
    EXPECT_EQ(accepted.size(), hook.received().size());
}

TEST_F(AlertsE2e, PartiallyFailedBatchAlertsWithItsWorkflowName) {
    Webhook hook;
    const auto uuid = env->busiest[1];
    DaemonSetup setup(R"(groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: E2ePartiallyFailedBatch
        expr: cargo_workflow_partially_failed_batches{window="1m", workflow_uuid=")" +
                    uuid + R"("} > 0
)",
                hook);
    DaemonProcess daemon(setup.config());
    // No natural failures, so the only partially failed batch is the one asked for.
    env->client->post_event(R"({"kind": "error_spike", "workflow": ")" + uuid + R"(", "error_rate": 0, "for": "10m"})");
    daemon.scrape_until(
        [&](const Scrape& s) {
            return s.value("cargo_workflow_partially_failed_batches", {{"window", "1m"}, {"workflow_uuid", uuid}}) == 0;
        },
        120s);
    const auto before = hook.received().size();
    const auto name = daemon.scrape().find("cargo_workflow_info", {{"workflow_uuid", uuid}}).at(0).labels.at("workflow_name");

    env->client->post_event(R"({"kind": "batch_failure", "workflow": ")" + uuid + R"(", "failed_ratio": 0.5})");
    // A natural failure from before the spike may still be reported resolved: skip it.
    auto firing_since = [&]() -> std::optional<Notification> {
        const auto got = notifications(hook.accepted());
        for (auto i = before; i < got.size(); ++i)
            if (got[i].status == "firing") return got[i];
        return std::nullopt;
    };
    ASSERT_TRUE(eventually([&] { return firing_since().has_value(); }, 60s, "the batch notification")) << daemon.log();
    const auto n = *firing_since();
    ASSERT_EQ(n.alerts.size(), 1u);
    EXPECT_EQ(n.workflow_names[0], name);
}

TEST_F(AlertsE2e, SilenceHoldsTheNotificationBack) {
    Webhook hook;
    const auto uuid = env->busiest[0];
    DaemonSetup setup(error_rules(uuid, "0s"), hook);
    DaemonProcess daemon(setup.config(), {.extra_args = {"--web.enable-admin-api"}});
    settled(daemon, uuid);

    httplib::Client api(daemon.url());
    const auto ends = format_iso8601(SystemClock{}.now() + std::chrono::hours{1});
    auto created = api.Post("/api/v1/silences",
                            R"({"matchers": [{"name": "workflow_uuid", "value": ")" + uuid +
                                R"("}, {"name": "alertname", "value": "E2eErrorSpike"}], "endsAt": ")" + ends +
                                R"(", "createdBy": "alerte2e", "comment": "e2e"})",
                            "application/json");
    ASSERT_TRUE(created && created->status == 200) << (created ? created->body : "no answer");
    EXPECT_NE(created->body.find("silenceID"), std::string::npos) << created->body;

    spike(uuid);
    ASSERT_TRUE(eventually([&] { return active_at(daemon, "E2eErrorSpike") != ""; }, 60s, "the alert to fire"));
    std::this_thread::sleep_for(6s);  // group_wait and two group intervals
    EXPECT_TRUE(hook.received().empty()) << hook.received().front().body;

    // Nothing arriving proves nothing by itself (a daemon that never notifies passes that
    // too): expire the silence, and the still-firing alert must now be notified.
    rapidjson::Document answer;
    answer.Parse(created->body.c_str());
    ASSERT_TRUE(answer.IsObject() && answer.HasMember("silenceID")) << created->body;
    const std::string id = answer["silenceID"].GetString();
    auto expired = api.Delete("/api/v1/silences/" + id);
    ASSERT_TRUE(expired && expired->status == 200) << (expired ? expired->body : "no answer");
    ASSERT_TRUE(eventually([&] { return !hook.accepted().empty(); }, 20s, "the notification once the silence expired"))
        << daemon.log();
    const auto got = notifications(hook.accepted());
    EXPECT_EQ(got.front().status, "firing");
    for (const auto& n : got)
        for (const auto& [fingerprint, status] : n.alerts) EXPECT_EQ(status, "firing") << fingerprint;
}

}  // namespace
}  // namespace cargomon::testing

int main(int argc, char** argv) {
    return cargomon::testing::run_with_environment(argc, argv, cargomon::testing::env,
                                                     new cargomon::testing::AlertsE2eEnvironment);
}
