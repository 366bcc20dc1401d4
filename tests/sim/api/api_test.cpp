// The sim's Cargo API over real HTTP, on a private ClickHouse holding a fixture whose
// every row is written here, so each answer can be checked against the exact truth.
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <zlib.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/net.h"
#include "common/timefmt.h"
#include "sim/api/api.h"
#include "sim/clickhouse/schema.h"

using namespace cargomon;
using namespace cargomon::sim;

namespace {

constexpr const char* kToken = "test-token-5ecret";
// More runs than download-outputs allows; a query reading them 100 times reads more
// rows than max_rows_to_read (10,000,000) allows.
constexpr int kBulkRuns = 100'001;

Node node(std::string uuid, std::string slug, NodeKind kind, std::vector<std::string> children = {}) {
    Node n;
    n.uuid = std::move(uuid);
    n.slug = std::move(slug);
    n.kind = kind;
    n.action_slug = kind == NodeKind::native || kind == NodeKind::connector ? n.slug + "_action" : "";
    if (kind == NodeKind::connector) {
        n.integration_slug = "clearbit";
        n.connector_uuid = "conn-1";
    }
    if (kind == NodeKind::agent) n.agent_uuid = "agent-1";
    n.children_uuids = std::move(children);
    return n;
}

Workflow workflow(std::string uuid, WorkflowKind kind, std::string owner, std::string name, bool enabled,
                  std::vector<Node> nodes) {
    Workflow w;
    w.uuid = std::move(uuid);
    w.kind = kind;
    w.owner_uuid = std::move(owner);
    w.name = std::move(name);
    w.enabled = enabled;
    w.release_uuid = "rel-" + w.uuid;
    w.model_uuid = kind == WorkflowKind::play ? "model-1" : "";
    w.segment_uuid = kind == WorkflowKind::play ? "seg-1" : "";
    w.user_uuid = "user-1";
    w.created_at = SystemTime{std::chrono::seconds{1'700'000'000}};
    w.nodes = std::move(nodes);
    return w;
}

std::string temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sim_api_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    return pattern;
}

// One ClickHouse, one fixture, one API server for the whole binary.
class SimApi : public ::testing::Environment {
public:
    static inline SimApi* instance = nullptr;

    void SetUp() override {
        instance = this;
        dir_ = temp_dir();
        clickhouse_server_ = std::make_unique<ClickHouseServer>(dir_ + "/clickhouse");
        ch = std::make_unique<ClickHouseClient>(clickhouse_server_->url());
        now = SystemTime{std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::system_clock::now().time_since_epoch())};
        clock = std::make_unique<FakeClock>(now);
        build_workspaces();
        load_fixture();

        port_ = free_loopback_port();
        base_url = "http://127.0.0.1:" + std::to_string(port_);
        api_ = std::make_unique<Api>(ApiContext{ch.get(), &workspaces, kToken, base_url, clock.get()});
        api_->register_routes(server_);
        if (!server_.bind_to_port("127.0.0.1", port_)) throw std::runtime_error("cannot bind the API port");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }

    void TearDown() override {
        server_.stop();
        thread_.join();
        api_.reset();
        clickhouse_server_.reset();
        std::filesystem::remove_all(dir_);
    }

    std::string at(std::chrono::seconds ago) const { return format_sql_datetime(now - ago); }

    std::unique_ptr<ClickHouseClient> ch;
    std::unique_ptr<FakeClock> clock;
    std::vector<Workspace> workspaces;
    SystemTime now;
    std::string base_url;

private:
    void build_workspaces() {
        Workspace a;
        a.uuid = "ws-a";
        a.database = "simapi_a";
        a.workflows.push_back(workflow("wf-play", WorkflowKind::play, "play-1", "Enrich leads", true,
                                       {node("n1", "start", NodeKind::native, {"n2"}),
                                        node("n2", "enrich", NodeKind::connector, {"n3"}),
                                        node("n3", "write", NodeKind::agent)}));
        {
            // Deployed a day after a first release that ended at "enrich".
            Workflow& play = a.workflows.back();
            play.earlier_releases.push_back(Release{.uuid = "rel-wf-play-v1",
                                                    .version = 1,
                                                    .deployed_at = play.created_at,
                                                    .nodes = {node("n1", "start", NodeKind::native, {"n2"}),
                                                              node("n2", "enrich", NodeKind::connector)}});
            play.release_version = 2;
            play.deployed_at = play.created_at + std::chrono::hours{24};
        }
        a.workflows.push_back(workflow("wf-off", WorkflowKind::play, "play-2", "Paused play", false,
                                       {node("n5", "only", NodeKind::native)}));
        a.workflows.push_back(workflow("wf-tool", WorkflowKind::tool, "tool-1", "Score account", true,
                                       {node("n4", "score", NodeKind::native)}));
        Workspace b;
        b.uuid = "ws-b";
        b.database = "simapi_b";
        b.workflows.push_back(workflow("wf-b", WorkflowKind::tool, "tool-b", "Other", true,
                                       {node("nb", "solo", NodeKind::native)}));
        b.workflows.push_back(workflow("wf-bulk", WorkflowKind::tool, "tool-bulk", "Bulk", true,
                                       {node("nbulk", "bulk", NodeKind::native)}));
        workspaces = {a, b};
    }

    void exec(const std::string& sql) { ch->query(sql); }

    void load_fixture() {
        for (const Workspace& ws : workspaces)
            for (const std::string& stmt : schema_statements(ws.database)) exec(stmt);
        using std::chrono::hours;
        using std::chrono::minutes;
        const std::string t0 = at(minutes{60}), t1 = at(minutes{50}), t2 = at(minutes{40}), t3 = at(minutes{30});
        const std::string old = at(hours{48});
        auto run = [](std::string uuid, std::string wf, std::string batch, std::string status, std::string error,
                      std::string created, bool finished) {
            return "('" + uuid + "','ws-a','" + wf + "',NULL,'rel-" + wf + "'," + batch + ",'tr-" + uuid + "','rec-" +
                   uuid + "','Record " + uuid + "','" + status + "'," + error + ",'" + created + "','" + created +
                   "'," + (finished ? "'" + created + "'" : "NULL") + ")";
        };
        exec("INSERT INTO simapi_a.runs VALUES " + run("r1", "wf-play", "'b1'", "success", "NULL", t0, true) + "," +
             run("r2", "wf-play", "'b1'", "error", "'boom'", t0, true) + "," +
             run("r3", "wf-play", "'b1'", "success", "NULL", t1, true) + "," +
             run("r4", "wf-play", "'b2'", "running", "NULL", t2, false) + "," +
             run("r5", "wf-tool", "NULL", "success", "NULL", old, true) + "," +
             run("r6", "wf-play", "'b2'", "pending", "NULL", t3, false));
        auto batch = [](std::string uuid, std::string wf, std::string status, int runs, int executed, int failed,
                        double credits, std::string created, std::string finished, int version) {
            return "('" + uuid + "','ws-a','" + wf + "',NULL,'rel-" + wf + "','{\"kind\":\"segment\",\"segmentUuid\":\"seg-1\"}','" +
                   status + "'," + (status == "success" ? "'unhealthy'" : "NULL") + "," + std::to_string(runs) + "," +
                   std::to_string(executed) + "," + std::to_string(failed) + "," + std::to_string(credits) +
                   ",NULL,'" + created + "','" + created + "'," + finished + "," + std::to_string(version) + ")";
        };
        exec("INSERT INTO simapi_a.batches_versions VALUES " +
             batch("b1", "wf-play", "running", 3, 1, 0, 1.0, t0, "NULL", 1) + "," +
             batch("b1", "wf-play", "success", 3, 3, 1, 5.5, t0, "'" + t1 + "'", 2) + "," +
             batch("b2", "wf-play", "running", 2, 0, 0, 0.0, t2, "NULL", 1));
        auto span = [](std::string run, std::string wf, std::string batch, std::string node, std::string slug,
                       std::string kind, std::string status, std::string error, double credits, std::string started,
                       bool finished, int index) {
            const bool connector = kind == "connector";
            return "('ws-a','" + wf + "','" + batch + "','tr-" + run + "','rec-" + run + "','Record " + run + "','" +
                   run + "','rel-" + wf + "','" + node + "','" + slug + "','" + kind + "','" +
                   (kind == "agent" ? "" : slug + "_action") + "'," + (connector ? "'conn-1'" : "NULL") + "," +
                   (connector ? "'clearbit'" : "NULL") + ",NULL," + (kind == "agent" ? "'agent-1'" : "NULL") + "," +
                   std::to_string(index) + ",'" + status + "'," + error + "," + std::to_string(credits) + ",'" +
                   started + "','" + started + "'," + (finished ? "'" + started + "'" : "NULL") + ")";
        };
        exec("INSERT INTO simapi_a.spans VALUES " +
             span("r1", "wf-play", "b1", "n1", "start", "native", "success", "NULL", 0, t0, true, 0) + "," +
             span("r1", "wf-play", "b1", "n2", "enrich", "connector", "success", "NULL", 1.5, t0, true, 1) + "," +
             span("r1", "wf-play", "b1", "n3", "write", "agent", "success", "NULL", 1, t0, true, 2) + "," +
             span("r2", "wf-play", "b1", "n1", "start", "native", "success", "NULL", 0, t0, true, 0) + "," +
             span("r2", "wf-play", "b1", "n2", "enrich", "connector", "error", "'rate limited'", 0.5, t0, true, 1) + "," +
             span("r3", "wf-play", "b1", "n1", "start", "native", "success", "NULL", 0, t1, true, 0) + "," +
             span("r3", "wf-play", "b1", "n2", "enrich", "connector", "success", "NULL", 1.5, t1, true, 1) + "," +
             span("r4", "wf-play", "b2", "n1", "start", "native", "success", "NULL", 0, t2, true, 0) + "," +
             span("r4", "wf-play", "b2", "n2", "enrich", "connector", "pending", "NULL", 0, t2, false, 1) + "," +
             span("r6", "wf-play", "b2", "n1", "start", "native", "pending", "NULL", 0, t3, false, 0) + "," +
             span("r5", "wf-tool", "", "n4", "score", "native", "success", "NULL", 2, old, true, 0));
        exec("INSERT INTO simapi_a.records VALUES ('rec-r1','Record r1','ws-a','wf-play','b1','r1','rel-wf-play',"
             "'success',NULL,'" + t0 + "','" + t0 + "','" + t0 + "'),('rec-r2','Record \"two\", quoted','ws-a',"
             "'wf-play','b1','r2','rel-wf-play','error','boom','" + t0 + "','" + t0 + "','" + t0 + "'),"
             // The segment of model-1 (wf-play and wf-off): rec-r1 ran twice, last in error;
             // rec-r4 is wf-off's; rec-r6 has an empty title; rec-r5, a tool's, is no model's.
             "('rec-r1','Record r1','ws-a','wf-play','b1','r3','rel-wf-play','error','boom','" + t1 + "','" + t1 +
             "','" + t1 + "'),('rec-r4','Acme Labs','ws-a','wf-off','b2','r4','rel-wf-off','running',NULL,'" + t2 +
             "','" + t2 + "',NULL),('rec-r6','','ws-a','wf-play','b2','r6','rel-wf-play','pending',NULL,'" + t3 +
             "','" + t3 + "',NULL),('rec-r5','Tool record','ws-a','wf-tool',NULL,'r5','rel-wf-tool','success',"
             "NULL,'" + old + "','" + old + "','" + old + "')");
        // Workspace b: one ordinary run, and a bulk workflow just big enough to hit the caps.
        exec("INSERT INTO simapi_b.runs VALUES ('rb1','ws-b','wf-b',NULL,NULL,NULL,'tr','rec-b','B','success',NULL,'" +
             t0 + "','" + t0 + "','" + t0 + "')");
        exec("INSERT INTO simapi_b.runs (uuid, workspace_uuid, workflow_uuid, status, created_at, updated_at) "
             "SELECT toString(number), 'ws-b', 'wf-bulk', 'success', toDateTime('" + old + "'), toDateTime('" + old +
             "') FROM system.numbers LIMIT " + std::to_string(kBulkRuns));
    }

    std::string dir_;
    std::unique_ptr<ClickHouseServer> clickhouse_server_;
    int port_ = 0;
    std::unique_ptr<Api> api_;
    httplib::Server server_;
    std::thread thread_;
};

[[maybe_unused]] auto* const kEnv = ::testing::AddGlobalTestEnvironment(new SimApi);

SimApi& env() { return *SimApi::instance; }

struct Answer {
    int status = 0;
    std::string body;
    rapidjson::Document json;
};

Answer finish(const httplib::Result& res) {
    Answer a;
    if (!res) throw std::runtime_error("no answer: " + httplib::to_string(res.error()));
    a.status = res->status;
    a.body = res->body;
    a.json.Parse(a.body.c_str());
    return a;
}

httplib::Headers headers(const std::string& workspace = "", const std::string& token = kToken) {
    httplib::Headers h;
    if (!token.empty()) h.emplace("authorization", "Bearer " + token);
    if (!workspace.empty()) h.emplace("selected-workspace-uuid", workspace);
    return h;
}

Answer post(const std::string& path, const std::string& body, const httplib::Headers& h = headers()) {
    httplib::Client cli(env().base_url);
    return finish(cli.Post(("/v1" + path).c_str(), h, body, "application/json"));
}

Answer get(const std::string& path, const httplib::Headers& h = headers()) {
    httplib::Client cli(env().base_url);
    return finish(cli.Get(("/v1" + path).c_str(), h));
}

// The sim's own download URL, fetched as a client would (no token).
httplib::Result fetch(const std::string& url) {
    httplib::Client cli(env().base_url);
    return cli.Get(url.substr(env().base_url.size()).c_str());
}

std::string gunzip(const std::string& data) {
    z_stream zs{};
    inflateInit2(&zs, 15 + 16);
    std::string out(1 << 20, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&zs, Z_FINISH);
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("not a complete gzip stream");
    out.resize(zs.total_out);
    return out;
}

uint64_t sql_count(const std::string& database, const std::string& sql) {
    return std::stoull(env().ch->query(sql + " FORMAT TabSeparated", {{"database", database}}));
}

int64_t api_count(const std::string& path, const std::string& body, const std::string& ws = "") {
    Answer a = post(path, body, headers(ws));
    EXPECT_EQ(a.status, 200) << a.body;
    return a.json.HasMember("count") ? a.json["count"].GetInt64() : -1;
}

size_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

// `reason` "": the answer has none (the typings name none for the route, as for SQL).
void expect_error(const Answer& a, int status, const std::string& reason, const std::string& mentions = "") {
    EXPECT_EQ(a.status, status) << a.body;
    ASSERT_TRUE(a.json.IsObject()) << a.body;
    if (reason.empty()) EXPECT_FALSE(a.json.HasMember("reason")) << a.body;
    else EXPECT_EQ(std::string(a.json["reason"].GetString()), reason) << a.body;
    EXPECT_NE(std::string(a.json["errorMessage"].GetString()).find(mentions), std::string::npos) << a.body;
}

const std::regex kIso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");

bool is_iso(const rapidjson::Value& v) { return v.IsString() && std::regex_match(v.GetString(), kIso); }

}  // namespace

