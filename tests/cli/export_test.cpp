// `cargomon export runs|outputs|batch|segment|query`: the real binary against a real sim,
// every file's content checked against the sim's own SQL; a download killed midway
// leaves no file behind.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "common/process.h"
#include "common/timefmt.h"
#include "tests/daemon/daemon_process.h"
#include "tests/daemon/sim_client.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/sim_process.h"
#include "tests/support/temp_dir.h"

namespace cargomon::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Ten days of 8 workflows: the busiest has over 10,000 runs (more than one page of
// runs/download-outputs) and the runs table over 10,000 rows (more than one query answer).
class Env : public ::testing::Environment {
public:
    void SetUp() override { sim = std::make_unique<SimProcess>(SimOptions{.workflows = 8, .history = "10d", .seed = 42}); }
    void TearDown() override { sim.reset(); }
    std::unique_ptr<SimProcess> sim;
};

Env* const env = static_cast<Env*>(::testing::AddGlobalTestEnvironment(new Env));

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
}

class Export : public ::testing::Test {
protected:
    const SimProcess& sim() const { return *env->sim; }
    SimClient api() const { return SimClient(sim()); }

    std::string config() const {
        return conf_.write("cargomon.yml", "api_url: " + sim().url() + "\ntoken: " + sim().token() +
                                               "\nclient: {rate_limit: 500, retry: {max_attempts: 2}}\n");
    }
    std::vector<std::string> argv(std::vector<std::string> args) const {
        args.insert(args.begin(), "export");
        args.insert(args.begin(), daemon_binary());
        args.push_back("--config.file=" + config());
        return args;
    }
    // The shell line that runs the export in `out_` (the folder default file names land in),
    // as the shell itself (exec): `before` may use the export's pid as $$.
    std::string command_line(std::vector<std::string> args, const std::string& before = "") const {
        std::string line = before + "cd '" + out_.path() + "' && exec";
        for (const auto& a : argv(std::move(args))) line += " '" + a + "'";
        return line;
    }
    CommandResult run(std::vector<std::string> args, const std::string& before = "") const {
        auto r = run_command({"/bin/sh", "-c", command_line(std::move(args), before)}, {}, 120s);
        EXPECT_EQ(r.output.find(sim().token()), std::string::npos) << "the token leaked:\n" << r.output;
        return r;
    }
    std::int64_t count(const std::string& sql) const { return std::stoll(api().sql(sql)[0].at("n")); }
    // The workflow with the most runs.
    std::string busiest() const {
        return api().sql("SELECT workflow_uuid FROM runs GROUP BY workflow_uuid ORDER BY count() DESC LIMIT 1")[0].at(
            "workflow_uuid");
    }
    // The slugs of a release's nodes that lead to no other node (childrenUuids empty).
    static std::vector<std::string> ends(const rapidjson::Value& release) {
        std::vector<std::string> out;
        for (const auto& n : release["nodes"].GetArray())
            if (n["childrenUuids"].Empty()) out.emplace_back(n["slug"].GetString());
        return out;
    }
    rapidjson::Document workflows() const { return api().get_json("/v1/orchestration/workflows/list"); }
    // The deployed release of `workflow`, copied out of the list.
    rapidjson::Document deployed(const std::string& workflow) const {
        auto list = workflows();
        for (const auto& w : list["workflows"].GetArray())
            if (workflow == w["uuid"].GetString()) {
                rapidjson::Document d;
                d.CopyFrom(w["deployedRelease"], d.GetAllocator());
                return d;
            }
        throw std::runtime_error("no workflow " + workflow);
    }

    TempDir conf_;
    TempDir out_;
};

