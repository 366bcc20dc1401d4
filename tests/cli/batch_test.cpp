// `cargomon batch doctor|rerun`: the real binary against a real sim whose history holds
// partially failed batches, every answer checked against the sim's own SQL.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "tests/daemon/daemon_process.h"
#include "tests/daemon/sim_client.h"
#include "tests/daemon/warehouse.h"
#include "tests/support/sim_process.h"
#include "tests/support/temp_dir.h"

namespace cargomon::testing {
namespace {

// Two days of 8 workflows: batches that succeeded with failed runs, and clean ones.
class Env : public ::testing::Environment {
public:
    void SetUp() override { sim = std::make_unique<SimProcess>(SimOptions{.workflows = 8, .history = "2d", .seed = 42}); }
    void TearDown() override { sim.reset(); }
    std::unique_ptr<SimProcess> sim;
};

Env* const env = static_cast<Env*>(::testing::AddGlobalTestEnvironment(new Env));

class Batch : public ::testing::Test {
protected:
    const SimProcess& sim() const { return *env->sim; }
    SimClient api() const { return SimClient(sim()); }

    std::string config(const SimProcess& on) const {
        return dir_.write("cargomon.yml", "api_url: " + on.url() + "\ntoken: " + on.token() +
                                              "\nclient: {rate_limit: 500, retry: {max_attempts: 2}}\n");
    }
    CommandResult batch(std::vector<std::string> args, const SimProcess* on = nullptr) const {
        args.insert(args.begin(), "batch");
        args.push_back("--config.file=" + config(on ? *on : sim()));
        return run_cargomon(args);
    }
    // The shell feeds the prompt: the binary reads a real stdin.
    CommandResult batch_with_input(const std::string& input, const std::string& args) const {
        return run_command({"/bin/sh", "-c",
                            "printf '" + input + "' | '" + daemon_binary() + "' batch " + args +
                                " --config.file='" + config(sim()) + "'"});
    }
    // The finished batch with the most failed runs (uuid, failed runs, workflow).
    Row worst_batch() const {
        auto rows = api().sql(
            "SELECT uuid, workflow_uuid, failed_runs_count AS failed, runs_count FROM batches WHERE status = 'success' "
            "AND failed_runs_count > 0 ORDER BY failed_runs_count DESC, uuid LIMIT 1");
        if (rows.empty()) throw std::runtime_error("the sim's history has no partially failed batch");
        return rows[0];
    }
    std::size_t batches() const { return std::stoul(api().sql("SELECT count() AS n FROM batches")[0].at("n")); }
    void expect_no_token(const CommandResult& r) const {
        EXPECT_EQ(r.output.find(sim().token()), std::string::npos) << "the token leaked:\n" << r.output;
    }

