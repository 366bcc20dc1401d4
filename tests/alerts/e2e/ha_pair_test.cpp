// An HA pair end to end, as Prometheus pairs run: two cargomon replicas with the same
// rules, told apart by global.external_labels (replica=a, replica=b) which an alert
// relabelling drops, each sending every alert to every member of a cluster of three
// Debian prometheus-alertmanager processes gossiping on loopback, which notify one
// webhook. Twenty alerts give exactly twenty firing and twenty resolved notifications:
// with both replicas up, and after kill -9 of one replica and of the first Alertmanager
// between the firing and the resolving.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/net.h"
#include "common/process.h"
#include "tests/alerts/e2e/e2e_environment.h"
#include "tests/daemon/daemon_process.h"
#include "tests/support/eventually.h"
#include "tests/support/http_receiver.h"
#include "tests/support/prom_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tools.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kAlerts = 20;
constexpr int kAlertmanagers = 3;
// Alertmanager's timings: each member waits peer_timeout per member before it in the
// cluster before it notifies, so the first one's notification log reaches it first; that
// holds while the members' groups flush less than a peer_timeout apart (each group's
// flushes keep the phase of the alert's arrival there, and the replicas post to each
// member apart). The last member's wait must also end well before the group's next
// flush: otherwise its flush of a firing alert, still waiting, finds the first member's
// "resolved" in the log and notifies the alert firing again. Alertmanager's defaults
// (15s, 5m) keep both; these keep them with room for a loaded machine, and are short
// enough for a test.
constexpr auto kPeerTimeout = 5s;
constexpr auto kGroupInterval = 20s;
static_assert((kAlertmanagers - 1) * kPeerTimeout * 2 <= kGroupInterval);
// After the last expected notification, what a duplicate would need to arrive: the last
// member's wait and a flush.
constexpr auto kQuiet = (kAlertmanagers - 1) * kPeerTimeout + kGroupInterval;

std::string alertname(int i) { return "HaPair" + std::string(i < 10 ? "0" : "") + std::to_string(i); }

// Every alert fires while `expr` holds.
std::string rules(const std::string& expr) {
    std::string text = "groups:\n  - name: ha\n    interval: 1s\n    rules:\n";
    for (int i = 1; i <= kAlerts; ++i)
        text += "      - {alert: " + alertname(i) + ", expr: '" + expr + "', labels: {severity: page}}\n";
    return text;
}

// One webhook body from Alertmanager, reduced to what the counts need.
struct AmNotification {
    std::string status;
    std::vector<std::string> alertnames;
    bool replica_label = false;  // some alert still carries `replica`
};

AmNotification parse(const std::string& body) {
    rapidjson::Document doc;
    if (doc.Parse(body.c_str()).HasParseError() || !doc.IsObject()) throw std::runtime_error("not JSON: " + body);
    AmNotification n{.status = doc["status"].GetString()};
    for (const auto& a : doc["alerts"].GetArray()) {
        n.alertnames.push_back(a["labels"]["alertname"].GetString());
        n.replica_label = n.replica_label || a["labels"].HasMember("replica");
    }
    return n;
}