// runs/download is read by its content: the sim serves newline-delimited JSON of the full
// run records, gzipped, as Cargo's docs describe it; the file is that JSON, one run a line.
TEST_F(Export, RunsAreTheWorkflowsRunRecordsOneALine) {
    const std::string wf = busiest();
    auto r = run({"runs", "--workflow=" + wf, "--status=error"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string file = out_.file("runs-" + wf + ".jsonl");
    EXPECT_NE(r.output.find("written to runs-" + wf + ".jsonl"), std::string::npos) << r.output;
    auto rows = lines(read(file));  // gunzipped: plain text
    const auto failed = count("SELECT count() AS n FROM runs WHERE workflow_uuid = '" + wf + "' AND status = 'error'");
    ASSERT_GT(failed, 0);
    EXPECT_EQ(static_cast<std::int64_t>(rows.size()), failed);
    EXPECT_NE(r.output.find(" " + std::to_string(failed) + " rows"), std::string::npos) << r.output;
    std::int64_t outputs = 0, successes = 0;
    for (const auto& line : rows) {
        rapidjson::Document run;
        run.Parse(line.c_str());
        ASSERT_TRUE(run.IsObject()) << line;
        EXPECT_STREQ(run["status"].GetString(), "error");
        EXPECT_STREQ(run["workflowUuid"].GetString(), wf.c_str());
        // runContext holds each successful execution's output under its node's slug.
        const auto& context = run["runContext"];
        ASSERT_TRUE(context.IsObject()) << line;
        for (const auto& e : run["executions"].GetArray()) {
            if (std::string_view(e["status"].GetString()) != "success") continue;
            ++successes;
            outputs += context.HasMember(e["nodeSlug"].GetString());
        }
        EXPECT_TRUE(context.HasMember("start") || run["executions"].Empty() ||
                    std::string_view(run["executions"][0]["status"].GetString()) == "error")
            << line;
    }
    EXPECT_GT(successes, 0);
    EXPECT_EQ(outputs, successes);
    EXPECT_EQ(entries(out_.path()).size(), 1u);  // no temporary file left beside it
}

// The seed's run filters --record-title and --is-finished reach the API: the rows counted
// are the runs SQL finds.
TEST_F(Export, RecordTitleAndIsFinishedFilterTheRuns) {
    const std::string wf = busiest();
    const std::string title = api().sql("SELECT record_title, count() AS n FROM runs WHERE workflow_uuid = '" + wf +
                                        "' GROUP BY record_title ORDER BY n DESC, record_title LIMIT 1")[0]
                                  .at("record_title");
    const auto titled = count("SELECT count() AS n FROM runs WHERE workflow_uuid = '" + wf + "' AND record_title = '" +
                              title + "'");
    auto r = run({"runs", "--workflow=" + wf, "--record-title=" + title, "--output=titled.csv"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(": " + std::to_string(titled) + " rows,"), std::string::npos) << r.output;

    const auto finished =
        count("SELECT count() AS n FROM runs WHERE workflow_uuid = '" + wf + "' AND finished_at IS NOT NULL");
    const auto all = count("SELECT count() AS n FROM runs WHERE workflow_uuid = '" + wf + "'");
    r = run({"runs", "--workflow=" + wf, "--is-finished", "--output=finished.csv"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(": " + std::to_string(finished) + " rows,"), std::string::npos) << r.output;
    r = run({"runs", "--workflow=" + wf, "--is-finished=false", "--output=unfinished.csv"});
    if (all == finished) {
        EXPECT_EQ(r.exit_code, 1) << r.output;  // nothing unfinished
    } else {
        ASSERT_EQ(r.exit_code, 0) << r.output;
        EXPECT_NE(r.output.find(": " + std::to_string(all - finished) + " rows,"), std::string::npos) << r.output;
    }
    EXPECT_EQ(run({"query", "--sql=SELECT 1", "--is-finished"}).exit_code, 2);
    EXPECT_EQ(run({"batch", "00000000-0000-4000-8000-000000000000", "--record-title=x"}).exit_code, 2);
}

TEST_F(Export, OutputsArePagedPastTenThousandRunsOnTheReleasesOutputNode) {
    const std::string wf = busiest();
    const auto runs = count("SELECT count() AS n FROM runs WHERE workflow_uuid = '" + wf + "'");
    ASSERT_GT(runs, 10'000) << "the sim's busiest workflow must need two pages";
    // Where the deployed graph ends; a graph with two ends is chosen among by --node.
    const auto graph_ends = ends(deployed(wf));
    ASSERT_FALSE(graph_ends.empty());
    const std::string node = graph_ends.front();
    const std::vector<std::string> pick = graph_ends.size() == 1 ? std::vector<std::string>{} : std::vector<std::string>{"--node=" + node};

    auto with_pick = [&](std::vector<std::string> args) {
        args.insert(args.end(), pick.begin(), pick.end());
        return args;
    };
    auto csv = run(with_pick({"outputs", "--workflow=" + wf, "--output=out.csv"}));
    ASSERT_EQ(csv.exit_code, 0) << csv.output;
    auto rows = lines(read(out_.file("out.csv")));
    ASSERT_EQ(static_cast<std::int64_t>(rows.size()) - 1, runs);
    EXPECT_EQ(rows[0].rfind("run_uuid,record_id,", 0), 0u);
    std::set<std::string> uuids;
    std::int64_t on_node = 0;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        uuids.insert(rows[i].substr(1, 36));  // quoted
        on_node += rows[i].find(",\"" + node + "\",") != std::string::npos;
    }
    EXPECT_EQ(static_cast<std::int64_t>(uuids.size()), runs) << "pages overlap";
    // Runs that reached the output node show its execution there; the others, none.
    EXPECT_EQ(on_node, count("SELECT uniqExact(run_uuid) AS n FROM spans WHERE workflow_uuid = '" + wf +
                             "' AND node_slug = '" + node + "'"));

    auto json = run(with_pick({"outputs", "--workflow=" + wf, "--format=json", "--output=out.json"}));
    ASSERT_EQ(json.exit_code, 0) << json.output;
    rapidjson::Document doc;
    doc.Parse(read(out_.file("out.json")).c_str());
    ASSERT_TRUE(doc.IsArray()) << "two pages spliced into one array";
    EXPECT_EQ(static_cast<std::int64_t>(doc.Size()), runs);
    std::set<std::string> json_uuids;
    std::int64_t with_output = 0;
    for (const auto& o : doc.GetArray()) {
        json_uuids.insert(o["runUuid"].GetString());
        // The node's output data beside the record it came from.
        EXPECT_STREQ(o["input"]["_id"].GetString(), o["recordId"].GetString());
        if (!o["output"].IsNull()) {
            ++with_output;
            EXPECT_STREQ(o["output"]["nodeSlug"].GetString(), node.c_str());
        }
    }
    EXPECT_EQ(json_uuids, uuids);
    EXPECT_EQ(with_output, count("SELECT uniqExact(run_uuid) AS n FROM spans WHERE workflow_uuid = '" + wf +
                                 "' AND node_slug = '" + node + "' AND execution_status = 'success'"));
}

// Half the sim's workflows had an earlier release, a chain of the first nodes of today's
// graph. A batch that ran on it is exported on its own release's output node,
// which today's deployed release does not end at: found through releases/{uuid}.
TEST_F(Export, AnOldBatchIsExportedOnItsOwnReleasesOutputNode) {
    std::string deployed_uuids;
    auto list = workflows();
    for (const auto& w : list["workflows"].GetArray())
        deployed_uuids += (deployed_uuids.empty() ? "'" : ",'") + std::string(w["deployedRelease"]["uuid"].GetString()) + "'";
    auto old = api().sql("SELECT uuid, workflow_uuid, release_uuid FROM batches WHERE status = 'success' AND "
                         "runs_count > 5 AND release_uuid NOT IN (" + deployed_uuids +
                         ") ORDER BY runs_count DESC, uuid LIMIT 1");
    ASSERT_EQ(old.size(), 1u) << "the sim has no batch of an earlier release";
    const std::string batch = old[0].at("uuid"), wf = old[0].at("workflow_uuid");
    auto release = api().get_json("/v1/orchestration/releases/" + old[0].at("release_uuid"));
    EXPECT_STREQ(release["release"]["status"].GetString(), "archived");
    const auto old_ends = ends(release["release"]);
    ASSERT_EQ(old_ends.size(), 1u);
    const std::string node = old_ends.front();
    const auto today = ends(deployed(wf));
    EXPECT_EQ(std::find(today.begin(), today.end(), node), today.end()) << "the deployed release ends elsewhere";

    auto r = run({"batch", batch});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto rows = lines(read(out_.file("batch-" + batch + ".csv")));
    const auto runs = count("SELECT count() AS n FROM runs WHERE batch_uuid = '" + batch + "'");
    ASSERT_EQ(static_cast<std::int64_t>(rows.size()) - 1, runs);
    std::int64_t on_node = 0;
    for (std::size_t i = 1; i < rows.size(); ++i) on_node += rows[i].find(",\"" + node + "\",") != std::string::npos;
    EXPECT_GT(on_node, 0);
    EXPECT_EQ(on_node, count("SELECT uniqExact(run_uuid) AS n FROM spans WHERE batch_uuid = '" + batch +
                             "' AND node_slug = '" + node + "'"));

    // outputs --batch reads the same release: the same runs on the same node.
    auto outputs = run({"outputs", "--workflow=" + wf, "--batch=" + batch, "--output=o.csv"});
    ASSERT_EQ(outputs.exit_code, 0) << outputs.output;
    auto out_rows = lines(read(out_.file("o.csv")));
    ASSERT_EQ(out_rows.size(), rows.size());
    std::int64_t out_on_node = 0;
    for (std::size_t i = 1; i < out_rows.size(); ++i)
        out_on_node += out_rows[i].find(",\"" + node + "\",") != std::string::npos;
    EXPECT_EQ(out_on_node, on_node);

    // The node today's graph added (the sim lists it last) is not one of the batch's release.
    const auto today_release = deployed(wf);
    const auto& today_nodes = today_release["nodes"];
    const std::string newest = today_nodes[today_nodes.Size() - 1]["slug"].GetString();
    auto refused = run({"batch", batch, "--node=" + newest});
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("is not a node of release " + old[0].at("release_uuid")), std::string::npos)
        << refused.output;
}

// A deployed graph whose branches never join has two ends: without --node the export is
// refused, naming both; --node picks one. One of them named "end" is chosen by that name.
TEST_F(Export, TwoEndsAreRefusedAndListedUnlessNamedEnd) {
    auto list = workflows();
    int refused_seen = 0, end_seen = 0;
    for (const auto& w : list["workflows"].GetArray()) {
        const std::string wf = w["uuid"].GetString();
        const auto graph_ends = ends(w["deployedRelease"]);
        if (graph_ends.size() < 2) continue;
        ASSERT_EQ(graph_ends.size(), 2u);
        const bool named = std::find(graph_ends.begin(), graph_ends.end(), "end") != graph_ends.end();
        auto r = run({"outputs", "--workflow=" + wf, "--created-after=3d", "--output=o.csv"});
        if (named) {
            ++end_seen;
            if (r.exit_code == 1) continue;  // no run in those days
            ASSERT_EQ(r.exit_code, 0) << r.output;
            const std::string text = read(out_.file("o.csv"));
            const std::string other = graph_ends[0] == "end" ? graph_ends[1] : graph_ends[0];
            EXPECT_EQ(text.find(",\"" + other + "\","), std::string::npos) << "only the end node's executions";
            continue;
        }
        ++refused_seen;
        EXPECT_EQ(r.exit_code, 2) << r.output;
        EXPECT_NE(r.output.find("2 possible output nodes (" + graph_ends[0] + ", " + graph_ends[1] + ")"),
                  std::string::npos)
            << r.output;
        EXPECT_NE(r.output.find("--node"), std::string::npos) << r.output;
        auto picked = run({"outputs", "--workflow=" + wf, "--created-after=3d", "--output=o.csv",
                           "--node=" + graph_ends[1]});
        EXPECT_TRUE(picked.exit_code == 0 || picked.exit_code == 1) << picked.output;
    }
    EXPECT_GT(refused_seen, 0) << "the sim's workspace has no graph with two unnamed ends";
    EXPECT_GT(refused_seen + end_seen, 0);
}

TEST_F(Export, BatchIsTheBatchsOutputs) {
    auto worst = api().sql("SELECT uuid, workflow_uuid, runs_count FROM batches WHERE status = 'success' AND "
                           "failed_runs_count > 0 ORDER BY failed_runs_count DESC, uuid LIMIT 1")[0];
    auto r = run({"batch", worst.at("uuid"), "--node=start"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto rows = lines(read(out_.file("batch-" + worst.at("uuid") + ".csv")));
    EXPECT_EQ(static_cast<std::int64_t>(rows.size()) - 1,
              count("SELECT count() AS n FROM runs WHERE batch_uuid = '" + worst.at("uuid") + "'"));
    for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_NE(rows[i].find(",\"start\","), std::string::npos) << rows[i];

    auto unknown = run({"batch", worst.at("uuid"), "--node=no_such_node"});
    EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
    EXPECT_NE(unknown.output.find("--node no_such_node is not a node of release"), std::string::npos) << unknown.output;
    EXPECT_EQ(entries(out_.path()).size(), 1u);
}

TEST_F(Export, SegmentIsTheModelsRecordsWithTheFilterSent) {
    auto plays = api().get_json("/v1/orchestration/plays/list");
    const std::string model = plays["plays"][0]["modelUuid"].GetString();
    std::string workflows;
    for (const auto& p : plays["plays"].GetArray())
        if (model == p["modelUuid"].GetString()) workflows += (workflows.empty() ? "'" : ",'") + std::string(p["workflowUuid"].GetString()) + "'";
    // The truth: the sim's model of a segment (docs/cargo-sim.md), filtered and ordered by
    // ClickHouse; the ids come as one text, as there may be more than a query's 10,000 rows.
    const std::string segment =
        "SELECT id, t AS title, s AS status, n AS runs_count, c AS created_at, u AS updated_at FROM (SELECT id, "
        "argMax(title, (updated_at, run_uuid)) AS t, argMax(status, (updated_at, run_uuid)) AS s, "
        "uniqExact(run_uuid) AS n, min(created_at) AS c, max(updated_at) AS u FROM records WHERE workflow_uuid IN (" +
        workflows + ") GROUP BY id)";
    auto truth = [&](const std::string& where, const std::string& order) {
        auto ids = api().sql("SELECT arrayStringConcat(groupArray(id), ',') AS ids FROM (SELECT id FROM (" + segment +
                             ") WHERE " + where + " ORDER BY " + order + ")")[0].at("ids");
        std::vector<std::string> out;
        for (std::size_t at = 0; at < ids.size();) {
            const auto comma = std::min(ids.find(',', at), ids.size());
            out.push_back(ids.substr(at, comma - at));
            at = comma + 1;
        }
        return out;
    };
    // The ids of an export, in the file's order (each row starts with its quoted id).
    auto exported = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"segment", "--model=" + model, "--output=segment.csv"});
        auto r = run(args);
        EXPECT_EQ(r.exit_code, 0) << r.output;
        auto rows = lines(read(out_.file("segment.csv")));
        if (rows.empty()) return std::vector<std::string>{"<no file>"};
        EXPECT_EQ(rows[0], "id,title,status,runs_count,created_at,updated_at");
        std::vector<std::string> ids;
        for (std::size_t i = 1; i < rows.size(); ++i) ids.push_back(rows[i].substr(1, rows[i].find('"', 1) - 1));
        EXPECT_NE(r.output.find(std::to_string(ids.size()) + " rows"), std::string::npos) << r.output;
        return ids;
    };

    const auto all = truth("1", "id");
    ASSERT_GT(all.size(), 5u);
    EXPECT_EQ(exported({}), all);
    const std::string since = format_iso8601(std::chrono::system_clock::now() - std::chrono::hours{24 * 5}).substr(0, 10);
    const auto errors = truth("status = 'error' AND title LIKE 'A%' AND created_at > toDateTime('" + since +
                                  " 00:00:00', 'UTC')",
                              "created_at DESC, id");
    ASSERT_GT(errors.size(), 1u);
    EXPECT_LT(errors.size(), all.size() / 10);
    EXPECT_EQ(exported({"--filter=status = \"error\"", "--filter=title ^= A", "--filter=created_at > " + since,
                        "--match=all", "--sort=created_at:desc"}),
              errors);
    const auto any = truth("status = 'error' OR runs_count > 1 OR title LIKE '% GmbH'", "runs_count DESC, status, id");
    ASSERT_GT(any.size(), errors.size());
    EXPECT_LT(any.size(), all.size());
    EXPECT_EQ(exported({"--filter=status = error", "--filter=runs_count > 1", "--filter=title $= \" GmbH\"",
                        "--match=any", "--sort=runs_count:desc,status"}),
              any);
    // The limit cuts the sorted rows.
    EXPECT_EQ(exported({"--filter=status != error", "--sort=updated_at:desc", "--limit=7"}),
              truth("status != 'error'", "updated_at DESC, id LIMIT 7"));

    auto limited = run({"segment", "--model=" + model, "--limit=5"});
    ASSERT_EQ(limited.exit_code, 0) << limited.output;
    EXPECT_EQ(lines(read(out_.file("segment-" + model + ".csv"))).size(), 6u);

    for (const char* bad : {"--filter=country", "--filter== 3", "--filter=size > big"}) {
        auto refused = run({"segment", "--model=" + model, bad});
        EXPECT_EQ(refused.exit_code, 2) << bad << ": " << refused.output;
        EXPECT_NE(refused.output.find("--filter"), std::string::npos) << refused.output;
    }
    // A column the model does not have is the API's refusal, in plain words.
    auto unknown = run({"segment", "--model=" + model, "--filter=country = FR"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.output.find("unknown column \"country\""), std::string::npos) << unknown.output;
}

TEST_F(Export, QueryIsPagedPastTheTenThousandRowCap) {
    const auto runs = count("SELECT count() AS n FROM runs");
    ASSERT_GT(runs, 20'000) << "three pages at least";
    // The cap bites the query as written.
    EXPECT_THROW(api().sql("SELECT uuid, status FROM runs"), std::exception);

    auto csv = run({"query", "--sql=SELECT uuid, status FROM runs;"});
    ASSERT_EQ(csv.exit_code, 0) << csv.output;
    auto rows = lines(read(out_.file("query.csv")));
    ASSERT_EQ(static_cast<std::int64_t>(rows.size()) - 1, runs);
    EXPECT_EQ(rows[0], "uuid,status");
    EXPECT_EQ(static_cast<std::int64_t>(std::set<std::string>(rows.begin() + 1, rows.end()).size()), runs)
        << "pages overlap";

    // The query's own ORDER BY and LIMIT hold across pages.
    auto ordered = run({"query", "--sql=SELECT uuid FROM runs ORDER BY uuid DESC LIMIT 12345", "--format=jsonl",
                        "--output=q.jsonl"});
    ASSERT_EQ(ordered.exit_code, 0) << ordered.output;
    auto json_rows = lines(read(out_.file("q.jsonl")));
    ASSERT_EQ(json_rows.size(), 12345u);
    auto first = api().sql("SELECT uuid FROM runs ORDER BY uuid DESC LIMIT 1")[0].at("uuid");
    EXPECT_EQ(json_rows[0], "{\"uuid\":\"" + first + "\"}");
    EXPECT_TRUE(std::is_sorted(json_rows.rbegin(), json_rows.rend()));

    auto format = run({"query", "--sql=SELECT 1 FORMAT CSV"});
    EXPECT_EQ(format.exit_code, 2) << format.output;
    EXPECT_NE(format.output.find("FORMAT"), std::string::npos) << format.output;
}

TEST_F(Export, OutputDashStreamsToStdoutAndMatchesTheFile) {
    const std::string wf = busiest();
    ASSERT_EQ(run({"runs", "--workflow=" + wf, "--created-after=2d", "--output=r.jsonl"}).exit_code, 0);
    auto sh = run_command({"/bin/sh", "-c",
                           "'" + daemon_binary() + "' export runs --workflow=" + wf +
                               " --created-after=2d --output=- --config.file='" + config() + "' 2>/dev/null"},
                          {}, 60s);
    ASSERT_EQ(sh.exit_code, 0);
    EXPECT_EQ(sh.output, read(out_.file("r.jsonl")));
    EXPECT_GT(lines(sh.output).size(), 1u);
}

// On a terminal (script(1) gives the command a pseudo-terminal), stderr shows the bytes
// and rows so far, and the last count is cleared at the end; piped, as in every other
// test here, nothing is drawn. Neither way does any of it reach the file.
TEST_F(Export, ProgressIsDrawnOnATerminalOnly) {
    const std::vector<std::string> args{"query", "--sql=SELECT uuid, status FROM runs ORDER BY uuid LIMIT 5000",
                                        "--output=q.csv"};
    const auto tty = run_command({"script", "-qec", command_line(args), "/dev/null"}, {}, 120s);
    ASSERT_EQ(tty.exit_code, 0) << tty.output;
    EXPECT_EQ(tty.output.find(sim().token()), std::string::npos);
    EXPECT_NE(tty.output.find("\r\033[K"), std::string::npos) << tty.output;
    EXPECT_NE(tty.output.find(" KiB, 5000 rows\r\033[K"), std::string::npos) << tty.output;
    const std::string on_terminal = read(out_.file("q.csv"));
    EXPECT_EQ(lines(on_terminal).size(), 5001u);

    const auto piped = run(args);
    ASSERT_EQ(piped.exit_code, 0) << piped.output;
    EXPECT_EQ(piped.output.find('\033'), std::string::npos) << piped.output;
    EXPECT_EQ(read(out_.file("q.csv")), on_terminal);
    EXPECT_EQ(on_terminal.find('\033'), std::string::npos);
}

TEST_F(Export, NothingToExportAndRefusalsWriteNoFile) {
    const std::string wf = busiest();
    auto none = run({"outputs", "--workflow=" + wf, "--record-id=no-such-record"});
    EXPECT_EQ(none.exit_code, 1) << none.output;
    EXPECT_NE(none.output.find("nothing to export"), std::string::npos) << none.output;
    auto empty = run({"query", "--sql=SELECT uuid FROM runs WHERE 0"});
    EXPECT_EQ(empty.exit_code, 1) << empty.output;

    auto missing = run({"batch", "00000000-0000-4000-8000-000000000000"});
    EXPECT_EQ(missing.exit_code, 2) << missing.output;
    EXPECT_NE(missing.output.find("there is no such batch"), std::string::npos) << missing.output;
    EXPECT_NE(missing.output.find("reason batchNotFound"), std::string::npos) << missing.output;

    auto refused = run({"query", "--sql=SELECT * FROM system.tables"});
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_NE(refused.output.find("the Cargo API refused the request"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find("system"), std::string::npos) << refused.output;
    auto failed = run({"query", "--sql=SELECT no_such_column FROM runs"});
    EXPECT_EQ(failed.exit_code, 2) << failed.output;
    EXPECT_NE(failed.output.find("the query failed (the API said: Code: 47"), std::string::npos) << failed.output;

    EXPECT_EQ(run({"query"}).exit_code, 2);
    EXPECT_EQ(run({"runs"}).exit_code, 2);  // --workflow is required
    EXPECT_EQ(run({"query", "--sql=SELECT 1", "--node=x"}).exit_code, 2);
    EXPECT_EQ(run({"outputs", "--workflow=" + wf, "--format=xml"}).exit_code, 2);
    EXPECT_TRUE(entries(out_.path()).empty()) << entries(out_.path())[0];
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

// An export holds the workspace's records. It was created 0666 less the umask (0644),
// and its unnamed file was linked as ".FILE.cargomon-<pid>" before the rename: anyone
// who could write in the folder could plant that name first, and the export failed
// ("cannot name the file"). Here the shell plants it for its own pid, then becomes the
// export.
TEST_F(Export, TheFileIsPrivateAndNoTemporaryNameCanBePlanted) {
    const std::string wf = busiest();
    const std::string victim = conf_.write("victim", "untouched\n");
    const std::string plant = "umask 022 && ln -s '" + victim + "' '" + out_.file(".runs.csv.cargomon-") + "'$$ && ";
    auto r = run({"runs", "--workflow=" + wf, "--created-after=2d", "--output=runs.csv"}, plant);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(mode_of(out_.file("runs.csv")), 0600u);
    EXPECT_GT(lines(read(out_.file("runs.csv"))).size(), 1u);
    EXPECT_EQ(read(victim), "untouched\n");
    auto names = entries(out_.path());
    ASSERT_EQ(names.size(), 2u);  // the file and the planted link, nothing else
    for (const auto& name : names)
        EXPECT_TRUE(name == "runs.csv" || name.rfind(".runs.csv.cargomon-", 0) == 0) << name;

    // --output.mode, exactly, whatever the umask.
    auto shared = run({"runs", "--workflow=" + wf, "--created-after=2d", "--output=shared.csv", "--output.mode=0640"},
                      "umask 077 && ");
    ASSERT_EQ(shared.exit_code, 0) << shared.output;
    EXPECT_EQ(mode_of(out_.file("shared.csv")), 0640u);
    for (const char* bad : {"4755", "0800", "rw-r-----"}) {
        auto refused = run({"runs", "--workflow=" + wf, "--output=x.csv", std::string("--output.mode=") + bad});
        EXPECT_EQ(refused.exit_code, 2) << bad;
        EXPECT_NE(refused.output.find("--output.mode wants permissions in octal"), std::string::npos)
            << refused.output;
    }
    EXPECT_FALSE(fs::exists(out_.file("x.csv")));
}

// Waits until the export `p` holds a file in `dir` with bytes in it (its descriptor in
// /proc, written to): its first page is in its temporary file.
bool wait_midway(const Process& p, const std::string& dir) {
    for (auto until = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < until;) {
        std::error_code ec;
        for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(p.pid()) + "/fd", ec)) {
            std::error_code link_ec;
            const std::string target = fs::read_symlink(fd.path(), link_ec).string();
            struct stat st {};
            if (target.rfind(dir, 0) == 0 && ::stat(fd.path().c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
                st.st_size > 0)
                return true;
        }
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

// The sim trickles every query answer (the first page takes seconds). Cleared however the
// test ends.
struct Trickle {
    explicit Trickle(const SimProcess& sim) : sim(sim) {
        SimClient(sim).put_fault(R"({"endpoint": "/v1/orchestration/query", "slow_ratio": 1, "slow_chunk": 65536,
                                     "slow_interval": "150ms"})");
    }
    ~Trickle() { SimClient(sim).clear_faults(); }
    const SimProcess& sim;
};

// The API goes away once the first of several pages is in the file (a proxy in front of
// the sim refuses from then on, and cuts the page in flight): the export fails, saying so,
// and leaves no file, rather than the rows it had.
TEST_F(Export, AnApiFailureAfterTheFirstPageLeavesNoFile) {
    const Trickle trickle(sim());
    FaultProxy proxy(std::stoi(sim().url().substr(sim().url().rfind(':') + 1)));
    const std::string proxied = conf_.write("proxied.yml", "api_url: " + proxy.url() + "\ntoken: " + sim().token() +
                                                              "\nclient: {rate_limit: 500, retry: {max_attempts: 2}}\n");
    std::vector<std::string> args{daemon_binary(), "export", "query", "--sql=SELECT uuid, record_id, status FROM runs",
                                  "--output=" + out_.file("runs.csv"), "--config.file=" + proxied};
    Process p(ProcessOptions{.argv = args, .output_file = conf_.file("log")});
    ASSERT_TRUE(wait_midway(p, out_.path())) << read(conf_.file("log"));
    ASSERT_TRUE(p.running()) << "the export finished before the API went away";
    proxy.set_mode(FaultProxy::Mode::refuse);
    auto code = p.wait_for(60s);
    ASSERT_TRUE(code.has_value()) << read(conf_.file("log"));
    EXPECT_EQ(*code, 2) << read(conf_.file("log"));
    EXPECT_NE(read(conf_.file("log")).find("cargomon export query: "), std::string::npos) << read(conf_.file("log"));
    EXPECT_TRUE(entries(out_.path()).empty()) << entries(out_.path())[0];
}

// The export is killed once its first page is in its (unnamed) temporary file. Nothing
// may be left in the folder, whichever signal it was (SIGHUP too: a closed terminal).
class KilledMidway : public Export, public ::testing::WithParamInterface<int> {};

TEST_P(KilledMidway, LeavesNoFile) {
    const Trickle trickle(sim());
    ProcessOptions options{.argv = argv({"query", "--sql=SELECT uuid, record_id, status FROM runs",
                                         "--output=" + out_.file("runs.csv")}),
                           .output_file = conf_.file("log")};
    Process p(options);
    ASSERT_TRUE(wait_midway(p, out_.path())) << read(conf_.file("log"));
    ASSERT_TRUE(p.running()) << "the export finished before it could be killed";
    p.signal(GetParam());
    auto code = p.wait_for(10s);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 128 + GetParam());
    EXPECT_TRUE(entries(out_.path()).empty()) << entries(out_.path())[0];
}

INSTANTIATE_TEST_SUITE_P(Signals, KilledMidway, ::testing::Values(SIGKILL, SIGTERM, SIGINT, SIGHUP),
                         [](const auto& info) { return std::string(sigabbrev_np(info.param)); });

}  // namespace
}  // namespace cargomon::testing
