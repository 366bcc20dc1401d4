// A differential test of the rule engine: the real Prometheus (Debian package) scrapes
// cargomon and loads the very rule file cargomon evaluates. Through a scripted sim
// scenario (an error spike on one workflow, then recovery) both must report the same
// alerts, with the same labels and annotations, going through the same states, and
// becoming active at the same evaluation step.
//
// Where the two may honestly differ: Prometheus sees cargomon's series one scrape later
// (scrape interval 1 s) and evaluates on its own clock phase; so a transition may land
// one evaluation interval (2 s) plus one scrape interval apart, and no more.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "common/timefmt.h"
#include "tests/daemon/daemon_process.h"
#include "tests/daemon/sim_client.h"
#include "tests/support/prom_process.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kEvaluationInterval = 2s;
constexpr auto kScrapeInterval = 1s;
constexpr auto kTolerance = kEvaluationInterval + kScrapeInterval;

// What one source says about one alert at one poll.
struct Observed {
    std::string state;  // "pending", "firing"
    SystemTime active_at;
    std::map<std::string, std::string> annotations;
    std::string value;  // as the API writes it
};

// Alert identity: its labels without the target labels Prometheus adds to scraped series
// (the shipped Prometheus config drops them before Alertmanager for the same reason).
using Identity = std::map<std::string, std::string>;

std::string show(const Identity& labels) {
    std::string out = "{";
    for (const auto& [k, v] : labels) out += (out.size() > 1 ? "," : "") + k + "=\"" + v + "\"";
    return out + "}";
}

std::map<Identity, Observed> parse_alerts(const rapidjson::Document& doc) {
    std::map<Identity, Observed> out;
    for (const auto& a : doc["data"]["alerts"].GetArray()) {
        Identity id;
        for (const auto& [k, v] : a["labels"].GetObject())
            if (std::string(k.GetString()) != "job" && std::string(k.GetString()) != "instance")
                id[k.GetString()] = v.GetString();
        Observed o;
        o.state = a["state"].GetString();
        auto active = parse_iso8601(a["activeAt"].GetString());
        if (!active) throw std::runtime_error(std::string("bad activeAt ") + a["activeAt"].GetString());
        o.active_at = *active;
        for (const auto& [k, v] : a["annotations"].GetObject()) o.annotations[k.GetString()] = v.GetString();
        o.value = a["value"].GetString();
        out[id] = std::move(o);
    }
    return out;
}

// One alert's life as one source showed it: its states in order ("inactive" once gone),
// when each began (as polled), and when each activation started (as reported).
struct History {
    std::vector<std::string> states;
    std::vector<Clock::time_point> seen;
    std::vector<SystemTime> activations;
    std::map<std::string, std::string> annotations;
    std::string value;  // the last one seen
};

class Timeline {
public:
    void record(const std::map<Identity, Observed>& now, Clock::time_point at) {
        for (const auto& [id, o] : now) {
            History& h = alerts_[id];
            if (h.states.empty() || h.states.back() != o.state) {
                if (h.states.empty() || h.states.back() == "inactive") h.activations.push_back(o.active_at);
                h.states.push_back(o.state);
                h.seen.push_back(at);
            }
            h.annotations = o.annotations;
            h.value = o.value;
        }
        for (auto& [id, h] : alerts_)
            if (!now.count(id) && h.states.back() != "inactive") {
                h.states.push_back("inactive");
                h.seen.push_back(at);
            }
    }
    const std::map<Identity, History>& alerts() const { return alerts_; }
    bool shows(const std::string& alertname, const std::string& state) const {
        for (const auto& [id, h] : alerts_)
            if (id.at("alertname") == alertname && h.states.back() == state) return true;
        return false;
    }
    bool all_inactive() const {
        for (const auto& [id, h] : alerts_)
            if (h.states.back() != "inactive" && id.at("alertname") != "DiffSeriesAbsent") return false;
        return true;
    }

private:
    std::map<Identity, History> alerts_;
};

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : " -> ") + s;
    return out;
}

template <typename D>
double seconds(D d) {
    return std::chrono::duration<double>(d).count();
}