TEST(SimApiAuth, RefusesMissingOrWrongTokenWithoutEchoingIt) {
    Answer none = post("/orchestration/runs/count", "{}", headers("", ""));
    expect_error(none, 401, "unauthorized");
    Answer wrong = post("/orchestration/runs/count", "{}", headers("", "guess-secret"));
    expect_error(wrong, 401, "unauthorized");
    EXPECT_EQ(wrong.body.find("guess-secret"), std::string::npos);
    EXPECT_EQ(wrong.body.find(kToken), std::string::npos);
}

TEST(SimApiAuth, UnknownRouteIsA404WithTheErrorBody) {
    expect_error(get("/orchestration/nothing"), 404, "routeNotFound", "/v1/orchestration/nothing");
}

// As the service's strict schemas: a key the route's type lacks is refused before the
// handler reads anything, with the keys and where they are named.
TEST(SimApiStrict, UnknownKeysAreRefusedWithUnrecognizedKeys) {
    Answer top = post("/orchestration/runs/count", R"({"workflowUuid":"wf-a","bogus":1,"other":2})");
    expect_error(top, 400, "unrecognized_keys", R"(Unrecognized keys: "bogus", "other")");
    // A filter one run route takes and another does not.
    EXPECT_EQ(post("/orchestration/runs/count", R"({"updatedAfter":"2026-01-01T00:00:00Z"})").status, 200);
    expect_error(post("/orchestration/runs/download-outputs", R"({"workflowUuid":"wf-a","updatedAfter":"2026-01-01T00:00:00Z"})"),
                 400, "unrecognized_keys", R"(Unrecognized key: "updatedAfter")");
    expect_error(post("/orchestration/batches", R"({"workflowUuid":"wf-a","data":{"kind":"runs",
        "filter":{"kind":"runs","batchUuid":"b","typo":1},"reset":{"from":"firstNode"}}})"),
                 400, "unrecognized_keys", R"(Unrecognized key: "typo" at data.filter)");
    // GET parameters too, and a route that takes none.
    expect_error(get("/orchestration/batches/list?limit=5&bogus=1"), 400, "unrecognized_keys", R"("bogus")");
    expect_error(get("/orchestration/workflows/list?x[]=1"), 400, "unrecognized_keys", R"("x")");
    EXPECT_EQ(get("/orchestration/batches/list?workflowUuids[]=wf-a&limit=5").status, 200);
}

TEST(SimApiAuth, WorkspaceHeaderSelectsTheDatabase) {
    EXPECT_EQ(api_count("/orchestration/runs/count", "{}"), 6);
    EXPECT_EQ(api_count("/orchestration/runs/count", R"({"workflowUuid":"wf-b"})", "ws-b"), 1);
    expect_error(post("/orchestration/runs/count", "{}", headers("ws-nope")), 403, "workspaceNotAccessible", "ws-nope");
}

TEST(SimApiRuns, CountsAgreeWithSql) {
    const std::pair<const char*, const char*> cases[] = {
        {"{}", "1"},
        {R"({"workflowUuid":"wf-play"})", "workflow_uuid = 'wf-play'"},
        {R"({"statuses":["success","error"]})", "status IN ('success','error')"},
        {R"({"workflowUuid":"wf-play","batchUuid":"b1","statuses":["error"]})",
         "workflow_uuid = 'wf-play' AND batch_uuid = 'b1' AND status = 'error'"},
        {R"({"isFinished":false})", "finished_at IS NULL"},
        {R"({"recordId":"rec-r3"})", "record_id = 'rec-r3'"},
    };
    for (const auto& [body, where] : cases)
        EXPECT_EQ(api_count("/orchestration/runs/count", body),
                  static_cast<int64_t>(sql_count("simapi_a", std::string("SELECT count() FROM runs WHERE ") + where)))
            << body;
    const std::string after = format_iso8601(env().now - std::chrono::minutes{45});
    EXPECT_EQ(api_count("/orchestration/runs/count", R"({"createdAfter":")" + after + "\"}"), 2);  // r4, r6
    EXPECT_EQ(api_count("/orchestration/runs/count", R"({"createdBefore":")" + after + "\"}"), 4);
}