    TempDir dir_;
};

TEST_F(Batch, DoctorFindsThePartialFailureAndAgreesWithSql) {
    const Row worst = worst_batch();
    const std::string uuid = worst.at("uuid");
    auto result = batch({"doctor", uuid, "--output=json"});
    EXPECT_EQ(result.exit_code, 1) << result.output;
    expect_no_token(result);
    rapidjson::Document report;
    report.Parse(result.output.c_str());
    ASSERT_TRUE(report.IsObject()) << result.output;
    EXPECT_FALSE(report["healthy"].GetBool());
    EXPECT_STREQ(report["batch"]["uuid"].GetString(), uuid.c_str());
    const int64_t failed = std::stoll(worst.at("failed"));
    EXPECT_EQ(report["batch"]["failedRunsCount"].GetInt64(), failed);
    EXPECT_EQ(report["confirmedFailedRunsCount"].GetInt64(), failed);
    EXPECT_FALSE(std::string(report["batch"]["workflowName"].GetString()).empty());
    // The owner's uuid, never the workflow's, beside its name.
    const auto owners = api().get_json("/v1/orchestration/workflows/list");
    std::string owner_key, owner_uuid;
    for (const auto& w : owners["workflows"].GetArray())
        if (w["uuid"].GetString() == worst.at("workflow_uuid"))
            owner_key = w["playUuid"].IsString() ? "playUuid" : "toolUuid",
            owner_uuid = w[owner_key.c_str()].GetString();
    ASSERT_FALSE(owner_uuid.empty());
    EXPECT_STREQ(report["batch"][owner_key.c_str()].GetString(), owner_uuid.c_str());
    EXPECT_TRUE(report["batch"][owner_key == "playUuid" ? "toolUuid" : "playUuid"].IsNull());
    auto table = batch({"doctor", uuid});
    EXPECT_NE(table.output.find((owner_key == "playUuid" ? "(play " : "(tool ") + owner_uuid + ", workflow " +
                                worst.at("workflow_uuid") + ")"),
              std::string::npos)
        << table.output;

    // Failures by node: where each failed run's last failed span was, by SQL.
    auto by_node = api().sql(
        "SELECT node_slug, count() AS n FROM (SELECT run_uuid, argMax(node_slug, execution_index) AS node_slug FROM spans "
        "WHERE batch_uuid = '" + uuid + "' AND execution_status = 'error' AND run_uuid IN (SELECT uuid FROM runs WHERE "
        "batch_uuid = '" + uuid + "' AND status = 'error') GROUP BY run_uuid) GROUP BY node_slug ORDER BY n DESC, node_slug");
    const auto& nodes = report["failuresByNode"];
    int64_t grouped = 0;
    for (const auto& n : nodes.GetArray()) grouped += n["runs"].GetInt64();
    EXPECT_EQ(grouped, failed);
    ASSERT_FALSE(by_node.empty());
    EXPECT_STREQ(nodes[0]["nodeSlug"].GetString(), by_node[0].at("node_slug").c_str());
    EXPECT_EQ(nodes[0]["runs"].GetInt64(), std::stoll(by_node[0].at("n")));
    int64_t by_message = 0;
    for (const auto& m : report["failuresByMessage"].GetArray()) by_message += m["runs"].GetInt64();
    EXPECT_EQ(by_message, failed);

    // The failed record ids are those of the failed runs.
    auto records = api().sql("SELECT DISTINCT record_id FROM runs WHERE batch_uuid = '" + uuid +
                             "' AND status = 'error' ORDER BY record_id");
    std::vector<std::string> want, got;
    for (const auto& r : records) want.push_back(r.at("record_id"));
    for (const auto& id : report["failedRecordIds"].GetArray()) got.push_back(id.GetString());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);

