// The guarded automatic re-runs (docs/actions.md) of the real daemon against the real sim:
// what is re-run is exactly the runs that failed with a transient error; a batch with
// none is skipped; the daily budget stops the second re-run of a workflow; a batch is
// decided once across restarts; a crash between recording an action and the API's answer
// is settled from the API and never creates a second batch; a create whose answer is lost
// is found and recorded; two replicas create each re-run once and never re-run a re-run;
// a lost state database re-runs nothing that finished before it was lost; a standby
// replica does nothing; a dry run creates nothing; a bad section on reload keeps the
// running one; the API's notEnoughCredits refusal is recorded. Ground truth comes from the
// sim's SQL.
//
// The sim's history finished before any daemon started, so before the actions epoch:
// each case makes the batches it needs finish again after its daemons started (a new
// version of their rows in the sim's ClickHouse), as batches finishing while cargomon runs.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "tests/daemon/daemon_process.h"
#include "tests/daemon/sim_client.h"
#include "tests/daemon/sim_environment.h"
#include "tests/daemon/warehouse.h"
#include "tests/support/environment_main.h"
#include "tests/support/temp_dir.h"

namespace cargomon::testing {
namespace {

using namespace std::chrono_literals;

const Labels kRerun{{"action", "rerun_failed_records"}};
// The sim counts POST /orchestration/batches under its path (GETs have longer ones).
constexpr const char* kCreate = "/v1/orchestration/batches";

// What the daemon should decide, computed from the sim's tables: a workflow W whose
// failed batches include at least two with a failure of `message` (the rule's transient
// error), and another workflow W2 whose rule calls nothing transient.
struct Truth {
    std::string w, w2;
    std::string message;
    std::vector<std::string> transient;  // W's batches with a failure of `message`, oldest first
    std::vector<std::string> other;      // every other candidate batch of W and W2
    std::map<std::string, std::set<std::string>> runs;  // batch -> its runs that failed with `message`
};

Truth find_truth(const SimClient& sim) {
    // Candidates in the engine's order once they all finish again in the same second
    // (Warehouse::refinish): success batches with failed runs, oldest first, so by uuid.
    const auto batches = sim.sql(
        "SELECT uuid, workflow_uuid FROM batches WHERE status = 'success' AND failed_runs_count > 0 ORDER BY uuid");
    const auto failed = sim.sql("SELECT batch_uuid, uuid, error_message FROM runs WHERE status = 'error'");
    std::map<std::string, std::vector<std::string>> by_workflow;  // in order
    for (const auto& b : batches) by_workflow[b.at("workflow_uuid")].push_back(b.at("uuid"));
    std::map<std::string, std::map<std::string, std::set<std::string>>> by_message;  // batch -> message -> runs
    for (const auto& r : failed) by_message[r.at("batch_uuid")][r.at("error_message")].insert(r.at("uuid"));

    Truth best;
    for (const auto& [w, list] : by_workflow) {
        std::map<std::string, int> batches_with;  // message -> W's batches that have it
        for (const auto& b : list)
            for (const auto& [m, _] : by_message[b]) ++batches_with[m];
        for (const auto& [m, n] : batches_with)
            if (n >= 2 && !m.empty() && (best.w.empty() || n > static_cast<int>(best.transient.size()))) {
                best = {.w = w, .message = m};
                best.transient.assign(n, "");
            }
    }
    if (best.w.empty()) throw std::runtime_error("the sim's history has no workflow with two batches failing alike");
    best.transient.clear();
    for (const auto& b : by_workflow[best.w]) {
        auto it = by_message[b].find(best.message);
        if (it == by_message[b].end()) best.other.push_back(b);
        else best.transient.push_back(b), best.runs[b] = it->second;
    }
    for (const auto& [w, list] : by_workflow)
        if (w != best.w && best.w2.empty()) {
            best.w2 = w;
            best.other.insert(best.other.end(), list.begin(), list.end());
        }
    if (best.w2.empty()) throw std::runtime_error("the sim's history has one workflow with failed batches");
    return best;
}

// `text` as an RE2 pattern matching it literally, fit for a single-quoted YAML scalar.
std::string literal_pattern(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (std::string_view("\\.^$|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
        if (c == '\'') out += '\'';
        out += c;
    }
    return out;
}

struct Knobs {
    std::string interval = "1s";
    int max_reruns = 1;  // max_reruns_per_day_per_workflow
};

std::string config(const SimProcess& sim, const Truth& t, const std::string& mode, const Knobs& knobs = {}) {
    return "api_url: " + sim.url() + "\ntoken: " + sim.token() +
           "\nclient: {rate_limit: 500}\ndefaults: {interval: 2s, timeout: 2s, jitter: 0}\n"
           "collectors:\n  - {name: discovery, kind: discovery}\n"
           "actions:\n  mode: " + mode + "\n  interval: " + knobs.interval + "\n  lookback: 2d\n  rules:\n"
           "    - name: transient\n      action: rerun_failed_records\n"
           "      matchers: ['workflow_uuid=\"" + t.w + "\"']\n"
           "      transient_errors: ['" + literal_pattern(t.message) + "']\n"
           "      max_records_per_rerun: 10000\n      max_reruns_per_day_per_workflow: " +
           std::to_string(knobs.max_reruns) + "\n"
           "      max_credits_per_day: 1000000000\n"
           "    - name: never\n      action: rerun_failed_records\n"
           "      matchers: ['workflow_uuid=\"" + t.w2 + "\"']\n"
           "      transient_errors: ['no error ever says this']\n";
}

using Item = std::map<std::string, std::string>;  // one listed action, every field as text ("" for null)

std::vector<Item> listed(const DaemonProcess& d) {
    const HttpAnswer answer = d.get("/api/v1/actions");
    if (answer.status != 200) throw std::runtime_error("/api/v1/actions: " + std::to_string(answer.status));
    rapidjson::Document doc;
    doc.Parse(answer.body.c_str());
    if (doc.HasParseError() || std::string(doc["status"].GetString()) != "success")
        throw std::runtime_error("/api/v1/actions: " + answer.body);
    std::vector<Item> out;
    for (const auto& a : doc["data"]["actions"].GetArray()) {
        Item item;
        for (const auto& m : a.GetObject()) {
            const auto& v = m.value;
            item[m.name.GetString()] = v.IsString() ? v.GetString()
                                       : v.IsNull() ? ""
                                       : v.IsDouble() ? std::to_string(v.GetDouble())
                                                      : std::to_string(v.GetInt64());
        }
        out.push_back(std::move(item));
    }
    return out;
}

std::map<std::string, Item> by_batch(const std::vector<Item>& items) {
    std::map<std::string, Item> out;
    for (const auto& i : items) out[i.at("batchUuid")] = i;
    return out;
}

// Polls until `done` holds of the listed actions; throws with the daemon's log after 60 s.
std::vector<Item> wait_listed(const DaemonProcess& d, const std::function<bool(const std::vector<Item>&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (true) {
        auto items = listed(d);
        if (done(items)) return items;
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("the actions never got there; daemon log:\n" + d.log());
        std::this_thread::sleep_for(100ms);
    }
}

// Every candidate batch of `t` decided, and its create answered when it made one, by
// batch uuid (with whatever else was decided).
std::map<std::string, Item> all_decided(const DaemonProcess& d, const Truth& t) {
    return by_batch(wait_listed(d, [&](const auto& items) {
        const auto decided = by_batch(items);
        for (const auto* list : {&t.transient, &t.other})
            for (const auto& b : *list)
                if (!decided.count(b) || decided.at(b).at("state") == "pending") return false;
        return true;
    }));
}

// Two whole cycles after now: what the daemon would still decide, it has.
void wait_two_cycles(const DaemonProcess& d) {
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    d.scrape_until([&](const Scrape& s) {
        return s.value("cargomon_actions_last_cycle_timestamp_seconds").value_or(0) > now + 1.5;
    });
}

double counted(const Scrape& s, const std::string& result) {
    Labels labels = kRerun;
    labels["result"] = result;
    return s.value("cargomon_actions_total", labels).value_or(0);
}

// Batches in the sim re-running `batch` (their data names it).
int reruns_of(const SimClient& sim, const std::string& batch) {
    return std::stoi(sim.sql("SELECT count() AS n FROM batches WHERE position(data, '" + batch + "') > 0")[0].at("n"));
}

std::vector<std::string> candidates(const Truth& t) {
    std::vector<std::string> out = t.transient;
    out.insert(out.end(), t.other.begin(), t.other.end());
    return out;
}

class Env : public SimEnvironment {
public:
    Env() : SimEnvironment({.workflows = 10, .history = "1d"}) {}
    void SetUp() override {
        SimEnvironment::SetUp();
        truth = find_truth(*client);
        warehouse = std::make_unique<Warehouse>(*sim);
    }
    void TearDown() override {
        warehouse.reset();
        SimEnvironment::TearDown();
    }
    // The candidates of the truth finish now: after the epoch of every daemon started so far.
    // Until the guard goes: then they finished an hour ago, before the epoch of any daemon
    // a later case starts (a minute ahead, they would be candidates for it too).
    class Finished {
    public:
        Finished(const Warehouse& w, std::vector<std::string> batches) : w_(w), batches_(std::move(batches)) {}
        ~Finished() {
            try {
                w_.refinish(batches_, -3600);
            } catch (const std::exception& e) {
                ADD_FAILURE() << "the candidates stay finished ahead: " << e.what();
            }
        }
        Finished(const Finished&) = delete;
        Finished& operator=(const Finished&) = delete;

    private:
        const Warehouse& w_;
        std::vector<std::string> batches_;
    };
    [[nodiscard]] std::unique_ptr<Finished> finish_candidates(int ahead = 60) const {
        warehouse->refinish(candidates(truth), ahead);
        return std::make_unique<Finished>(*warehouse, candidates(truth));
    }
    Truth truth;
    std::unique_ptr<Warehouse> warehouse;
};

Env* env = nullptr;

TEST(ActionsE2e, RerunsExactlyTheTransientFailuresOncePerBatchWithinBudgetAcrossARestart) {
    const Truth& t = env->truth;
    const auto creates_before = env->client->requests(kCreate);
    const int reruns_before = reruns_of(*env->client, t.transient[0]);  // the history has re-runs too
    const TempDir state;  // outlives both daemons (each removes its own temp dir)
    const std::string storage = state.file("storage");
    std::string created;
    std::unique_ptr<Env::Finished> finished;  // for both daemons
    {
        DaemonProcess d(config(*env->sim, t, "enabled"), {.storage_path = storage});
        finished = env->finish_candidates();
        const auto items = all_decided(d, t);
        // The oldest batch with a transient failure is re-run, with exactly those runs.
        const Item& first = items.at(t.transient[0]);
        EXPECT_EQ(first.at("state"), "done");
        EXPECT_EQ(first.at("result"), "created");
        EXPECT_EQ(first.at("mode"), "enabled");
        EXPECT_EQ(first.at("rule"), "transient");
        EXPECT_EQ(first.at("workflowUuid"), t.w);
        EXPECT_EQ(first.at("records"), std::to_string(t.runs.at(t.transient[0]).size()));
        created = first.at("createdBatchUuid");
        ASSERT_FALSE(created.empty());
        const auto data = env->client->sql("SELECT data, workflow_uuid FROM batches WHERE uuid = '" + created + "'");
        ASSERT_EQ(data.size(), 1u);
        EXPECT_EQ(data[0].at("workflow_uuid"), t.w);
        rapidjson::Document body;
        body.Parse(data[0].at("data").c_str());
        ASSERT_FALSE(body.HasParseError()) << data[0].at("data");
        EXPECT_EQ(std::string(body["kind"].GetString()), "runs");
        EXPECT_EQ(std::string(body["filter"]["batchUuid"].GetString()), t.transient[0]);
        std::set<std::string> uuids;
        for (const auto& u : body["filter"]["uuids"].GetArray()) uuids.insert(u.GetString());
        EXPECT_EQ(uuids, t.runs.at(t.transient[0]));
        // The workflow's next ones hit max_reruns_per_day_per_workflow: 1.
        for (std::size_t i = 1; i < t.transient.size(); ++i) {
            const Item& later = items.at(t.transient[i]);
            EXPECT_EQ(later.at("state"), "skipped");
            EXPECT_EQ(later.at("result"), "skipped_budget");
            EXPECT_NE(later.at("reason").find("max_reruns_per_day_per_workflow 1"), std::string::npos)
                << later.at("reason");
        }
        // Batches without a transient failure are skipped, saying why.
        for (const auto& b : t.other) {
            const Item& skipped = items.at(b);
            EXPECT_EQ(skipped.at("result"), "skipped_non_transient") << b;
            EXPECT_NE(skipped.at("reason").find("failed with a transient error"), std::string::npos);
            EXPECT_EQ(skipped.at("createdBatchUuid"), "");
        }
        const Scrape s = d.scrape();
        EXPECT_EQ(counted(s, "created"), 1);
        EXPECT_EQ(counted(s, "skipped_budget"), static_cast<double>(t.transient.size() - 1));
        EXPECT_EQ(counted(s, "skipped_non_transient"), static_cast<double>(t.other.size()));
        EXPECT_NE(d.log().find("action rerun_failed_records created: rule=transient mode=enabled batch=" +
                               t.transient[0]),
                  std::string::npos)
            << d.log();
        EXPECT_EQ(env->client->requests(kCreate), creates_before + 1);

        // The re-run is followed to its end: nothing is concluded while it is pending, and
        // once it finished with every run well, it is recorded as having recovered them.
        EXPECT_EQ(first.at("outcome"), "");
        const int records = std::stoi(first.at("records"));
        env->warehouse->finish(created, records, 0);
        const auto followed = by_batch(wait_listed(d, [&](const auto& items) {
            return by_batch(items).at(t.transient[0]).at("outcome") == "recovered";
        }));
        EXPECT_EQ(followed.at(t.transient[0]).at("recoveredRuns"), std::to_string(records));
        EXPECT_EQ(followed.at(t.transient[0]).at("stillFailingRuns"), "0");
        Labels recovered = kRerun;
        recovered["result"] = "recovered";
        EXPECT_EQ(d.scrape().value("cargomon_actions_outcome_total", recovered).value_or(0), 1.0);
        EXPECT_NE(d.log().find("action rerun_failed_records outcome recovered: batch=" + t.transient[0]),
                  std::string::npos)
            << d.log();
    }
    // Started again on the same state, with a budget that would allow more re-runs: every
    // batch was decided, so none is looked at again (not even to be refused by the table's
    // one row per batch, which would log "not decided this cycle"), nothing is asked twice.
    DaemonProcess again(config(*env->sim, t, "enabled", {.max_reruns = 100}), {.storage_path = storage});
    wait_two_cycles(again);
    EXPECT_EQ(again.log().find("not decided this cycle"), std::string::npos) << again.log();
    EXPECT_EQ(listed(again).size(), t.transient.size() + t.other.size());
    EXPECT_EQ(env->client->requests(kCreate), creates_before + 1);
    EXPECT_EQ(reruns_of(*env->client, t.transient[0]), reruns_before + 1);
    EXPECT_EQ(counted(again.scrape(), "created"), 0);
    // The outcome was recorded once: a restart does not follow the re-run again.
    Labels recovered = kRerun;
    recovered["result"] = "recovered";
    EXPECT_EQ(again.scrape().value("cargomon_actions_outcome_total", recovered).value_or(0), 0.0);
    EXPECT_EQ(by_batch(listed(again)).at(t.transient[0]).at("outcome"), "recovered");
}

TEST(ActionsE2e, ADryRunLogsCountsAndListsWhatItWouldDoAndCreatesNothing) {
    const Truth& t = env->truth;
    const auto creates_before = env->client->requests(kCreate);
    DaemonProcess d(config(*env->sim, t, "dry_run"));
    const auto finished = env->finish_candidates();
    const auto items = all_decided(d, t);
    const Item& first = items.at(t.transient[0]);
    EXPECT_EQ(first.at("state"), "dry_run");
    EXPECT_EQ(first.at("result"), "dry_run");
    EXPECT_EQ(first.at("mode"), "dry_run");
    EXPECT_EQ(first.at("records"), std::to_string(t.runs.at(t.transient[0]).size()));
    EXPECT_EQ(first.at("createdBatchUuid"), "");
    // Budgets apply to a dry run as they would for real.
    if (t.transient.size() > 1) {
        EXPECT_EQ(items.at(t.transient[1]).at("result"), "skipped_budget");
    }
    const Scrape s = d.scrape();
    EXPECT_EQ(counted(s, "dry_run"), 1);
    EXPECT_EQ(counted(s, "created"), 0);
    EXPECT_NE(d.log().find("action rerun_failed_records dry_run: rule=transient mode=dry_run batch=" + t.transient[0]),
              std::string::npos)
        << d.log();
    wait_two_cycles(d);
    EXPECT_EQ(env->client->requests(kCreate), creates_before);
}

TEST(ActionsE2e, ACrashBetweenRecordingAndTheAnswerIsSettledFromTheApiNeverRepeated) {
    const Truth& t = env->truth;
    const int reruns_before = reruns_of(*env->client, t.transient[0]);
    const auto creates_before = env->client->requests(kCreate);
    // The create request is held: the kill lands while it is in flight.
    env->client->put_fault(std::string(R"({"endpoint": ")") + kCreate + R"(", "latency": "5s"})");
    const TempDir state;
    const std::string storage = state.file("storage");
    std::unique_ptr<Env::Finished> finished;  // for both daemons
    {
        DaemonProcess d(config(*env->sim, t, "enabled"), {.storage_path = storage});
        finished = env->finish_candidates();
        wait_listed(d, [&](const auto& items) {
            for (const auto& i : items)
                if (i.at("state") == "pending") return true;
            return false;
        });
        d.process().kill_hard();
    }
    env->client->clear_faults();
    // The held request is answered (to nobody) once its latency is over: counted from then on.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (env->client->requests(kCreate) < creates_before + 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    ASSERT_EQ(env->client->requests(kCreate), creates_before + 1);
    DaemonProcess again(config(*env->sim, t, "enabled"), {.storage_path = storage});
    // The held request created its batch (the sim's faults act after the handler): the
    // look-up finds it and records it.
    const auto items = by_batch(wait_listed(again, [&](const auto& items) {
        for (const auto& i : items)
            if (i.at("batchUuid") == t.transient[0]) return i.at("state") == "done";
        return false;
    }));
    const Item& first = items.at(t.transient[0]);
    EXPECT_EQ(first.at("state"), "done");
    EXPECT_EQ(first.at("result"), "reconciled");
    const auto made = env->client->sql("SELECT uuid FROM batches WHERE position(data, '" + t.transient[0] +
                                       "') > 0 ORDER BY created_at DESC, uuid DESC LIMIT 1");
    ASSERT_EQ(made.size(), 1u);
    EXPECT_EQ(first.at("createdBatchUuid"), made[0].at("uuid"));
    EXPECT_NE(first.at("reason").find("never retried automatically"), std::string::npos) << first.at("reason");
    const Scrape settled = again.scrape();
    EXPECT_EQ(counted(settled, "interrupted"), 1);
    EXPECT_EQ(settled.value("cargomon_actions_reconciled_total",
                            {{"action", "rerun_failed_records"}, {"outcome", "found"}}),
              1);
    EXPECT_NE(again.log().find("ACTION INTERRUPTED: rerun_failed_records of batch " + t.transient[0]), std::string::npos)
        << again.log();
    // The interrupted one counts against the budget: the workflow's other batches wait for tomorrow.
    const auto all = all_decided(again, t);
    for (std::size_t i = 1; i < t.transient.size(); ++i) EXPECT_EQ(all.at(t.transient[i]).at("result"), "skipped_budget");
    wait_two_cycles(again);
    EXPECT_EQ(env->client->requests(kCreate), creates_before + 1);
    // The held request reached the sim (its faults act after the handler): once, never twice.
    EXPECT_EQ(reruns_of(*env->client, t.transient[0]), reruns_before + 1);
}

TEST(ActionsE2e, ABadSectionOnReloadKeepsTheRunningOneAndAGoodOneSwapsIt) {
    const Truth& t = env->truth;
    const auto creates_before = env->client->requests(kCreate);
    DaemonProcess d(config(*env->sim, t, "dry_run"), {.extra_args = {"--web.enable-lifecycle"}});
    const auto finished = env->finish_candidates();
    all_decided(d, t);
    // A pattern RE2 refuses: the reload fails, naming where, and the dry run goes on.
    std::string bad = config(*env->sim, t, "enabled");
    bad.replace(bad.find("no error ever says this"), 23, "(unclosed");
    d.write_config(bad);
    const HttpAnswer refused = d.post("/-/reload");
    EXPECT_EQ(refused.status, 500);
    EXPECT_NE(refused.body.find("cargomon.yml:"), std::string::npos) << refused.body;
    EXPECT_NE(refused.body.find("bad regex"), std::string::npos) << refused.body;
    EXPECT_EQ(d.scrape().value("cargomon_config_last_reload_successful"), 0);
    wait_two_cycles(d);
    EXPECT_EQ(env->client->requests(kCreate), creates_before);
    // Enabled by a good reload: the batches the dry run decided are decided again, for real, once.
    d.write_config(config(*env->sim, t, "enabled"));
    EXPECT_EQ(d.post("/-/reload").status, 200);
    wait_listed(d, [&](const auto& items) { return items.size() == 2 * (t.transient.size() + t.other.size()); });
    EXPECT_EQ(counted(d.scrape(), "created"), 1);
    EXPECT_EQ(env->client->requests(kCreate), creates_before + 1);
}

// The engine's client shares the collectors' brakes: a Retry-After the API answers to the
// discovery collector holds the engine's queries too (the limit is the token's, whoever
// asks), and they go on once it has passed.
TEST(ActionsE2e, ARetryAfterAnsweredToTheCollectorsHoldsTheActions) {
    const std::string query = "/v1/orchestration/query";
    DaemonProcess d(config(*env->sim, env->truth, "dry_run"));
    wait_two_cycles(d);  // the engine queries every second from now on
    env->client->put_fault(R"({"endpoint": "/v1/orchestration/workflows/list", "throttle_ratio": 1, "retry_after": "12s"})");
    const Labels throttled{{"endpoint", "/orchestration/workflows/list"}, {"code", "429"}};
    d.scrape_until([&](const Scrape& s) { return s.value("cargomon_api_requests_total", throttled).value_or(0) >= 1; });
    env->client->clear_faults();
    const auto held_from = env->client->requests(query);
    std::this_thread::sleep_for(8s);
    // One may have been on its way when the 429 was answered; unpaced, eight would have come.
    EXPECT_LE(env->client->requests(query) - held_from, 1u) << d.log();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (env->client->requests(query) <= held_from + 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    EXPECT_GT(env->client->requests(query), held_from + 1) << "the actions never asked again\n" << d.log();
}

TEST(ActionsE2e, NotEnoughCreditsIsRecordedAsARefusal) {
    SimProcess poor({.workflows = 10, .history = "1d", .extra_args = {"--credits", "1"}});
    SimClient client(poor);
    const Truth t = find_truth(client);
    const int reruns_before = reruns_of(client, t.transient[0]);  // the history has re-runs too
    DaemonProcess d(config(poor, t, "enabled"));
    Warehouse(poor).refinish(candidates(t));
    const auto items = all_decided(d, t);
    const Item& first = items.at(t.transient[0]);
    EXPECT_EQ(first.at("state"), "failed");
    EXPECT_EQ(first.at("result"), "refused");
    EXPECT_NE(first.at("reason").find("notEnoughCredits"), std::string::npos) << first.at("reason");
    EXPECT_EQ(first.at("createdBatchUuid"), "");
    EXPECT_EQ(counted(d.scrape(), "refused"), 1);
    EXPECT_EQ(reruns_of(client, t.transient[0]), reruns_before);
}


// Two replicas with the same config, each its own state, both acting: the one that looks
// second finds each re-run the first made in the workflow's batches and records it, and
// neither re-runs a re-run when it finishes with the same failures.
TEST(ActionsE2e, TwoReplicasCreateEachRerunOnceAndNeverRerunARerun) {
    const Truth& t = env->truth;
    const Knobs all{.max_reruns = 100};
    std::map<std::string, int> before;
    for (const auto& b : t.transient) before[b] = reruns_of(*env->client, b);
    const auto creates_before = env->client->requests(kCreate);
    DaemonProcess first(config(*env->sim, t, "enabled", all));
    // The second looks once at start, then not for an hour, until its reload: it cannot
    // look at the very moment the first does (that race is docs/actions.md's).
    DaemonProcess second(config(*env->sim, t, "enabled", {.interval = "1h", .max_reruns = 100}),
                         {.extra_args = {"--web.enable-lifecycle"}});
    const auto finished = env->finish_candidates();
    const auto made = all_decided(first, t);
    for (const auto& b : t.transient) ASSERT_EQ(made.at(b).at("result"), "created") << b;
    second.write_config(config(*env->sim, t, "enabled", all));
    ASSERT_EQ(second.post("/-/reload").status, 200);
    const auto found = all_decided(second, t);
    for (const auto& b : t.transient) {
        const Item& item = found.at(b);
        EXPECT_EQ(item.at("state"), "skipped") << b;
        EXPECT_EQ(item.at("result"), "skipped_already_rerun") << b;
        EXPECT_EQ(item.at("createdBatchUuid"), made.at(b).at("createdBatchUuid")) << b;
        EXPECT_EQ(reruns_of(*env->client, b), before[b] + 1) << b;
    }
    EXPECT_EQ(env->client->requests(kCreate), creates_before + t.transient.size());
    EXPECT_EQ(counted(second.scrape(), "skipped_already_rerun"), static_cast<double>(t.transient.size()));
    EXPECT_EQ(counted(second.scrape(), "created"), 0);

    // Re-runs end with the same failures as the batch they re-ran: the first's own (both
    // know it: the first made it, the second found it), and one a person made by hand
    // with `cargomon batch rerun` (neither made it: its data says it is a re-run).
    const std::string rerun = made.at(t.transient[0]).at("createdBatchUuid");
    const TempDir dir;
    const CommandResult by_hand = run_cargomon(
        {"batch", "rerun", t.transient[0], "--yes", "--config.file", dir.write("cargomon.yml", config(*env->sim, t, "enabled"))});
    ASSERT_EQ(by_hand.exit_code, 0) << by_hand.output;
    const auto at = by_hand.output.find("Created batch ");
    ASSERT_NE(at, std::string::npos) << by_hand.output;
    const std::string hand = by_hand.output.substr(at + 14, 36);
    env->warehouse->fail_like(rerun, t.transient[0]);
    env->warehouse->fail_like(hand, t.transient[0]);
    for (const DaemonProcess* d : {&first, &second}) {
        const auto settled = by_batch(wait_listed(*d, [&](const auto& items) {
            for (const auto& i : items)
                if (i.at("batchUuid") == hand) return true;
            return false;
        }));
        EXPECT_EQ(settled.at(hand).at("result"), "skipped_is_rerun");
        EXPECT_NE(settled.at(hand).at("reason").find(t.transient[0]), std::string::npos) << settled.at(hand).at("reason");
        wait_two_cycles(*d);
        EXPECT_EQ(by_batch(listed(*d)).count(rerun), 0u);  // known for what it is: not even looked at
    }
    EXPECT_EQ(reruns_of(*env->client, rerun), 0);
    EXPECT_EQ(reruns_of(*env->client, hand), 0);
    EXPECT_EQ(env->client->requests(kCreate), creates_before + t.transient.size() + 1);
}

// The sim creates the batch, then cuts the connection before answering: the create is
// uncertain, and the next cycle finds the batch in the workflow's list and records it.
TEST(ActionsE2e, ACreateWhoseAnswerIsLostIsFoundAndNeverRepeated) {
    const Truth& t = env->truth;
    const int reruns_before = reruns_of(*env->client, t.transient[0]);
    const auto creates_before = env->client->requests(kCreate);
    env->client->put_fault(std::string(R"({"endpoint": ")") + kCreate + R"(", "reset_ratio": 1})");
    DaemonProcess d(config(*env->sim, t, "enabled"));
    const auto finished = env->finish_candidates();
    const auto items = by_batch(wait_listed(d, [&](const auto& items) {
        for (const auto& i : items)
            if (i.at("batchUuid") == t.transient[0]) return i.at("state") == "done";
        return false;
    }));
    env->client->clear_faults();
    const Item& first = items.at(t.transient[0]);
    EXPECT_EQ(first.at("result"), "reconciled");
    const auto made = env->client->sql("SELECT uuid FROM batches WHERE position(data, '" + t.transient[0] +
                                       "') > 0 ORDER BY created_at DESC, uuid DESC LIMIT 1");
    ASSERT_EQ(made.size(), 1u);
    EXPECT_EQ(first.at("createdBatchUuid"), made[0].at("uuid"));
    const Scrape s = d.scrape();
    EXPECT_EQ(counted(s, "uncertain"), 1);
    EXPECT_EQ(s.value("cargomon_actions_reconciled_total", {{"action", "rerun_failed_records"}, {"outcome", "found"}}), 1);
    EXPECT_NE(d.log().find("action rerun_failed_records uncertain: rule=transient mode=enabled batch=" + t.transient[0]),
              std::string::npos)
        << d.log();
    wait_two_cycles(d);
    EXPECT_EQ(env->client->requests(kCreate), creates_before + 1);
    EXPECT_EQ(reruns_of(*env->client, t.transient[0]), reruns_before + 1);
}

// The state database lost (emptied, or cut short) after a re-run: the restart says so,
// sets the epoch to now, and decides nothing that finished before.
TEST(ActionsE2e, ALostStateDatabaseRerunsNothingThatFinishedBefore) {
    const Truth& t = env->truth;
    for (const bool truncated : {false, true}) {
        SCOPED_TRACE(truncated ? "truncated" : "empty");
        const TempDir state;
        const std::string storage = state.file("storage");
        const std::string file = storage + "/cargomon.db";
        std::unique_ptr<Env::Finished> finished;  // for both daemons
        {
            DaemonProcess d(config(*env->sim, t, "enabled"), {.storage_path = storage});
            // Finished a second from now (after this daemon's epoch, before the next's):
            // a re-run an earlier case made may be found, or one is created.
            finished = env->finish_candidates(1);
            all_decided(d, t);
        }  // SIGTERM: the WAL is checkpointed into the file and removed
        const double finished_at = std::stod(env->client->sql(
            "SELECT toUnixTimestamp(finished_at) AS f FROM batches WHERE uuid = '" + t.transient[0] + "'")[0].at("f"));
        while (std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() < finished_at + 1)
            std::this_thread::sleep_for(100ms);
        for (const char* side : {"-wal", "-shm"}) std::filesystem::remove(file + side);
        if (truncated) std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
        else std::filesystem::resize_file(file, 0);
        const int reruns_before = reruns_of(*env->client, t.transient[0]);
        const auto creates_before = env->client->requests(kCreate);
        DaemonProcess again(config(*env->sim, t, "enabled"), {.storage_path = storage});
        wait_two_cycles(again);
        EXPECT_TRUE(listed(again).empty());
        EXPECT_EQ(env->client->requests(kCreate), creates_before);
        EXPECT_EQ(reruns_of(*env->client, t.transient[0]), reruns_before);
        EXPECT_EQ(again.scrape().value("cargomon_state_db_recovered_total"), 1);
        EXPECT_NE(again.log().find("STATE DATABASE UNUSABLE: " + file), std::string::npos) << again.log();
        EXPECT_NE(again.log().find("actions: " + file + " has no actions epoch"), std::string::npos) << again.log();
    }
}

// check-config refuses what would act on every workflow or call every failure transient.
TEST(ActionsE2e, CheckConfigRefusesRulesThatMatchEverything) {
    const TempDir dir;
    const std::string file = dir.write("cargomon.yml", "api_url: http://127.0.0.1:9\ntoken: t\n"
                                                       "actions:\n  rules:\n"
                                                       "    - name: all\n      action: rerun_failed_records\n"
                                                       "      matchers: []\n      transient_errors: ['.*']\n");
    const CommandResult result = run_cargomon({"check-config", file});
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find(file + ":7:17: matchers must name at least one matcher"), std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find(file + ":8:26: transient error pattern \".*\" would call every failure transient"),
              std::string::npos)
        << result.output;
}

// --actions.enabled=false: a standby replica with the same config decides nothing while
// the active one acts.
TEST(ActionsE2e, AStandbyReplicaDoesNothing) {
    const Truth& t = env->truth;
    const auto creates_before = env->client->requests(kCreate);
    DaemonProcess standby(config(*env->sim, t, "enabled"), {.extra_args = {"--actions.enabled=false"}});
    DaemonProcess active(config(*env->sim, t, "enabled"));
    const auto finished = env->finish_candidates();
    all_decided(active, t);
    wait_two_cycles(active);
    EXPECT_TRUE(listed(standby).empty());
    EXPECT_EQ(standby.scrape().value("cargomon_actions_last_cycle_timestamp_seconds").value_or(0), 0);
    EXPECT_NE(standby.log().find("actions: off on this replica (--actions.enabled=false)"), std::string::npos)
        << standby.log();
    EXPECT_EQ(env->client->requests(kCreate), creates_before + 1);
}

}  // namespace
}  // namespace cargomon::testing

int main(int argc, char** argv) {
    return cargomon::testing::run_with_environment(argc, argv, cargomon::testing::env, new cargomon::testing::Env);
}