TEST(SimApiRuns, InvalidPayloadsNameTheField) {
    expect_error(post("/orchestration/runs/count", "{not json"), 400, "invalidPayload", "JSON");
    expect_error(post("/orchestration/runs/count", "[]"), 400, "invalidPayload", "object");
    expect_error(post("/orchestration/runs/count", R"({"workflowUuid":5})"), 400, "invalidPayload", "workflowUuid");
    expect_error(post("/orchestration/runs/count", R"({"statuses":["done"]})"), 400, "invalidPayload", "statuses");
    expect_error(post("/orchestration/runs/count", R"({"isFinished":"yes"})"), 400, "invalidPayload", "isFinished");
    expect_error(post("/orchestration/runs/count", R"({"createdAfter":"yesterday"})"), 400, "invalidPayload",
                 "createdAfter");
    expect_error(post("/orchestration/runs/list", R"({"limit":0})"), 400, "invalidPayload", "limit");
    expect_error(post("/orchestration/runs/metrics", "{}"), 400, "invalidPayload", "workflowUuid");
    expect_error(post("/orchestration/spans/count", "{}"), 400, "invalidPayload", "executionStartedAfter");
}

TEST(SimApiRuns, ListHasRunsWithExecutionsAndTheTotal) {
    Answer a = post("/orchestration/runs/list", R"({"workflowUuid":"wf-play","limit":2})");
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.json["count"].GetInt(), 5);
    const auto& runs = a.json["runs"];
    ASSERT_EQ(runs.Size(), 2u);
    EXPECT_STREQ(runs[0]["uuid"].GetString(), "r6");  // newest first
    EXPECT_STREQ(runs[1]["uuid"].GetString(), "r4");
    const auto& r4 = runs[1];
    EXPECT_STREQ(r4["status"].GetString(), "running");
    EXPECT_TRUE(r4["errorMessage"].IsNull());
    EXPECT_TRUE(r4["finishedAt"].IsNull());
    EXPECT_TRUE(r4["userUuid"].IsNull());
    EXPECT_STREQ(r4["batchUuid"].GetString(), "b2");
    EXPECT_STREQ(r4["recordTitle"].GetString(), "Record r4");
    EXPECT_TRUE(is_iso(r4["createdAt"]));
    EXPECT_EQ(std::string(r4["createdAt"].GetString()), format_iso8601(env().now - std::chrono::minutes{40}));
    const auto& ex = r4["executions"];
    ASSERT_EQ(ex.Size(), 2u);
    EXPECT_STREQ(ex[0]["nodeSlug"].GetString(), "start");
    EXPECT_STREQ(ex[1]["nodeKind"].GetString(), "connector");
    EXPECT_STREQ(ex[1]["nodeIntegrationSlug"].GetString(), "clearbit");
    EXPECT_STREQ(ex[1]["status"].GetString(), "pending");
    EXPECT_TRUE(ex[1]["finishedAt"].IsNull());
    EXPECT_TRUE(is_iso(ex[1]["startedAt"]));

    Answer next = post("/orchestration/runs/list", R"({"workflowUuid":"wf-play","limit":1,"offset":3})");
    ASSERT_EQ(next.json["runs"].Size(), 1u);
    const auto& r2 = next.json["runs"][0];
    EXPECT_STREQ(r2["errorMessage"].GetString(), "boom");
    EXPECT_STREQ(r2["executions"][1]["errorMessage"].GetString(), "rate limited");
    EXPECT_DOUBLE_EQ(r2["executions"][1]["creditsUsedCount"].GetDouble(), 0.5);
}

TEST(SimApiRuns, MetricsPerNodeFollowSpansAndRunStates) {
    Answer a = post("/orchestration/runs/metrics", R"({"workflowUuid":"wf-play"})");
    ASSERT_EQ(a.status, 200) << a.body;
    const auto& m = a.json["runMetrics"];
    ASSERT_EQ(m.Size(), 3u);
    EXPECT_STREQ(m[0]["nodeUuid"].GetString(), "n1");
    EXPECT_EQ(m[0]["totalExecutionsCount"].GetInt(), 5);
    EXPECT_EQ(m[0]["successExecutionsCount"].GetInt(), 4);
    EXPECT_EQ(m[0]["pendingExecutionsCount"].GetInt(), 1);  // r6 is pending
    EXPECT_EQ(m[1]["runningExecutionsCount"].GetInt(), 1);  // r4 is running, waiting on enrich
    EXPECT_EQ(m[1]["errorExecutionsCount"].GetInt(), 1);
    EXPECT_DOUBLE_EQ(m[1]["creditsUsedCount"].GetDouble(), 3.5);
    EXPECT_EQ(m[2]["totalExecutionsCount"].GetInt(), 1);
    Answer b1 = post("/orchestration/runs/metrics", R"({"workflowUuid":"wf-play","batchUuid":"b2"})");
    EXPECT_EQ(b1.json["runMetrics"][0]["totalExecutionsCount"].GetInt(), 2);
    EXPECT_EQ(b1.json["runMetrics"][2]["totalExecutionsCount"].GetInt(), 0);
    expect_error(post("/orchestration/runs/metrics", R"({"workflowUuid":"wf-nope"})"), 404, "workflowNotFound");
}

// Newline-delimited JSON of the full run records, gzipped, as Cargo's docs describe it:
// each run with its executions and runContext, each successful execution's output under
// its node's slug.
TEST(SimApiRuns, DownloadIsGzippedJsonLinesOfTheMatchingRuns) {
    Answer a = post("/orchestration/runs/download", R"({"workflowUuid":"wf-play","statuses":["success"]})");
    ASSERT_EQ(a.status, 200) << a.body;
    const std::string url = a.json["url"].GetString();
    EXPECT_EQ(url.rfind(env().base_url + "/_files/", 0), 0u) << url;
    auto file = fetch(url);
    ASSERT_TRUE(file);
    ASSERT_EQ(file->status, 200);
    const std::string text = gunzip(file->body);
    ASSERT_EQ(lines(text), 2u);  // r1, r3
    std::istringstream in(text);
    std::set<std::string> uuids;
    for (std::string line; std::getline(in, line);) {
        rapidjson::Document run;
        run.Parse(line.c_str());
        ASSERT_TRUE(run.IsObject()) << line;
        uuids.insert(run["uuid"].GetString());
        EXPECT_STREQ(run["status"].GetString(), "success");
        ASSERT_TRUE(run["executions"].IsArray());
        const auto& context = run["runContext"];
        ASSERT_TRUE(context.IsObject()) << line;
        int successes = 0;
        for (const auto& e : run["executions"].GetArray()) {
            if (std::string_view(e["status"].GetString()) != "success") continue;
            ++successes;
            EXPECT_TRUE(context.HasMember(e["nodeSlug"].GetString())) << line;
        }
        EXPECT_EQ(static_cast<int>(context.MemberCount()), successes) << line;
        if (context.HasMember("start")) {
            EXPECT_STREQ(context["start"]["_id"].GetString(), run["recordId"].GetString());
        }
    }
    EXPECT_EQ(uuids, (std::set<std::string>{"r1", "r3"}));
}

TEST(SimApiRuns, DownloadOutputsGivesEachRunsLastOutput) {
    Answer a = post("/orchestration/runs/download-outputs",
                    R"({"workflowUuid":"wf-play","batchUuid":"b1","outputNodeSlug":"enrich","format":"json"})");
    ASSERT_EQ(a.status, 200) << a.body;
    auto file = fetch(a.json["url"].GetString());
    ASSERT_TRUE(file);
    rapidjson::Document rows;
    rows.Parse(file->body.c_str());
    ASSERT_TRUE(rows.IsArray()) << file->body;
    ASSERT_EQ(rows.Size(), 3u);
    for (const auto& r : rows.GetArray()) {
        EXPECT_STREQ(r["nodeSlug"].GetString(), "enrich");
        if (std::string(r["runUuid"].GetString()) == "r2") {
            EXPECT_STREQ(r["executionErrorMessage"].GetString(), "rate limited");
        }
    }
    Answer csv = post("/orchestration/runs/download-outputs", R"({"workflowUuid":"wf-play"})");
    ASSERT_EQ(csv.status, 200) << csv.body;
    EXPECT_EQ(lines(fetch(csv.json["url"].GetString())->body), 6u);

    expect_error(post("/orchestration/runs/download-outputs", R"({"workflowUuid":"wf-play","statuses":["skipped"]})"),
                 400, "noRunsFound");
    expect_error(post("/orchestration/runs/download-outputs", R"({"workflowUuid":"wf-play","outputNodeSlug":"x"})"),
                 400, "invalidPayload", "outputNodeSlug");
    expect_error(post("/orchestration/runs/download-outputs", R"({"workflowUuid":"wf-bulk"})", headers("ws-b")), 400,
                 "tooManyRuns");
}

TEST(SimApiRuns, DownloadUrlsAreSignedAndExpire) {
    Answer a = post("/orchestration/runs/download", R"({"workflowUuid":"wf-play"})");
    const std::string url = a.json["url"].GetString();
    auto tampered = fetch(url.substr(0, url.size() - 1) + (url.back() == '0' ? "1" : "0"));
    EXPECT_EQ(tampered->status, 403);
    env().clock->advance(std::chrono::minutes{16});
    auto late = fetch(url);
    env().clock->advance(-std::chrono::minutes{16});
    EXPECT_EQ(late->status, 403);
    EXPECT_NE(late->body.find("urlExpired"), std::string::npos);
    EXPECT_EQ(fetch(url)->status, 200);
}