    // The release and its node slugs are the workflow's.
    auto workflows = api().get_json("/v1/orchestration/workflows/list");
    for (const auto& w : workflows["workflows"].GetArray()) {
        if (worst.at("workflow_uuid") != w["uuid"].GetString()) continue;
        EXPECT_STREQ(report["release"]["deployedUuid"].GetString(), w["deployedRelease"]["uuid"].GetString());
        ASSERT_EQ(report["release"]["nodeSlugs"].Size(), w["deployedRelease"]["nodes"].Size());
        EXPECT_STREQ(report["release"]["nodeSlugs"][0].GetString(), w["deployedRelease"]["nodes"][0]["slug"].GetString());
    }
    // The re-run it would create: the batch's failed runs.
    const auto& rerun = report["rerun"];
    ASSERT_TRUE(rerun.IsObject()) << result.output;
    EXPECT_STREQ(rerun["workflowUuid"].GetString(), worst.at("workflow_uuid").c_str());
    EXPECT_STREQ(rerun["data"]["kind"].GetString(), "runs");
    EXPECT_STREQ(rerun["data"]["filter"]["batchUuid"].GetString(), uuid.c_str());
    EXPECT_STREQ(rerun["data"]["filter"]["statuses"][0].GetString(), "error");
}

TEST_F(Batch, DoctorTableForPeople) {
    const Row worst = worst_batch();
    auto result = batch({"doctor", worst.at("uuid")});
    EXPECT_EQ(result.exit_code, 1) << result.output;
    for (const char* part : {"Batch ", "  runs ", "Failures by node", "Failures by error message", "Failed records: ",
                             "POST /v1/orchestration/batches"})
        EXPECT_NE(result.output.find(part), std::string::npos) << part << " missing:\n" << result.output;
    EXPECT_NE(result.output.find(worst.at("failed") + " failed"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find(", as the batch says"), std::string::npos) << result.output;
}

TEST_F(Batch, DoctorSaysAHealthyBatchIsHealthy) {
    auto rows = api().sql("SELECT uuid FROM batches WHERE status = 'success' AND failed_runs_count = 0 AND "
                          "executed_runs_count = runs_count AND runs_count > 0 ORDER BY uuid LIMIT 1");
    ASSERT_FALSE(rows.empty());
    auto result = batch({"doctor", rows[0].at("uuid")});
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("No failed runs."), std::string::npos) << result.output;
}

TEST_F(Batch, ApiErrorsExitTwoWithTheApisOwnWords) {
    auto missing = batch({"doctor", "00000000-0000-4000-8000-000000000000"});
    EXPECT_EQ(missing.exit_code, 2) << missing.output;
    EXPECT_NE(missing.output.find("there is no such batch"), std::string::npos) << missing.output;
    EXPECT_NE(missing.output.find("reason batchNotFound"), std::string::npos) << missing.output;

    const std::string cfg = dir_.write("bad-token.yml", "api_url: " + sim().url() + "\ntoken: not-the-token-42\n");
    auto refused = run_cargomon({"batch", "doctor", worst_batch().at("uuid"), "--config.file=" + cfg});
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("the API token was refused"), std::string::npos) << refused.output;
    EXPECT_EQ(refused.output.find("not-the-token-42"), std::string::npos) << refused.output;
}