TEST(PrometheusDifferential, SameAlertsSameStatesSameSteps) {
    SimProcess sim(SimOptions{.workflows = 3, .history = "10m", .live = true, .rate = 20});
    SimClient client(sim);
    const std::string uuid = client.busiest_workflows().at(0);

    TempDir dir;
    const std::string rules = R"(groups:
  - name: diff
    interval: 2s
    rules:
      - alert: DiffErrorRatioHigh
        expr: cargo_workflow_error_ratio{window="20s", workflow_uuid=")" + uuid + R"("} > 0.5
        for: 12s
        keep_firing_for: 12s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.workflow_name }} fails most of its runs"
      - alert: DiffManyErrors
        expr: sum by (workflow_name) (cargo_workflow_runs{window="20s", status="error"}) >= 10
        for: 12s
        keep_firing_for: 12s
        labels:
          team: '{{ $labels.workflow_name | toLower }}'
        annotations:
          summary: '{{ $labels.workflow_name | title }} has errors'
      - alert: DiffSeriesAbsent
        expr: absent(cargo_workflow_error_ratio{window="20s", workflow_uuid="no-such-workflow"})
      # Over the sample history: cargomon's holds each collection (every 2 s), Prometheus'
      # each scrape of it (every 1 s), so a value enters both windows within a scrape of
      # each other and leaves Prometheus' up to one collection later.
      - alert: DiffRatioHighWithinTenSeconds
        expr: max_over_time(cargo_workflow_error_ratio{window="20s", workflow_uuid=")" + uuid + R"("}[10s]) > 0.5
        for: 12s
        keep_firing_for: 12s
      - alert: DiffRatioWasHighTenSecondsAgo
        expr: cargo_workflow_error_ratio{window="20s", workflow_uuid=")" + uuid + R"("} offset 10s > 0.5
        for: 12s
        keep_firing_for: 12s
)";
    // `for` and `keep_firing_for` are three times the transition tolerance (kTolerance, 4 s):
    // a cargomon that ignored keep_firing_for, or halved `for`, would see its transitions
    // 6 s or more away from Prometheus' and fail, not hide inside the tolerance.
    const std::string rule_file = dir.write("diff.rules.yml", rules);
    DaemonProcess daemon("api_url: " + sim.url() + "\ntoken: " + sim.token() + R"(
client: {rate_limit: 500}
defaults: {interval: 2s, timeout: 2s, jitter: 0}
collectors:
  - {name: runs, kind: run_counts, windows: [20s]}
rule_files: [)" + rule_file + "]\n");
    // cargomon's own ALERTS series would collide with the ones Prometheus writes for the
    // same rules: the comparison is between the two evaluations, so drop the scraped copy.
    PrometheusServer prometheus(R"(global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 2s}
rule_files: [diff.rules.yml]
scrape_configs:
  - job_name: cargomon
    static_configs: [{targets: [")" + daemon.url().substr(7) + R"("]}]
    metric_relabel_configs:
      - {source_labels: [__name__], regex: "ALERTS|ALERTS_FOR_STATE", action: drop}
)",
                                {{"diff.rules.yml", rules}});

    Timeline ours, theirs;
    auto poll = [&] {
        const auto at = Clock::now();
        auto answer = daemon.get("/api/v1/alerts");
        rapidjson::Document doc;
        if (answer.status != 200 || doc.Parse(answer.body.c_str()).HasParseError())
            throw std::runtime_error("cargomon /api/v1/alerts: " + answer.body);
        ours.record(parse_alerts(doc), at);
        theirs.record(parse_alerts(prometheus.get_json("/api/v1/alerts")), at);
    };
    auto poll_until = [&](const std::function<bool()>& done, std::chrono::seconds limit, const std::string& what) {
        const auto start = Clock::now(), deadline = start + limit;
        while (true) {
            poll();
            if (done()) {
                std::cout << what << ": " << seconds(Clock::now() - start) << " s\n";
                return;
            }
            if (Clock::now() > deadline)
                throw std::runtime_error("timed out waiting for " + what + "\ncargomon log:\n" + daemon.log() +
                                         "\nprometheus log:\n" + prometheus.log());
            std::this_thread::sleep_for(200ms);
        }
    };

    // A calm start: Prometheus has the series and the workflow's ratio is low.
    poll_until(
        [&] {
            auto up = prometheus.query(R"(cargo_workflow_error_ratio{window="20s", workflow_uuid=")" + uuid + R"("} < 0.3)");
            return !up.empty() && ours.all_inactive() && theirs.all_inactive();
        },
        90s, "a calm start");
    client.post_event(R"({"kind": "error_spike", "workflow": ")" + uuid + R"(", "error_rate": 0.95, "for": "10m"})");
    poll_until([&] { return ours.shows("DiffErrorRatioHigh", "firing") && theirs.shows("DiffErrorRatioHigh", "firing"); },
               90s, "DiffErrorRatioHigh firing in both");
    client.clear_events();
    poll_until([&] { return ours.all_inactive() && theirs.all_inactive(); }, 90s, "every alert resolved in both");
    // Two more evaluations: nothing comes back.
    const auto settle = Clock::now() + 2 * kEvaluationInterval;
    while (Clock::now() < settle) {
        poll();
        std::this_thread::sleep_for(200ms);
    }

    std::string everything = "\ncargomon:";
    for (const auto& [id, h] : ours.alerts()) everything += "\n  " + show(id) + ": " + joined(h.states);
    everything += "\nprometheus:";
    for (const auto& [id, h] : theirs.alerts()) everything += "\n  " + show(id) + ": " + joined(h.states);
    std::cout << everything << "\n";

    ASSERT_EQ(ours.alerts().size(), theirs.alerts().size());
    for (const auto& [id, mine] : ours.alerts()) {
        SCOPED_TRACE(show(id));
        auto it = theirs.alerts().find(id);
        ASSERT_NE(it, theirs.alerts().end()) << "Prometheus never had this alert";
        const History& other = it->second;
        EXPECT_EQ(joined(mine.states), joined(other.states));
        EXPECT_EQ(mine.annotations, other.annotations);
        ASSERT_EQ(mine.activations.size(), other.activations.size());
        for (std::size_t i = 0; i < mine.activations.size(); ++i)
            std::cout << show(id) << " activeAt cargomon - prometheus: "
                      << seconds(mine.activations[i] - other.activations[i]) << " s\n";
        for (std::size_t i = 0; i < mine.activations.size(); ++i)
            EXPECT_LE(std::abs(seconds(mine.activations[i] - other.activations[i])), seconds(kTolerance))
                << "activeAt " << format_iso8601(mine.activations[i]) << " vs " << format_iso8601(other.activations[i]);
        if (mine.states != other.states) continue;
        // Each later transition (firing, resolved) seen at about the same time.
        for (std::size_t i = 1; i < mine.states.size(); ++i)
            EXPECT_LE(std::abs(seconds(mine.seen[i] - other.seen[i])), seconds(kTolerance + 1s))
                << mine.states[i] << " seen " << seconds(mine.seen[i] - other.seen[i]) << " s apart";
    }
    // The scenario did what it is for: the spike's alert went pending, fired and resolved.
    const Identity spiked = [&] {
        for (const auto& [id, h] : ours.alerts())
            if (id.at("alertname") == "DiffErrorRatioHigh") return id;
        return Identity{};
    }();
    ASSERT_FALSE(spiked.empty());
    // A constant value is written the same way (Go's 'e' format) by both APIs.
    for (const auto& [id, h] : ours.alerts())
        if (id.at("alertname") == "DiffSeriesAbsent") {
            EXPECT_EQ(h.value, theirs.alerts().at(id).value);
        }
    EXPECT_EQ(joined(ours.alerts().at(spiked).states), "pending -> firing -> inactive");
    EXPECT_EQ(spiked.at("severity"), "page");
    EXPECT_EQ(spiked.at("workflow_uuid"), uuid);

    // /api/v1/rules in Prometheus' shape: the same group and rules, settings and states.
    // (`query` differs in spacing: Prometheus prints the parsed expression.)
    auto rules_of = [](const rapidjson::Document& doc) {
        std::map<std::string, std::string> out;  // rule name -> what both must agree on
        for (const auto& g : doc["data"]["groups"].GetArray())
            for (const auto& r : g["rules"].GetArray()) {
                std::string labels;
                for (const auto& [k, v] : r["labels"].GetObject())
                    labels += std::string(k.GetString()) + "=" + v.GetString() + ";";
                out[r["name"].GetString()] = std::string(g["name"].GetString()) + " " + r["type"].GetString() + " " +
                                             r["state"].GetString() + " for=" + std::to_string(r["duration"].GetDouble()) +
                                             " keep=" + std::to_string(r["keepFiringFor"].GetDouble()) + " " + labels +
                                             " alerts=" + std::to_string(r["alerts"].Size());
            }
        return out;
    };
    auto our_rules = daemon.get("/api/v1/rules");
    rapidjson::Document ours_doc;
    ASSERT_FALSE(our_rules.status != 200 || ours_doc.Parse(our_rules.body.c_str()).HasParseError()) << our_rules.body;
    const auto mine_rules = rules_of(ours_doc);
    EXPECT_EQ(mine_rules, rules_of(prometheus.get_json("/api/v1/rules")));
    EXPECT_EQ(mine_rules.size(), 5u);
    // The range and offset rules went through the scenario too, not just stayed silent.
    for (const char* name : {"DiffRatioHighWithinTenSeconds", "DiffRatioWasHighTenSecondsAgo"}) {
        bool fired = false;
        for (const auto& [id, h] : ours.alerts())
            if (id.at("alertname") == name) fired = joined(h.states) == "pending -> firing -> inactive";
        EXPECT_TRUE(fired) << name << " did not go pending, firing and inactive in cargomon";
    }
}

}  // namespace
}  // namespace cargomon::testing