TEST(SimApiSpans, CountsAgreeWithSql) {
    const std::string after = format_iso8601(env().now - std::chrono::hours{24});
    const std::string since = R"("executionStartedAfter":")" + after + "\"";
    EXPECT_EQ(api_count("/orchestration/spans/count", "{" + since + "}"), 10);
    EXPECT_EQ(api_count("/orchestration/spans/count", "{" + since + R"(,"executionStatuses":["error"]})"),
              static_cast<int64_t>(sql_count("simapi_a", "SELECT count() FROM spans WHERE execution_status = 'error'")));
    EXPECT_EQ(api_count("/orchestration/spans/count", "{" + since + R"(,"nodeKind":"connector","nodeSlug":"enrich"})"), 4);
    expect_error(post("/orchestration/spans/count", "{" + since + R"(,"nodeKind":"robot"})"), 400, "invalidPayload",
                 "nodeKind");
}

TEST(SimApiBatches, ListFiltersWithAxiosStyleParams) {
    Answer all = get("/orchestration/batches/list");
    ASSERT_EQ(all.status, 200) << all.body;
    ASSERT_EQ(all.json["batches"].Size(), 2u);
    const auto& b1 = all.json["batches"][1];  // newest first: b2, b1
    EXPECT_STREQ(b1["uuid"].GetString(), "b1");
    EXPECT_STREQ(b1["status"].GetString(), "success");  // the latest version only
    EXPECT_EQ(b1["failedRunsCount"].GetInt(), 1);
    EXPECT_DOUBLE_EQ(b1["creditsUsedCount"].GetDouble(), 5.5);
    EXPECT_STREQ(b1["runsStatus"].GetString(), "unhealthy");
    EXPECT_STREQ(b1["data"]["kind"].GetString(), "segment");
    EXPECT_TRUE(is_iso(b1["finishedAt"]));
    EXPECT_TRUE(all.json["batches"][0]["finishedAt"].IsNull());

    EXPECT_EQ(get("/orchestration/batches/list?workflowUuids[]=wf-play&workflowUuids[]=wf-tool&isFinished=true")
                  .json["batches"].Size(), 1u);
    EXPECT_EQ(get("/orchestration/batches/list?workflowUuids%5B%5D=wf-tool").json["batches"].Size(), 0u);
    EXPECT_EQ(get("/orchestration/batches/list?statuses[]=running").json["batches"].Size(), 1u);
    EXPECT_EQ(get("/orchestration/batches/list?limit=1&offset=1").json["batches"][0]["uuid"].GetString(),
              std::string("b1"));
    expect_error(get("/orchestration/batches/list?statuses[]=done"), 400, "invalidPayload", "statuses");
    expect_error(get("/orchestration/batches/list?limit=ten"), 400, "invalidPayload", "limit");
}

TEST(SimApiBatches, GetAndDownload) {
    Answer b = get("/orchestration/batches/b1");
    ASSERT_EQ(b.status, 200) << b.body;
    EXPECT_EQ(b.json["batch"]["runsCount"].GetInt(), 3);
    expect_error(get("/orchestration/batches/nope"), 404, "batchNotFound");
    expect_error(post("/orchestration/batches/nope/download", "{}"), 404, "batchNotFound");
    expect_error(post("/orchestration/batches/b2/download", "{}"), 400, "batchNotFinished");
    Answer d = post("/orchestration/batches/b1/download", R"({"outputNodeSlug":"start"})");
    ASSERT_EQ(d.status, 200) << d.body;
    auto file = fetch(d.json["url"].GetString());
    EXPECT_EQ(lines(file->body), 4u);
    EXPECT_NE(file->body.find("\"start\""), std::string::npos);
}

TEST(SimApiBatches, CreateReRunValidatesAndAnswersAPendingBatch) {
    // In workspace b, whose batches no other test counts.
    const std::string body =
        R"({"workflowUuid":"wf-b","data":{"kind":"runs","filter":{"kind":"runs","batchUuid":"b1","statuses":["error"]},"reset":{"from":"firstNode"}}})";
    Answer a = post("/orchestration/batches", body, headers("ws-b"));
    ASSERT_EQ(a.status, 200) << a.body;
    const auto& batch = a.json["batch"];
    EXPECT_STREQ(batch["status"].GetString(), "pending");
    EXPECT_STREQ(batch["data"]["reset"]["from"].GetString(), "firstNode");
    EXPECT_TRUE(batch["finishedAt"].IsNull());
    const std::string uuid = batch["uuid"].GetString();
    Answer again = get("/orchestration/batches/" + uuid, headers("ws-b"));
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_STREQ(again.json["batch"]["data"]["filter"]["batchUuid"].GetString(), "b1");
    EXPECT_STREQ(again.json["batch"]["workflowUuid"].GetString(), "wf-b");

    expect_error(post("/orchestration/batches", R"({"workflowUuid":"wf-play"})"), 400, "invalidPayload", "data");
    expect_error(post("/orchestration/batches", R"({"workflowUuid":"wf-play","data":{"kind":"teleport"}})"), 400,
                 "invalidPayload", "data.kind");
    expect_error(post("/orchestration/batches",
                      R"({"workflowUuid":"wf-play","data":{"kind":"runs","filter":{"kind":"runs"},"reset":{"from":"middle"}}})"),
                 400, "invalidPayload", "data.reset.from");
    expect_error(post("/orchestration/batches", R"({"workflowUuid":"wf-x","data":{"kind":"segment"}})"), 404,
                 "workflowNotFound");
}

namespace {

// Every field the official typings (@cargo-ai/types) declare without `?` is in the answer;
// a `T | null` one may be null, never absent.
void expect_fields(const rapidjson::Value& object, std::initializer_list<const char*> names, const std::string& what) {
    ASSERT_TRUE(object.IsObject()) << what;
    for (const char* name : names) EXPECT_TRUE(object.HasMember(name)) << what << " has no " << name;
}

void expect_batch_fields(const rapidjson::Value& b, const std::string& what) {
    expect_fields(b, {"uuid", "workspaceUuid", "workflowUuid", "userUuid", "releaseUuid", "nodes", "temporalWorkflowId",
                      "traceUuid", "data", "errorMessage", "status", "runsStatus", "runsCount", "executedRunsCount",
                      "failedRunsCount", "creditsUsedCount", "createdAt", "updatedAt", "finishedAt"},
                  what);
    EXPECT_TRUE(b["data"].IsObject()) << what;
    EXPECT_TRUE(b["temporalWorkflowId"].IsString()) << what;
}

}  // namespace

TEST(SimApiContract, EveryRequiredFieldIsPresentNullWhenEmpty) {
    // Held in a local: a range-for over a temporary Answer's array reads freed memory.
    const Answer batches = get("/orchestration/batches/list");
    for (const auto& b : batches.json["batches"].GetArray()) {
        expect_batch_fields(b, "batches/list");
        EXPECT_TRUE(b["errorMessage"].IsNull());  // present though no batch of the fixture failed
    }
    expect_batch_fields(get("/orchestration/batches/b2").json["batch"], "batches/{uuid}");

    Answer runs = post("/orchestration/runs/list", R"({"limit":10})");
    ASSERT_EQ(runs.status, 200) << runs.body;
    for (const auto& r : runs.json["runs"].GetArray()) {
        expect_fields(r, {"uuid", "workspaceUuid", "workflowUuid", "userUuid", "releaseUuid", "nodes", "batchUuid",
                          "traceUuid", "temporalWorkflowId", "recordId", "recordTitle", "contextS3Filename",
                          "computedConfigsS3Filename", "parentUuid", "parentNodeUuid", "parentBatchUuid",
                          "parentAgentUuid", "parentChatUuid", "parentMessageUuid", "isGroupParent", "status",
                          "errorMessage", "executions", "createdAt", "updatedAt", "finishedAt", "deletedAt"},
                      "run");
        for (const auto& e : r["executions"].GetArray()) {
            expect_fields(e, {"nodeUuid", "nodeSlug", "nodeKind", "nodeBatchUuid", "nodeRunUuid", "nodeMessageUuid",
                              "nodeChildIndex", "nextNodeUuid", "status", "errorMessage", "title", "iconUrl",
                              "creditsUsedCount", "startedAt", "updatedAt", "finishedAt", "nodeWaitUntilFinished"},
                          "execution");
            const std::string kind = e["nodeKind"].GetString();
            if (kind == "native") expect_fields(e, {"nodeActionSlug"}, "native execution");
            if (kind == "connector")
                expect_fields(e, {"nodeActionSlug", "nodeConnectorUuid", "nodeIntegrationSlug"}, "connector execution");
            if (kind == "agent") expect_fields(e, {"nodeAgentUuid", "nodeReleaseUuid"}, "agent execution");
        }
    }

    const Answer workflows = get("/orchestration/workflows/list");
    for (const auto& w : workflows.json["workflows"].GetArray()) {
        expect_fields(w, {"uuid", "workspaceUuid", "nodes", "createdAt", "updatedAt", "deletedAt", "playUuid", "toolUuid",
                          "folderUuid", "template", "lastBatch", "deployedRelease"},
                      "workflow");
        if (w["lastBatch"].IsObject())
            expect_fields(w["lastBatch"], {"uuid", "status", "runsStatus", "errorMessage", "createdAt", "finishedAt"},
                          "lastBatch");
        ASSERT_TRUE(w["deployedRelease"].IsObject());
        expect_fields(w["deployedRelease"], {"uuid", "userUuid", "description", "version", "nodes", "formFields",
                                             "templateSlug", "deployedAt", "createdAt"},
                      "deployedRelease");
        for (const auto& n : w["deployedRelease"]["nodes"].GetArray())
            expect_fields(n, {"uuid", "slug", "kind", "config", "childrenUuids", "fallbackOnFailure", "position"},
                          "release node");
    }
    const Answer plays = get("/orchestration/plays/list");
    for (const auto& p : plays.json["plays"].GetArray())
        expect_fields(p, {"uuid", "workspaceUuid", "workflowUuid", "userUuid", "modelUuid", "segmentUuid", "changeKinds",
                          "runCreationRule", "name", "description", "schedule", "isEnabled", "healthThreshold",
                          "healthAlertActions", "folderUuid", "createdAt", "updatedAt", "deletedAt"},
                      "play");
    const Answer tools = get("/orchestration/tools/list");
    for (const auto& t : tools.json["tools"].GetArray())
        expect_fields(t, {"uuid", "icon", "workspaceUuid", "workflowUuid", "userUuid", "name", "folderUuid",
                          "creditsCost", "description", "isReadOnly", "triggers", "publicForm", "createdAt",
                          "updatedAt", "deletedAt"},
                      "tool");
}