TEST_F(Batch, UsageErrorsExitTwo) {
    EXPECT_EQ(batch({"doctor"}).exit_code, 2);
    EXPECT_EQ(batch({"cure", "x"}).exit_code, 2);
    EXPECT_EQ(batch({"doctor", "x", "--output=xml"}).exit_code, 2);
    EXPECT_EQ(batch({"rerun", "x", "--reset=middle"}).exit_code, 2);
    auto help = run_cargomon({"batch", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.output.find("--dry-run"), std::string::npos) << help.output;
}

TEST_F(Batch, RerunDryRunPrintsTheBodyAndCreatesNothing) {
    const Row worst = worst_batch();
    const auto before = batches();
    auto result = batch({"rerun", worst.at("uuid"), "--dry-run"});
    EXPECT_EQ(result.exit_code, 0) << result.output;
    rapidjson::Document body;
    body.Parse(result.output.c_str());
    ASSERT_TRUE(body.IsObject()) << result.output;
    EXPECT_STREQ(body["data"]["reset"]["from"].GetString(), "firstNode");
    auto next = batch({"rerun", worst.at("uuid"), "--reset=nextNode", "--dry-run"});
    EXPECT_EQ(next.exit_code, 0) << next.output;
    body.Parse(next.output.c_str());
    ASSERT_TRUE(body.IsObject()) << next.output;
    EXPECT_STREQ(body["data"]["reset"]["from"].GetString(), "nextNode");
    EXPECT_EQ(batch({"rerun", worst.at("uuid"), "--reset=node", "--dry-run"}).exit_code, 2);
    EXPECT_EQ(batches(), before);
}

TEST_F(Batch, RerunAsksAndNoCreatesNothing) {
    const Row worst = worst_batch();
    const auto before = batches();
    auto no = batch_with_input("n\\n", "rerun " + worst.at("uuid"));
    EXPECT_EQ(no.exit_code, 1) << no.output;
    EXPECT_NE(no.output.find("Create this batch? [y/N]"), std::string::npos) << no.output;
    EXPECT_NE(no.output.find("Nothing created."), std::string::npos) << no.output;
    // No answer at all (stdin closed) is a no too.
    EXPECT_EQ(batch({"rerun", worst.at("uuid")}).exit_code, 1);
    EXPECT_EQ(batches(), before);
}

TEST_F(Batch, RerunCreatesABatchOfOnlyTheFailedRuns) {
    const Row worst = worst_batch();
    const auto before = batches();
    auto yes = batch_with_input("y\\n", "rerun " + worst.at("uuid") + " --reset=lastNode");
    ASSERT_EQ(yes.exit_code, 0) << yes.output;
    expect_no_token(yes);
    EXPECT_NE(yes.output.find(worst.at("failed") + " failed runs of " + worst.at("runs_count")), std::string::npos)
        << yes.output;
    const auto at = yes.output.find("Created batch ");
    ASSERT_NE(at, std::string::npos) << yes.output;
    const std::string created = yes.output.substr(at + 14, 36);
    EXPECT_EQ(batches(), before + 1);
    auto got = api().get_json("/v1/orchestration/batches/" + created);
    const auto& b = got["batch"];
    EXPECT_STREQ(b["workflowUuid"].GetString(), worst.at("workflow_uuid").c_str());
    EXPECT_STREQ(b["data"]["kind"].GetString(), "runs");
    EXPECT_STREQ(b["data"]["filter"]["batchUuid"].GetString(), worst.at("uuid").c_str());
    EXPECT_STREQ(b["data"]["filter"]["statuses"][0].GetString(), "error");
    EXPECT_STREQ(b["data"]["reset"]["from"].GetString(), "lastNode");

    // The new batch is pending: a re-run of it is refused before anything is sent.
    auto pending = batch({"rerun", created, "--yes"});
    EXPECT_EQ(pending.exit_code, 1) << pending.output;
    EXPECT_NE(pending.output.find("not finished"), std::string::npos) << pending.output;
    EXPECT_EQ(batches(), before + 1);
}

TEST_F(Batch, RerunWaitFollowsTheNewBatchToWhatItRecovered) {
    const Row worst = worst_batch();
    auto reruns = [&] {
        std::set<std::string> out;
        for (const auto& r : api().sql("SELECT uuid FROM batches WHERE position(data, '" + worst.at("uuid") + "') > 0"))
            out.insert(r.at("uuid"));
        return out;
    };
    // The sim leaves a created batch pending: the wait ends at its timeout, exit 1, saying
    // how to follow the batch that goes on.
    auto timed_out = batch({"rerun", worst.at("uuid"), "--yes", "--wait", "--wait.timeout=2s"});
    EXPECT_EQ(timed_out.exit_code, 1) << timed_out.output;
    EXPECT_NE(timed_out.output.find("is still pending after 2s; follow it with: cargomon batch doctor "),
              std::string::npos)
        << timed_out.output;

    // Finished while it waits, every run well: exit 0, with the runs recovered.
    const auto seen = reruns();
    auto waiting = std::async(std::launch::async, [&] {
        return batch({"rerun", worst.at("uuid"), "--yes", "--wait", "--wait.timeout=2m"});
    });
    // The re-run the command creates while it waits: the one not in `before`.
    auto created_since = [&](const std::set<std::string>& before) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline) {
            for (const auto& u : reruns())
                if (!before.count(u)) return u;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return std::string();
    };
    std::string created = created_since(seen);
    ASSERT_FALSE(created.empty()) << "the re-run was never created";
    const int failed = std::stoi(worst.at("failed"));
    Warehouse(sim()).finish(created, failed, 0);
    const auto recovered = waiting.get();
    EXPECT_EQ(recovered.exit_code, 0) << recovered.output;
    EXPECT_NE(recovered.output.find("Batch " + created + " success: " + std::to_string(failed) +
                                    " runs recovered, 0 still failing."),
              std::string::npos)
        << recovered.output;
    expect_no_token(recovered);

    // Some still failing: exit 1, pointing at the doctor.
    const auto seen_again = reruns();
    auto failing = std::async(std::launch::async, [&] {
        return batch({"rerun", worst.at("uuid"), "--yes", "--wait", "--wait.timeout=2m"});
    });
    created = created_since(seen_again);
    ASSERT_FALSE(created.empty()) << "the second re-run was never created";
    Warehouse(sim()).finish(created, failed, 1);
    const auto still = failing.get();
    EXPECT_EQ(still.exit_code, 1) << still.output;
    EXPECT_NE(still.output.find(std::to_string(failed - 1) + " runs recovered, 1 still failing."), std::string::npos)
        << still.output;
    EXPECT_NE(still.output.find("See why: cargomon batch doctor " + created), std::string::npos) << still.output;
}