class HaPair : public ::testing::Test {
protected:
    void SetUp() override {
        CARGOMON_REQUIRE_TOOL(!find_executable("prometheus-alertmanager").empty(), "prometheus-alertmanager");
        hook_.start();
        std::vector<int> gossip;
        for (int i = 0; i < kAlertmanagers; ++i) gossip.push_back(free_loopback_port());
        const std::string config = R"(route:
  receiver: hook
  group_by: ['...']
  group_wait: 1s
  group_interval: )" + std::to_string(kGroupInterval.count()) + R"(s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: ')" + hook_.url() + R"(', send_resolved: true}]
)";
        for (int i = 0; i < kAlertmanagers; ++i) {
            AlertmanagerCluster cluster{.port = gossip[i], .peer_timeout = std::to_string(kPeerTimeout.count()) + "s"};
            for (int j = 0; j < kAlertmanagers; ++j)
                if (j != i) cluster.peers.push_back(gossip[j]);
            ams_.push_back(std::make_unique<AlertmanagerServer>(config, std::map<std::string, std::string>{}, cluster));
        }
        // Each member knows the other two and has settled (before that it holds its
        // notifications back, and a member that joins later is not in its positions).
        for (const auto& am : ams_)
            ASSERT_TRUE(eventually(
                [&] {
                    auto status = am->get_json("/api/v2/status");
                    return std::string(status["cluster"]["status"].GetString()) == "ready" &&
                           status["cluster"]["peers"].GetArray().Size() == kAlertmanagers;
                },
                120s, "the Alertmanager cluster to form and settle"))
                << am->log();
        rule_file_ = dir_.path() + "/ha.rules.yml";
        write_rules(rules("vector(1)"));
        for (const std::string name : {"a", "b"})
            replicas_.push_back(std::make_unique<DaemonProcess>(
                replica_config(name), DaemonOptions{.extra_args = {"--web.enable-lifecycle"}}));
    }

    // A replica: external label replica=<name>, dropped by the alert relabelling, and
    // every Alertmanager of the cluster as one receiver's integrations. All alerts go in
    // one group (Alertmanager does the grouping), re-sent every 5 s with endsAt four
    // flushes ahead: a loaded machine cannot make Alertmanager time them out.
    std::string replica_config(const std::string& name) const {
        std::string ams;
        for (const auto& am : ams_) ams += "{url: '" + am->url() + "'}, ";
        return "api_url: " + env->sim->url() + "\ntoken: " + env->sim->token() + R"(
global:
  external_labels: {replica: )" + name + R"(}
defaults: {interval: 2s, timeout: 2s, jitter: 0}
collectors:
  - {name: discovery, kind: discovery}
rule_files: [')" + rule_file_ + R"(']
alerting:
  alert_relabel_configs:
    - {action: labeldrop, regex: replica}
  delivery: {max_age: 1h, min_backoff: 200ms, max_backoff: 1s}
  route: {receiver: cluster, group_wait: 1s, group_interval: 5s, repeat_interval: 1h}
  receivers:
    - name: cluster
      alertmanager_configs: [)" + ams + R"(]
)";
    }

    void write_rules(const std::string& text) const { std::ofstream(rule_file_) << text; }

    std::vector<AmNotification> notified() const {
        std::vector<AmNotification> out;
        for (const auto& r : hook_.accepted()) out.push_back(parse(r.body));
        return out;
    }
    int count(const std::string& status) const {
        int n = 0;
        for (const auto& x : notified()) n += x.status == status;
        return n;
    }

    // The active alerts `am` holds (each replica's copy would be one more, had the
    // relabelling not made them one).
    static int held(const AlertmanagerServer& am) {
        return static_cast<int>(am.get_json("/api/v2/alerts?active=true").GetArray().Size());
    }

    // Each member has passed its wait for the members before it and looked at the
    // notification log for every group (once per group and flush): from then on the
    // first member's firing notifications are in every log, and killing it cannot make
    // another member send them again.
    static double nflog_queries(const AlertmanagerServer& am) {
        return parse_exposition(am.get_text("/metrics")).value("alertmanager_nflog_queries_total").value_or(0);
    }

    void expect_fired() {
        ASSERT_TRUE(eventually([&] { return count("firing") >= kAlerts; }, 120s, "a firing notification per alert"))
            << logs();
        for (const auto& am : ams_) {
            // Every Alertmanager listed is sent every alert, and holds each once.
            ASSERT_TRUE(eventually([&] { return held(*am) == kAlerts; }, 30s, "every alert at every Alertmanager"))
                << held(*am) << " alerts at " << am->url();
            ASSERT_TRUE(eventually([&] { return nflog_queries(*am) >= kAlerts; }, 60s, "each member's look at its log"));
        }
    }

    // Rewrites the rules to stop firing a few seconds from now, the same instant for
    // every replica that is still up (time() is each one's clock; both are this host's),
    // and reloads those replicas.
    void resolve(const std::vector<DaemonProcess*>& running) {
        const auto at = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch() + 3s)
                            .count();
        write_rules(rules("vector(time()) < " + std::to_string(at)));
        for (DaemonProcess* replica : running) ASSERT_EQ(replica->post("/-/reload").status, 200) << replica->log();
    }

    // Exactly one firing and one resolved notification per alert, each of one alert
    // without the replica label, nothing more after kQuiet.
    void expect_each_notified_once() {
        ASSERT_TRUE(eventually([&] { return count("resolved") >= kAlerts; }, 180s, "a resolved notification per alert"))
            << logs();
        std::this_thread::sleep_for(kQuiet);
        std::map<std::string, std::set<std::string>> by_status;
        int firing = 0, resolved = 0;
        for (const auto& n : notified()) {
            ASSERT_EQ(n.alertnames.size(), 1u) << "Alertmanager grouped two copies of one alert";
            EXPECT_FALSE(n.replica_label) << "the replica label reached Alertmanager";
            EXPECT_TRUE(by_status[n.status].insert(n.alertnames[0]).second)
                << n.alertnames[0] << " notified " << n.status << " twice";
            (n.status == "firing" ? firing : resolved)++;
        }
        EXPECT_EQ(firing, kAlerts);
        EXPECT_EQ(resolved, kAlerts);
        EXPECT_EQ(by_status["firing"].size(), static_cast<std::size_t>(kAlerts));
        EXPECT_EQ(by_status["resolved"].size(), static_cast<std::size_t>(kAlerts));
        if (::testing::Test::HasFailure()) {
            std::string order;
            for (const auto& n : notified())
                order += n.status + " " + (n.alertnames.empty() ? "-" : n.alertnames[0]) + "\n";
            ADD_FAILURE() << "notifications in arrival order:\n" << order << logs();
        }
    }

    std::string logs() const {
        std::string text;
        for (std::size_t i = 0; i < replicas_.size(); ++i) text += "\nreplica " + std::to_string(i) + ":\n" + replicas_[i]->log();
        for (std::size_t i = 0; i < ams_.size(); ++i) text += "\nalertmanager " + std::to_string(i) + ":\n" + ams_[i]->log();
        return text;
    }

    HttpReceiver hook_;
    TempDir dir_;
    std::string rule_file_;
    std::vector<std::unique_ptr<AlertmanagerServer>> ams_;
    std::vector<std::unique_ptr<DaemonProcess>> replicas_;
};

TEST_F(HaPair, EachAlertIsNotifiedOnceFiringAndOnceResolved) {
    ASSERT_NO_FATAL_FAILURE(expect_fired());
    ASSERT_NO_FATAL_FAILURE(resolve({replicas_[0].get(), replicas_[1].get()}));
    expect_each_notified_once();
}

TEST_F(HaPair, KillNineOfAReplicaAndOfTheFirstAlertmanagerLosesAndRepeatsNothing) {
    ASSERT_NO_FATAL_FAILURE(expect_fired());
    replicas_[0]->process().kill_hard();
    ams_[0]->kill_hard();
    // The surviving replica goes on sending to the dead Alertmanager (retried, alone)
    // and to the two others, which must now notify the resolving without it.
    ASSERT_NO_FATAL_FAILURE(resolve({replicas_[1].get()}));
    expect_each_notified_once();
}

}  // namespace
}  // namespace cargomon::testing