TEST(SimApiBatches, CreateByRecordIdsNeedsThePlaysModel) {
    // wf-b is a tool's workflow: it has no model to take record ids from.
    expect_error(post("/orchestration/batches",
                      R"({"workflowUuid":"wf-b","data":{"kind":"recordIds","modelUuid":"model-1","ids":["rec-b"]}})",
                      headers("ws-b")),
                 400, "invalidDataKind", "tool");
    expect_error(post("/orchestration/batches", R"({"workflowUuid":"wf-play","data":{"kind":"recordIds","modelUuid":"model-1","ids":[]}})"),
                 400, "invalidPayload", "data.ids");
    expect_error(post("/orchestration/batches", R"({"workflowUuid":"wf-play","data":{"kind":"recordIds","modelUuid":"m-x","ids":["a"]}})"),
                 400, "invalidDataKind", "m-x");
    expect_error(post("/orchestration/batches",
                      R"({"workflowUuid":"wf-play","data":{"kind":"runs","filter":{"kind":"runs","uuids":[7]},"reset":{"from":"firstNode"}}})"),
                 400, "invalidPayload", "data.filter.uuids");
}

// What workspace a's spans used this month (UTC), as ClickHouse sums them.
double spent_this_month() {
    return std::stod(env().ch->query(
        "SELECT sum(execution_credits_used_count) FROM spans WHERE execution_started_at >= toStartOfMonth(now(), 'UTC') "
        "FORMAT TabSeparated", {{"database", "simapi_a"}}));
}

// A second API on the same ClickHouse, serving with `subscription`, for one request.
Answer with_subscription(std::optional<SubscriptionPlan> subscription, const std::string& method,
                         const std::string& path, const std::string& body = "") {
    const int port = free_loopback_port();
    Api api(ApiContext{env().ch.get(), &env().workspaces, kToken, "http://127.0.0.1:" + std::to_string(port),
                       env().clock.get(), subscription});
    httplib::Server server;
    api.register_routes(server);
    if (!server.bind_to_port("127.0.0.1", port)) throw std::runtime_error("cannot bind a free port");
    std::thread serving([&] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{5});
    httplib::Client cli("127.0.0.1", port);
    auto res = method == "GET" ? cli.Get("/v1" + path, headers())
                               : cli.Post("/v1" + path, headers(), body, "application/json");
    server.stop();
    serving.join();
    Answer a;
    if (!res) return a;
    a.status = res->status;
    a.body = res->body;
    a.json.Parse(res->body.c_str());
    return a;
}

TEST(SimApiBilling, TheSubscriptionIsTheMonthsBalanceWithEveryFieldOfTheTypings) {
    const double spent = spent_this_month();
    ASSERT_GT(spent, 0);
    // The plan's credits cover half of what was spent, the additional ones the other half
    // and as much again.
    Answer a = with_subscription(SubscriptionPlan{.credits_per_month = spent / 2, .additional_credits = spent}, "GET",
                                 "/billing/subscriptions");
    ASSERT_EQ(a.status, 200) << a.body;
    const auto& sub = a.json["subscription"];
    EXPECT_NEAR(sub["subscriptionCreditsUsedCount"].GetDouble(), spent, 1e-6);
    EXPECT_EQ(sub["subscriptionAvailableCreditsCount"].GetDouble(), 0);
    EXPECT_NEAR(sub["additionalAvailableCreditsCount"].GetDouble(), spent / 2, 1e-6);
    EXPECT_TRUE(sub["hasCredits"].GetBool());
    EXPECT_STREQ(sub["creditsOverageBehaviors"][0]["unit"].GetString(), "billing.credits");
    EXPECT_STREQ(sub["creditsOverageBehaviors"][0]["action"].GetString(), "deny");
    // Monthly: from the first of this month (UTC) to the first of the next.
    const auto now = env().clock->now();
    const std::chrono::year_month_day today{std::chrono::floor<std::chrono::days>(now)};
    const SystemTime start = std::chrono::sys_days{today.year() / today.month() / 1};
    EXPECT_EQ(parse_iso8601(sub["startAt"].GetString()), start);
    EXPECT_EQ(parse_iso8601(sub["resetAt"].GetString()),
              SystemTime{std::chrono::sys_days{(today.year() / today.month() / 1) + std::chrono::months{1}}});
    for (const char* field :
         {"uuid", "workspaceUuid", "provider", "customerOrbId", "customerStripeId", "subscriptionStatus",
          "subscriptionStripeId", "creditsConsumptionBehaviors", "createdAt", "updatedAt", "plan", "cadence",
          "fixedPrice", "conversionRate", "endAt", "hasPendingChange", "futureChange", "topup"})
        EXPECT_TRUE(sub.HasMember(field)) << field;
    EXPECT_TRUE(sub["endAt"].IsNull());
    EXPECT_TRUE(sub["topup"].IsNull());
    EXPECT_STREQ(sub["cadence"].GetString(), "monthly");

    // Overage allowed, everything spent.
    a = with_subscription(SubscriptionPlan{.credits_per_month = 1, .overage_denied = false}, "GET",
                          "/billing/subscriptions");
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.json["subscription"]["subscriptionAvailableCreditsCount"].GetDouble(), 0);
    EXPECT_FALSE(a.json["subscription"]["hasCredits"].GetBool());
    EXPECT_STREQ(a.json["subscription"]["creditsOverageBehaviors"][0]["action"].GetString(), "allow");

    expect_error(with_subscription(std::nullopt, "GET", "/billing/subscriptions"), 404, "subscriptionNotFound");
}

TEST(SimApiCatalog, WorkflowsCarryTheirLastBatch) {
    Answer a = get("/orchestration/workflows/list");
    ASSERT_EQ(a.status, 200) << a.body;
    const auto& wfs = a.json["workflows"];
    ASSERT_EQ(wfs.Size(), 3u);
    EXPECT_STREQ(wfs[0]["uuid"].GetString(), "wf-play");
    EXPECT_STREQ(wfs[0]["playUuid"].GetString(), "play-1");
    EXPECT_TRUE(wfs[0]["toolUuid"].IsNull());
    EXPECT_STREQ(wfs[0]["lastBatch"]["uuid"].GetString(), "b2");
    EXPECT_STREQ(wfs[0]["nodes"][0]["nodes"][0]["slug"].GetString(), "enrich");  // the graph as a tree
    EXPECT_TRUE(wfs[2]["lastBatch"].IsNull());
    EXPECT_STREQ(wfs[2]["toolUuid"].GetString(), "tool-1");
    EXPECT_FALSE(wfs[0].HasMember("name"));
}

TEST(SimApiCatalog, PlaysFilterOnEnabledAndToolsList) {
    EXPECT_EQ(get("/orchestration/plays/list").json["plays"].Size(), 2u);
    Answer off = get("/orchestration/plays/list?isEnabled=false");
    ASSERT_EQ(off.json["plays"].Size(), 1u);
    EXPECT_STREQ(off.json["plays"][0]["name"].GetString(), "Paused play");
    EXPECT_EQ(off.json["plays"][0]["healthThreshold"].GetInt(), 80);
    Answer tools = get("/orchestration/tools/list");
    ASSERT_EQ(tools.json["tools"].Size(), 1u);
    EXPECT_STREQ(tools.json["tools"][0]["workflowUuid"].GetString(), "wf-tool");
    EXPECT_STREQ(tools.json["tools"][0]["name"].GetString(), "Score account");
}