TEST_F(Batch, RerunWaitTimeoutMustBeADuration) {
    for (const char* bad : {"--wait.timeout=soon", "--wait.timeout=0s", "--wait.timeout=-1m"}) {
        auto r = batch({"rerun", "x", "--wait", bad});
        EXPECT_EQ(r.exit_code, 2) << bad << r.output;
        EXPECT_NE(r.output.find("--wait.timeout must be a positive duration"), std::string::npos) << r.output;
    }
}

// The seeded history holds partially failed batches of plays and of tools, so both answers
// are checked every run: a play's batch is re-run by the play model's record ids, a tool's
// is refused with the way that works.
TEST_F(Batch, RerunByRecordIdsNamesThePlaysModel) {
    auto rows = api().sql(
        "SELECT uuid, workflow_uuid FROM batches WHERE status = 'success' AND failed_runs_count > 0 "
        "ORDER BY failed_runs_count, uuid");
    auto plays = api().get_json("/v1/orchestration/plays/list");
    std::map<std::string, std::string> model_of;  // play workflow -> its model
    for (const auto& p : plays["plays"].GetArray())
        model_of[p["workflowUuid"].GetString()] = p["modelUuid"].GetString();
    const auto play_batch = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return model_of.count(r.at("workflow_uuid")) > 0; });
    const auto tool_batch = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return model_of.count(r.at("workflow_uuid")) == 0; });
    ASSERT_NE(play_batch, rows.end()) << "the seeded history has no partially failed batch of a play";
    ASSERT_NE(tool_batch, rows.end()) << "the seeded history has no partially failed batch of a tool";

    auto result = batch({"rerun", play_batch->at("uuid"), "--kind=recordIds", "--dry-run"});
    ASSERT_EQ(result.exit_code, 0) << result.output;
    rapidjson::Document body;
    body.Parse(result.output.c_str());
    ASSERT_TRUE(body.IsObject()) << result.output;
    EXPECT_STREQ(body["data"]["kind"].GetString(), "recordIds");
    EXPECT_EQ(std::string(body["workflowUuid"].GetString()), play_batch->at("workflow_uuid"));
    EXPECT_EQ(std::string(body["data"]["modelUuid"].GetString()), model_of.at(play_batch->at("workflow_uuid")));
    EXPECT_GT(body["data"]["ids"].Size(), 0u);

    auto refused = batch({"rerun", tool_batch->at("uuid"), "--kind=recordIds", "--dry-run"});
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("record ids need a play's workflow (its model); use --kind=runs"), std::string::npos)
        << refused.output;
}

TEST_F(Batch, RerunReportsNotEnoughCreditsInPlainWords) {
    // A workspace whose month's credits are spent (an allowance of 0).
    SimProcess broke(SimOptions{.workflows = 8, .history = "2d", .seed = 42, .extra_args = {"--credits", "0"}});
    auto rows = SimClient(broke).sql("SELECT uuid FROM batches WHERE status = 'success' AND failed_runs_count > 0 "
                                     "ORDER BY uuid LIMIT 1");
    ASSERT_FALSE(rows.empty());
    auto result = batch({"rerun", rows[0].at("uuid"), "--yes"}, &broke);
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_NE(result.output.find("not created: the workspace has not enough credits left"), std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find("reason notEnoughCredits"), std::string::npos) << result.output;
    EXPECT_EQ(result.output.find("may still have been created"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace cargomon::testing