TEST(SimApiBilling, UsagePerDayGroupedByWorkflow) {
    const std::string from = format_iso8601(env().now - std::chrono::hours{72});
    const std::string to = format_iso8601(env().now + std::chrono::hours{1});
    Answer a = get("/billing/usage/metrics?from=" + from + "&to=" + to + "&groupBy=workflow_uuid&unit=billing.credits");
    ASSERT_EQ(a.status, 200) << a.body;
    double play = 0, tool = 0;
    for (const auto& day : a.json["metrics"].GetArray()) {
        EXPECT_TRUE(is_iso(day["date"]));
        EXPECT_NE(std::string(day["date"].GetString()).find("T00:00:00.000Z"), std::string::npos);
        for (const auto& item : day["items"].GetArray()) {
            (std::string(item["groupBy"].GetString()) == "wf-play" ? play : tool) += item["count"].GetDouble();
            EXPECT_TRUE(item["slug"].IsString());
        }
    }
    EXPECT_DOUBLE_EQ(play, 4.5);
    EXPECT_DOUBLE_EQ(tool, 2.0);
    Answer ex = get("/billing/usage/metrics?from=" + from + "&to=" + to + "&unit=orchestration.executions");
    int64_t executions = 0;
    for (const auto& day : ex.json["metrics"].GetArray())
        for (const auto& item : day["items"].GetArray()) {
            executions += item["count"].GetInt64();
            EXPECT_TRUE(item["groupBy"].IsNull());
        }
    EXPECT_EQ(executions, 11);
    expect_error(get("/billing/usage/metrics?to=" + to), 400, "invalidPayload", "from");
    expect_error(get("/billing/usage/metrics?from=" + from + "&to=" + to + "&groupBy=color"), 400, "invalidPayload",
                 "groupBy");
}

// The segment of model-1 (the fixture's records of wf-play and wf-off), one row per record:
// id        title                  status   runs_count created_at updated_at
// rec-r1    Record r1              error    2          t0         t1
// rec-r2    Record "two", quoted   error    1          t0         t0
// rec-r4    Acme Labs              running  1          t2         t2
// rec-r6    (empty)                pending  1          t3         t3
namespace {

using Ids = std::vector<std::string>;
const Ids kAll = {"rec-r1", "rec-r2", "rec-r4", "rec-r6"};

Answer segment(const std::string& filter, const std::string& more = "") {
    return post("/segmentation/segments/download", R"({"modelUuid":"model-1","filter":)" + filter + more + "}");
}

// The ids of the segment's CSV, in its order; the whole answer when it is not a 200.
Ids segment_ids(const std::string& filter, const std::string& more = "") {
    Answer a = segment(filter, more);
    if (a.status != 200 || !a.json.HasMember("urls")) return {a.body};
    auto file = fetch(a.json["urls"][0].GetString());
    Ids ids;
    std::istringstream in(file->body);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) ids.push_back(line.substr(1, line.find('"', 1) - 1));
    return ids;
}

// A filter of one group of `conditions` (JSON objects, comma-separated) joined by `conj`.
std::string group(const std::string& conditions, const std::string& conj = "and") {
    return R"({"conjonction":")" + conj + R"(","conditions":[)" + conditions + "]}";
}
std::string where(const std::string& conditions, const std::string& conj = "and") {
    return R"({"conjonction":"and","groups":[)" + group(conditions, conj) + "]}";
}
std::string text_is(const std::string& column, const std::string& op, const std::string& values) {
    return R"({"kind":"string","columnSlug":")" + column + R"(","operator":")" + op + R"(","values":)" + values + "}";
}
std::string only(const std::string& kind, const std::string& column, const std::string& op) {
    return R"({"kind":")" + kind + R"(","columnSlug":")" + column + R"(","operator":")" + op + R"("})";
}
std::string compared(const std::string& kind, const std::string& column, const std::string& op,
                     const std::string& value) {
    return R"({"kind":")" + kind + R"(","columnSlug":")" + column + R"(","operator":")" + op + R"(","value":)" +
           value + "}";
}
std::string between(const std::string& kind, const std::string& column, const std::string& first,
                    const std::string& last) {
    return R"({"kind":")" + kind + R"(","columnSlug":")" + column + R"(","operator":"between","firstValue":)" +
           first + R"(,"lastValue":)" + last + "}";
}
std::string ago(int minutes) { return "\"" + format_iso8601(env().now - std::chrono::minutes{minutes}) + "\""; }

}  // namespace

TEST(SimApiSegments, DownloadServesTheModelsRecordsAsACsv) {
    Answer a = segment(R"({"conjonction":"and","groups":[]})");
    ASSERT_EQ(a.status, 200) << a.body;
    ASSERT_EQ(a.json["urls"].Size(), 1u);
    auto file = fetch(a.json["urls"][0].GetString());
    const std::string t0 = format_iso8601(env().now - std::chrono::minutes{60});
    const std::string t1 = format_iso8601(env().now - std::chrono::minutes{50});
    EXPECT_EQ(file->body.substr(0, file->body.find('\n')), "id,title,status,runs_count,created_at,updated_at");
    EXPECT_EQ(lines(file->body), 5u) << file->body;
    EXPECT_NE(file->body.find("\n\"rec-r1\",\"Record r1\",\"error\",\"2\",\"" + t0 + "\",\"" + t1 + "\"\n"),
              std::string::npos)
        << file->body;
    EXPECT_NE(file->body.find(R"("rec-r2","Record ""two"", quoted","error","1",)"), std::string::npos) << file->body;
    EXPECT_EQ(file->body.find("rec-r5"), std::string::npos) << "a tool's record is no model's";
    expect_error(segment(R"({"conjonction":"xor","groups":[]})"), 400, "invalidFilter", "conjonction");
    expect_error(post("/segmentation/segments/download", R"({"filter":{"conjonction":"and","groups":[]}})"), 400,
                 "invalidPayload", "modelUuid");
    expect_error(post("/segmentation/segments/download", R"({"modelUuid":"model-1"})"), 400, "invalidPayload",
                 "filter");
    expect_error(post("/segmentation/segments/download", R"({"modelUuid":"m-x","filter":{"conjonction":"and","groups":[]}})"),
                 404, "modelNotFound");
}

TEST(SimApiSegments, StringConditions) {
    EXPECT_EQ(segment_ids(where(text_is("status", "is", R"("error")"))), (Ids{"rec-r1", "rec-r2"}));
    EXPECT_EQ(segment_ids(where(text_is("status", "is", R"(["running","pending","nope"])"))), (Ids{"rec-r4", "rec-r6"}));
    EXPECT_EQ(segment_ids(where(text_is("status", "isNot", R"(["error","running"])"))), (Ids{"rec-r6"}));
    EXPECT_EQ(segment_ids(where(text_is("status", "is", "[]"))), Ids{});
    EXPECT_EQ(segment_ids(where(text_is("title", "contains", R"(["two","Labs"])"))), (Ids{"rec-r2", "rec-r4"}));
    EXPECT_EQ(segment_ids(where(text_is("title", "doesNotContain", R"("Record")"))), (Ids{"rec-r4", "rec-r6"}));
    EXPECT_EQ(segment_ids(where(text_is("title", "startsWith", R"("Record \"")"))), (Ids{"rec-r2"}));
    EXPECT_EQ(segment_ids(where(text_is("id", "endsWith", R"(["r4","r6"])"))), (Ids{"rec-r4", "rec-r6"}));
    EXPECT_EQ(segment_ids(where(only("string", "title", "isEmpty"))), (Ids{"rec-r6"}));
    EXPECT_EQ(segment_ids(where(only("string", "title", "isNotEmpty"))), (Ids{"rec-r1", "rec-r2", "rec-r4"}));
    // No column of the sim's model is ever null.
    EXPECT_EQ(segment_ids(where(only("string", "title", "isNull"))), Ids{});
    EXPECT_EQ(segment_ids(where(only("string", "status", "isNotNull"))), kAll);
    EXPECT_EQ(segment_ids(where(only("any", "runs_count", "isNull"))), Ids{});
    EXPECT_EQ(segment_ids(where(only("any", "created_at", "isNotNull"))), kAll);
}

TEST(SimApiSegments, NumberConditions) {
    EXPECT_EQ(segment_ids(where(compared("number", "runs_count", "is", "2"))), (Ids{"rec-r1"}));
    EXPECT_EQ(segment_ids(where(compared("number", "runs_count", "isNot", "2.0"))), (Ids{"rec-r2", "rec-r4", "rec-r6"}));
    EXPECT_EQ(segment_ids(where(compared("number", "runs_count", "greaterThan", "1.5"))), (Ids{"rec-r1"}));
    EXPECT_EQ(segment_ids(where(compared("number", "runs_count", "lowerThan", "2"))), (Ids{"rec-r2", "rec-r4", "rec-r6"}));
    EXPECT_EQ(segment_ids(where(between("number", "runs_count", "2", "5"))), (Ids{"rec-r1"}));
    EXPECT_EQ(segment_ids(where(between("number", "runs_count", "0", "1"))), (Ids{"rec-r2", "rec-r4", "rec-r6"}));
    EXPECT_EQ(segment_ids(where(only("number", "runs_count", "isNotNull"))), kAll);
}

TEST(SimApiSegments, DateConditionsCompareInstants) {
    EXPECT_EQ(segment_ids(where(compared("date", "created_at", "is", ago(60)))), (Ids{"rec-r1", "rec-r2"}));
    EXPECT_EQ(segment_ids(where(compared("date", "created_at", "isNot", ago(60)))), (Ids{"rec-r4", "rec-r6"}));
    EXPECT_EQ(segment_ids(where(compared("date", "created_at", "greaterThan", ago(60)))), (Ids{"rec-r4", "rec-r6"}));
    EXPECT_EQ(segment_ids(where(compared("date", "updated_at", "lowerThan", ago(40)))), (Ids{"rec-r1", "rec-r2"}));
    // Both bounds included.
    EXPECT_EQ(segment_ids(where(between("date", "updated_at", ago(50), ago(40)))), (Ids{"rec-r1", "rec-r4"}));
    // The same instant written in another zone, and a bare date (its midnight UTC).
    const SystemTime t2 = env().now - std::chrono::minutes{40};
    std::string in_paris = format_iso8601(t2 + std::chrono::hours{1});
    in_paris.replace(in_paris.size() - 1, 1, "+01:00");
    EXPECT_EQ(segment_ids(where(compared("date", "created_at", "is", "\"" + in_paris + "\""))), (Ids{"rec-r4"}));
    EXPECT_EQ(segment_ids(where(compared("date", "created_at", "greaterThan", R"("2000-01-01")"))), kAll);
    EXPECT_EQ(segment_ids(where(compared("date", "created_at", "lowerThan", R"("2000-01-02")"))), Ids{});
    const std::string tomorrow = format_iso8601(env().now + std::chrono::hours{24}).substr(0, 10);
    EXPECT_EQ(segment_ids(where(between("date", "created_at", R"("2000-01-01")", "\"" + tomorrow + "\""))), kAll);
}

TEST(SimApiSegments, GroupsAndConditionsCombineByTheirConjonctions) {
    const std::string error = text_is("status", "is", R"("error")");
    const std::string acme = text_is("title", "startsWith", R"("Acme")");
    const std::string reruns = compared("number", "runs_count", "greaterThan", "1");
    const std::string pending = text_is("status", "is", R"("pending")");
    EXPECT_EQ(segment_ids(where(error + "," + acme, "or")), (Ids{"rec-r1", "rec-r2", "rec-r4"}));
    EXPECT_EQ(segment_ids(where(error + "," + acme, "and")), Ids{});
    EXPECT_EQ(segment_ids(where(error + "," + reruns, "and")), (Ids{"rec-r1"}));
    EXPECT_EQ(segment_ids(R"({"conjonction":"and","groups":[)" + group(error) + "," + group(reruns) + "]}"),
              (Ids{"rec-r1"}));
    EXPECT_EQ(segment_ids(R"({"conjonction":"or","groups":[)" + group(pending) + "," + group(reruns) + "]}"),
              (Ids{"rec-r1", "rec-r6"}));
    EXPECT_EQ(segment_ids(R"({"conjonction":"or","groups":[)" + group(pending + "," + acme, "or") + "," +
                          group(error + "," + reruns) + "]}"),
              (Ids{"rec-r1", "rec-r4", "rec-r6"}));
    // A group without conditions holds, whatever its conjonction; no groups is every record.
    EXPECT_EQ(segment_ids(R"({"conjonction":"and","groups":[)" + group("", "or") + "," + group(acme) + "]}"),
              (Ids{"rec-r4"}));
    EXPECT_EQ(segment_ids(R"({"conjonction":"or","groups":[]})"), kAll);
}

TEST(SimApiSegments, SortThenLimit) {
    const std::string all = R"({"conjonction":"and","groups":[]})";
    EXPECT_EQ(segment_ids(all, R"(,"sort":[])"), kAll);
    EXPECT_EQ(segment_ids(all, R"(,"sort":null)"), kAll);
    EXPECT_EQ(segment_ids(all, R"(,"sort":[{"columnSlug":"id","kind":"desc"}])"),
              (Ids{"rec-r6", "rec-r4", "rec-r2", "rec-r1"}));
    // rec-r1 and rec-r2 were both created at t0: the id breaks the tie.
    EXPECT_EQ(segment_ids(all, R"(,"sort":[{"columnSlug":"created_at","kind":"desc"}])"),
              (Ids{"rec-r6", "rec-r4", "rec-r1", "rec-r2"}));
    EXPECT_EQ(segment_ids(all, R"(,"sort":[{"columnSlug":"status","kind":"asc"},{"columnSlug":"runs_count","kind":"asc"}])"),
              (Ids{"rec-r2", "rec-r1", "rec-r6", "rec-r4"}));
    EXPECT_EQ(segment_ids(all, R"(,"sort":[{"columnSlug":"title","kind":"asc"}])"),
              (Ids{"rec-r6", "rec-r4", "rec-r2", "rec-r1"}));
    EXPECT_EQ(segment_ids(all, R"(,"sort":[{"columnSlug":"created_at","kind":"desc"}],"limit":2)"),
              (Ids{"rec-r6", "rec-r4"}));
    EXPECT_EQ(segment_ids(where(text_is("status", "is", R"("error")")),
                          R"(,"sort":[{"columnSlug":"updated_at","kind":"asc"}],"limit":1)"),
              (Ids{"rec-r2"}));
}

TEST(SimApiSegments, RefusesWhatItCannotEvaluate) {
    auto refused = [](const std::string& condition, const std::string& mentions) {
        SCOPED_TRACE(condition);
        expect_error(segment(where(only("any", "id", "isNotNull") + "," + condition)), 400, "invalidFilter",
                     "groups[0].conditions[1]: " + mentions);
    };
    refused(text_is("country", "is", R"("FR")"), "unknown column \"country\"");
    refused(compared("number", "status", "is", "1"), "column \"status\" is a string, not a number");
    refused(text_is("runs_count", "is", R"("1")"), "column \"runs_count\" is a number, not a string");
    refused(compared("date", "title", "is", R"("2026-01-01")"), "column \"title\" is a string, not a date");
    refused(only("boolean", "id", "isTrue"), "column \"id\" is a string, not a boolean");
    refused(compared("string", "title", "greaterThan", R"("a")"), "unknown operator \"greaterThan\" for kind string");
    refused(only("number", "runs_count", "isEmpty"), "unknown operator \"isEmpty\"");
    refused(only("any", "title", "is"), "unknown operator \"is\" for kind any");
    refused(only("number", "runs_count", "is"), "value is required");
    refused(compared("number", "runs_count", "is", R"("2")"), "value must be a number");
    refused(R"({"kind":"number","columnSlug":"runs_count","operator":"between","firstValue":1})", "lastValue is required");
    refused(only("string", "title", "contains"), "values is required");
    refused(text_is("title", "is", "3"), "values must be a string or an array of strings");
    refused(text_is("title", "is", R"(["a",3])"), "values[1] must be a string");
    refused(compared("date", "created_at", "is", R"("yesterday")"), "value must be an ISO-8601 date or datetime");
    refused(compared("date", "created_at", "is", "1700000000"), "value must be a string");
    refused(R"({"kind":"sql","name":"x","clause":"1=1"})", "kind \"sql\" is not evaluated by the sim");
    for (const char* kind : {"object", "array", "vector", "objectProperty", "occurrence", "enrollment", "segment"})
        refused(only(kind, "id", "isNull"), "kind \"" + std::string(kind) + "\" is not evaluated");
    refused(only("color", "id", "isNull"), "unknown kind \"color\"");
    refused(R"({"columnSlug":"id","operator":"isNull"})", "kind is required");
    refused(R"("status = error")", "must be an object");
    refused(R"({"kind":"any","columnSlug":"id","operator":"isNull","relatedModelUuid":"model-2"})",
            "relatedModelUuid");
    expect_error(segment(R"({"conjonction":"and","groups":[{"conditions":[]}]})"), 400, "invalidFilter",
                 "groups[0].conjonction");
    expect_error(segment(R"({"conjonction":"and","groups":[{"conjonction":"and"}]})"), 400, "invalidFilter",
                 "groups[0].conditions must be an array");
    expect_error(segment(R"({"conjonction":"and"})"), 400, "invalidFilter", "groups must be an array");

    // Bounds on hostile filters.
    std::string groups;
    for (int i = 0; i < 101; ++i) groups += (i ? "," : "") + group("");
    expect_error(segment(R"({"conjonction":"and","groups":[)" + groups + "]}"), 400, "invalidFilter",
                 "groups has 101 entries, at most 100");
    std::string conditions;
    for (int i = 0; i < 101; ++i) conditions += (i ? "," : "") + only("any", "id", "isNull");
    expect_error(segment(where(conditions)), 400, "invalidFilter",
                 "groups[0].conditions has 101 entries, at most 100");
    std::string values;
    for (int i = 0; i < 1001; ++i) values += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
    expect_error(segment(where(text_is("id", "is", "[" + values + "]"))), 400, "invalidFilter",
                 "values has 1001 entries, at most 1000");
    expect_error(segment(where(text_is("id", "is", "\"" + std::string(4097, 'x') + "\""))), 400, "invalidFilter",
                 "values is longer than 4096 bytes");
    EXPECT_EQ(segment_ids(where(text_is("id", "is", "\"" + std::string(4096, 'x') + "\""))), Ids{});

    // A bad sort entry is a bad field of the payload.
    const std::string all = R"({"conjonction":"and","groups":[]})";
    expect_error(segment(all, R"(,"sort":[{"columnSlug":"id","kind":"asc"},{"columnSlug":"country","kind":"asc"}])"),
                 400, "invalidPayload", "sort[1]: unknown column \"country\"");
    expect_error(segment(all, R"(,"sort":[{"columnSlug":"id","kind":"up"}])"), 400, "invalidPayload",
                 "sort[0]: kind must be \"asc\" or \"desc\"");
    expect_error(segment(all, R"(,"sort":[{"kind":"asc"}])"), 400, "invalidPayload", "sort[0]: columnSlug");
    expect_error(segment(all, R"(,"sort":["id"])"), 400, "invalidPayload", "sort[0]: must be an object");
    expect_error(segment(all, R"(,"sort":{"columnSlug":"id","kind":"asc"})"), 400, "invalidPayload", "sort: must be an array");
}

namespace {

Answer query(const std::string& sql, const std::string& ws = "") {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("query");
    w.String(sql);
    w.EndObject();
    return post("/orchestration/query", buf.GetString(), headers(ws));
}

// Last of the file, in a suite of its own (GoogleTest runs suites in the order they first
// appear): its accepted creates add batches to workspace a, whose last batch and batch
// count the cases before it read.
TEST(SimApiZCreditsSpent, CreateIsRefusedOnceTheMonthsCreditsAreSpent) {
    // The plan's credits are what workspace a's spans already used this month.
    const double spent = spent_this_month();
    ASSERT_GT(spent, 0);
    const std::string body = R"({"workflowUuid":"wf-play","data":{"kind":"runs","filter":{"kind":"runs","batchUuid":"b1","statuses":["error"]},"reset":{"from":"firstNode"}}})";
    const Answer a = with_subscription(SubscriptionPlan{.credits_per_month = spent}, "POST", "/orchestration/batches", body);
    expect_error(a, 400, "notEnoughCredits", "credits");
    EXPECT_EQ(sql_count("simapi_a", "SELECT count() FROM batches"), 2u);  // nothing was created
    // Additional credits left: accepted; overage allowed: accepted too.
    EXPECT_EQ(with_subscription(SubscriptionPlan{.credits_per_month = spent, .additional_credits = 1}, "POST",
                                "/orchestration/batches", body).status, 200);
    EXPECT_EQ(with_subscription(SubscriptionPlan{.credits_per_month = 0, .overage_denied = false}, "POST",
                                "/orchestration/batches", body).status, 200);
}

// releases/{uuid}: the deployed release and an earlier one, each with its own graph.
TEST(SimApiReleases, GetAnswersEachReleaseWithItsGraph) {
    Answer now = get("/orchestration/releases/rel-wf-play");
    ASSERT_EQ(now.status, 200) << now.body;
    const auto& deployed = now.json["release"];
    expect_fields(deployed, {"uuid", "parentUuid", "workspaceUuid", "userUuid", "workflowUuid", "description", "version",
                             "status", "templateSlug", "nodes", "formFields", "testRecords", "deployedAt", "createdAt",
                             "updatedAt", "deletedAt"},
                  "release");
    EXPECT_STREQ(deployed["status"].GetString(), "deployed");
    EXPECT_STREQ(deployed["version"].GetString(), "2");
    EXPECT_STREQ(deployed["parentUuid"].GetString(), "rel-wf-play-v1");
    EXPECT_EQ(deployed["nodes"].Size(), 3u);
    Answer before = get("/orchestration/releases/rel-wf-play-v1");
    ASSERT_EQ(before.status, 200) << before.body;
    const auto& earlier = before.json["release"];
    EXPECT_STREQ(earlier["status"].GetString(), "archived");
    EXPECT_TRUE(earlier["parentUuid"].IsNull());
    ASSERT_EQ(earlier["nodes"].Size(), 2u);
    EXPECT_STREQ(earlier["nodes"][1]["slug"].GetString(), "enrich");
    EXPECT_TRUE(earlier["nodes"][1]["childrenUuids"].Empty());
    expect_error(get("/orchestration/releases/rel-nope"), 404, "releaseNotFound");
    expect_error(get("/orchestration/releases/rel-wf-b"), 404, "releaseNotFound");  // another workspace's
}

}  // namespace

TEST(SimApiQuery, RowsKeepColumnOrderAndJsonTypes) {
    Answer a = query("SELECT execution_status AS status, count() AS n, sum(execution_credits_used_count) AS c, "
                     "any(execution_error_message) AS e, nan AS x FROM spans WHERE workflow_uuid = 'wf-play' AND "
                     "execution_status = 'pending' GROUP BY status");
    ASSERT_EQ(a.status, 200) << a.body;
    const auto& row = a.json["rows"][0];
    auto it = row.MemberBegin();
    EXPECT_STREQ(it->name.GetString(), "status");
    EXPECT_STREQ((++it)->name.GetString(), "n");
    EXPECT_TRUE(row["n"].IsUint64());  // a UInt64 count as a JSON number
    EXPECT_EQ(row["n"].GetInt(), 2);
    EXPECT_TRUE(row["c"].IsNumber());
    EXPECT_TRUE(row["e"].IsNull());
    EXPECT_TRUE(row["x"].IsNull());
}

TEST(SimApiQuery, TheDocumentedExamplesAnswer) {
    const char* examples[] = {
        "SELECT countIf(status='error') / count() AS error_rate FROM runs WHERE created_at > now() - INTERVAL 1 DAY",
        "SELECT workflow_uuid, count() AS errors FROM runs WHERE status='error' AND created_at > now() - INTERVAL 7 "
        "DAY GROUP BY workflow_uuid ORDER BY errors DESC",
        "SELECT node_slug, count() AS failures FROM spans WHERE execution_status='error' AND execution_started_at > "
        "now() - INTERVAL 1 DAY GROUP BY node_slug ORDER BY failures DESC",
        "SELECT workflow_uuid, sum(credits_used_count) AS credits FROM batches WHERE created_at >= "
        "toStartOfMonth(now()) GROUP BY workflow_uuid ORDER BY credits DESC",
        "SELECT node_slug, quantile(0.95)(dateDiff('second', execution_started_at, execution_finished_at)) AS p95 "
        "FROM spans WHERE execution_finished_at > now() - INTERVAL 1 HOUR GROUP BY node_slug",
    };
    for (const char* sql : examples) {
        Answer a = query(sql);
        EXPECT_EQ(a.status, 200) << sql << "\n" << a.body;
        EXPECT_TRUE(a.json.IsObject() && a.json["rows"].IsArray()) << a.body;
    }
    Answer rate = query(examples[0]);
    EXPECT_NEAR(rate.json["rows"][0]["error_rate"].GetDouble(), 1.0 / 5, 1e-9);
    Answer failures = query(examples[2]);
    EXPECT_STREQ(failures.json["rows"][0]["node_slug"].GetString(), "enrich");
}

TEST(SimApiQuery, CountsMatchTheCountEndpoint) {
    Answer a = query("SELECT count() AS n FROM runs WHERE workflow_uuid = 'wf-play' AND status IN ('success','error')");
    EXPECT_EQ(a.json["rows"][0]["n"].GetInt64(),
              api_count("/orchestration/runs/count", R"({"workflowUuid":"wf-play","statuses":["success","error"]})"));
    Answer b = query("SELECT count() AS n FROM runs WHERE workflow_uuid = 'wf-b'", "ws-b");
    EXPECT_EQ(b.json["rows"][0]["n"].GetInt64(), 1);
}

TEST(SimApiQuery, GuardRefusalsNeverReachClickHouse) {
    const std::pair<const char*, const char*> cases[] = {
        {"SELECT name FROM system.tables", "system"},
        {"SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')", "url()"},
        {"DROP TABLE runs", "only SELECT"},
        {"SELECT count() FROM simapi_b.runs", "simapi_b.runs"},
        {"SELECT * FROM batches_versions", "batches_versions"},
    };
    for (const auto& [sql, why] : cases) expect_error(query(sql), 400, "", why);
    EXPECT_EQ(sql_count("simapi_a", "SELECT count() FROM runs"), 6u);  // still there
    expect_error(post("/orchestration/query", R"({"query":7})"), 400, "invalidPayload", "query");
}

TEST(SimApiQuery, SyntaxErrorsCarryTheParsersMessageNotARefusal) {
    // Refused by the guard's tokens, but not valid SQL: ClickHouse's parser says why.
    for (const char* sql : {"SELEC 1", "SELECT 'unterminated", "SELECT 1 /* open", "DROP TABLEE runs",
                            "SELECT 1; SELEC 2"})
        expect_error(query(sql), 400, "", "Code: 62");
    Answer typo = query("SELEC 1");
    EXPECT_NE(std::string(typo.json["errorMessage"].GetString()).find("Syntax error"), std::string::npos) << typo.body;
    EXPECT_EQ(typo.body.find("FORMAT"), std::string::npos) << "the sim's own text leaked into the message: " << typo.body;
    // A syntax error the guard lets through is ClickHouse's too, in the caller's text.
    Answer open = query("SELECT count( FROM runs");
    expect_error(open, 400, "", "Code: 62");
    // What parses and is not a read-only SELECT stays refused, and is never run.
    expect_error(query("DROP TABLE runs"), 400, "", "only SELECT");
    expect_error(query("EXISTS TABLE runs"), 400, "", "only SELECT");
    expect_error(query("SELECT 1; DROP TABLE runs"), 400, "", "Multi-statements");
    EXPECT_EQ(sql_count("simapi_a", "SELECT count() FROM runs"), 6u);
    // A trailing comment is the caller's to write.
    Answer commented = query("SELECT count() AS n FROM runs -- all of them");
    ASSERT_EQ(commented.status, 200) << commented.body;
    EXPECT_EQ(commented.json["rows"][0]["n"].GetInt(), 6);
}

TEST(SimApiQuery, ClickHouseErrorsAndCapsCarryTheClickHouseMessage) {
    expect_error(query("SELECT no_such_column FROM runs"), 400, "", "Code: 47");
    // max_result_rows: 6 runs x 2,000 = 12,000 rows.
    expect_error(query("SELECT arrayJoin(range(2000)) AS n FROM runs"), 400, "", "Code: 396");
    // max_rows_to_read counts every read of the query: 100 reads of 100,001 runs.
    std::string reads = "SELECT count() FROM (SELECT uuid FROM runs";
    for (int i = 1; i < 100; ++i) reads += " UNION ALL SELECT uuid FROM runs";
    expect_error(query(reads + ")", "ws-b"), 400, "", "Code: 158");
    // max_subquery_depth.
    expect_error(query("SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT * FROM (SELECT * FROM "
                       "(SELECT 1))))))"),
                 400, "", "Code: 162");
    // readonly=1 comes last: a SETTINGS clause cannot lift a cap.
    expect_error(query("SELECT count() FROM runs SETTINGS max_result_rows = 0"), 400, "", "Code: 164");
}
