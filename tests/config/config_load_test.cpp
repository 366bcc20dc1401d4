// Good configurations: defaults, inheritance, environment, token sources, redaction, equality.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.h"
#include "tests/support/temp_dir.h"

using namespace cargomon;
using namespace cargomon::config;
using namespace std::chrono_literals;

namespace {

using cargomon::testing::TempDir;

Config parse_ok(const std::string& yaml, std::map<std::string, std::string> env = {{"CARGO_API_TOKEN", "env-token"}},
                std::string_view file = "cargomon.yml") {
    LoadResult result = parse_config(yaml, file, Environment(std::move(env)));
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&result)) {
        for (const ConfigError& e : *errors) ADD_FAILURE() << e.to_string();
        return {};
    }
    return std::get<Config>(result);
}

std::vector<std::string> errors_of(const std::string& yaml, std::map<std::string, std::string> env) {
    LoadResult result = parse_config(yaml, "cargomon.yml", Environment(std::move(env)));
    std::vector<std::string> out;
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&result))
        for (const ConfigError& e : *errors) out.push_back(e.to_string());
    return out;
}

const char* kFullConfig = R"(api_url: https://cargo.example.com/
token: file-token
workspace_uuid: 7c1e0d2a-1b3c-4d5e-8f90-a1b2c3d4e5f6
client:
  timeout: 20s
  connect_timeout: 2s
  max_in_flight: 8
  rate_limit: 2.5
  max_answer_bytes: 32MiB
  max_compressed_answer_bytes: 8388608
  max_download_bytes: 10GiB
  max_compressed_download_bytes: 2GiB
  retry:
    max_attempts: 3
    initial_backoff: 250ms
    max_backoff: 10s
    budget: 1m
defaults:
  interval: 2m
  timeout: 45s
  jitter: 0.2
  max_staleness: 15m
collectors:
  - name: runs
    kind: run_counts
    windows: [1h, 24h, 7d]
    strategy: sql
    statuses: [success, error]
    ratios: false
  - name: discovery
    kind: discovery
    interval: 5m
    include: ["^Enrich"]
    exclude: ["test"]
  - name: nodes
    kind: run_metrics
    scope: release
  - name: batches
    kind: batches
    window: 12h
    limit: 20
  - name: credits
    kind: credits
    group_by: [workflow_uuid, integration_slug]
  - name: slow_nodes
    kind: query
    interval: 1m
    timeout: 1m
    sql: |
      SELECT node_slug, count() AS failures FROM spans
      WHERE execution_status = 'error' AND execution_started_at >= $__from AND execution_started_at < $__to
      GROUP BY node_slug
    metrics:
      - name: cargo_custom_node_failures_total
        help: Node failures
        type: counter
        value: failures
        labels: [node_slug]
        const_labels: {team: revops}
rule_files: ["rules/*.yml", /etc/cargomon/extra.yml]
)";

TEST(ConfigLoad, EmptyFileGivesTheDefaultSet) {
    Config c = parse_ok("");
    EXPECT_EQ(c.api_url, "https://api.getcargo.io");
    EXPECT_EQ(c.token, "env-token");
    EXPECT_FALSE(c.workspace_uuid);
    EXPECT_EQ(c.client, ClientConfig{});
    std::vector<std::pair<std::string, CollectorKind>> got;
    for (const CollectorConfig& col : c.collectors) {
        got.emplace_back(col.name, col.kind());
        EXPECT_EQ(col.schedule, Schedule{});
    }
    EXPECT_EQ(got, (std::vector<std::pair<std::string, CollectorKind>>{{"discovery", CollectorKind::discovery},
                                                                       {"runs", CollectorKind::run_counts},
                                                                       {"nodes", CollectorKind::run_metrics},
                                                                       {"batches", CollectorKind::batches},
                                                                       {"credits", CollectorKind::credits},
                                                                       {"subscription", CollectorKind::subscription},
                                                                       {"durations", CollectorKind::durations}}));
    EXPECT_EQ(std::get<RunCountsSpec>(c.collectors[1].spec).statuses.size(), 8u);
}

TEST(ConfigLoad, ReadsEveryKey) {
    Config c = parse_ok(kFullConfig, {}, "/etc/cargomon/cargomon.yml");
    EXPECT_EQ(c.api_url, "https://cargo.example.com");
    EXPECT_EQ(c.token, "file-token");
    EXPECT_EQ(c.workspace_uuid, "7c1e0d2a-1b3c-4d5e-8f90-a1b2c3d4e5f6");
    EXPECT_EQ(
        c.client,
        (ClientConfig{.timeout = 20s,
                      .connect_timeout = 2s,
                      .max_in_flight = 8,
                      .rate_limit = 2.5,
                      .retry = {.max_attempts = 3, .initial_backoff = 250ms, .max_backoff = 10s, .budget = 1min},
                      .max_answer_bytes = 32u << 20,
                      .max_compressed_answer_bytes = 8u << 20,
                      .max_download_bytes = std::uint64_t{10} << 30,
                      .max_compressed_download_bytes = std::uint64_t{2} << 30}));
    const Schedule defaults{.interval = 2min, .timeout = 45s, .jitter = 0.2, .max_staleness = 15min};
    EXPECT_EQ(c.defaults, defaults);
    ASSERT_EQ(c.collectors.size(), 6u);

    const CollectorConfig& discovery = c.collectors[0];  // moved first
    EXPECT_EQ(discovery.name, "discovery");
    EXPECT_EQ(discovery.schedule.interval, 5min);
    EXPECT_EQ(discovery.schedule.timeout, 45s);
    EXPECT_EQ(std::get<DiscoverySpec>(discovery.spec), (DiscoverySpec{{"^Enrich"}, {"test"}}));

    EXPECT_EQ(c.collectors[1].schedule, defaults);
    EXPECT_EQ(std::get<RunCountsSpec>(c.collectors[1].spec),
              (RunCountsSpec{{1h, 24h, 168h}, CountStrategy::sql, {"success", "error"}, false}));
    EXPECT_EQ(std::get<RunMetricsSpec>(c.collectors[2].spec).scope, RunMetricsScope::release);
    EXPECT_EQ(std::get<BatchesSpec>(c.collectors[3].spec), (BatchesSpec{12h, 20}));
    EXPECT_EQ(std::get<CreditsSpec>(c.collectors[4].spec).group_by,
              (std::vector<std::string>{"workflow_uuid", "integration_slug"}));

    const CollectorConfig& query = c.collectors[5];
    EXPECT_EQ(query.schedule, (Schedule{.interval = 1min, .timeout = 1min, .jitter = 0.2, .max_staleness = 15min}));
    const QuerySpec& spec = std::get<QuerySpec>(query.spec);
    EXPECT_TRUE(spec.sql.starts_with("SELECT node_slug, count() AS failures FROM spans\n"));
    EXPECT_NE(spec.sql.find(">= $__from AND execution_started_at < $__to"), std::string::npos);
    ASSERT_EQ(spec.metrics.size(), 1u);
    EXPECT_EQ(spec.metrics[0], (QueryMetric{"cargo_custom_node_failures_total",
                                            "Node failures",
                                            MetricType::counter,
                                            "failures",
                                            {"node_slug"},
                                            {{"team", "revops"}}}));

    EXPECT_EQ(c.rule_files, (std::vector<std::string>{"/etc/cargomon/rules/*.yml", "/etc/cargomon/extra.yml"}));
}

TEST(ConfigLoad, ImplicitDiscoveryComesFirstWithDefaults) {
    Config c = parse_ok("defaults: {interval: 3m}\ncollectors:\n  - {name: b, kind: batches}\n");
    ASSERT_EQ(c.collectors.size(), 2u);
    EXPECT_EQ(c.collectors[0].name, "discovery");
    EXPECT_EQ(c.collectors[0].kind(), CollectorKind::discovery);
    EXPECT_EQ(c.collectors[0].schedule.interval, 3min);
    EXPECT_EQ(c.collectors[1].name, "b");
}

TEST(ConfigLoad, ExpandsEnvironmentInValues) {
    Config c = parse_ok(
        "api_url: ${URL}\n"
        "token: ${TOKEN:-fallback}\n"
        "defaults:\n"
        "  interval: ${INTERVAL:-90s}\n"
        "  timeout: ${TIMEOUT:-20s}\n"
        "collectors:\n"
        "  - name: q\n"
        "    kind: query\n"
        "    sql: SELECT $$x, '${TEAM}' AS team, count() AS n FROM runs WHERE created_at >= $__from\n"
        "    metrics: [{name: cargo_x, value: n, const_labels: {team: \"${TEAM}\"}}]\n",
        {{"URL", "http://127.0.0.1:8080"}, {"TIMEOUT", ""}, {"TEAM", "revops"}});
    EXPECT_EQ(c.api_url, "http://127.0.0.1:8080");
    EXPECT_EQ(c.token, "fallback");
    EXPECT_EQ(c.defaults.interval, 90s);
    EXPECT_EQ(c.defaults.timeout, 20s);  // set but empty also takes the fallback
    const QuerySpec& spec = std::get<QuerySpec>(c.collectors[1].spec);
    EXPECT_EQ(spec.sql, "SELECT $x, 'revops' AS team, count() AS n FROM runs WHERE created_at >= $__from");
    EXPECT_EQ(spec.metrics[0].const_labels.at("team"), "revops");
}

TEST(ConfigLoad, EnvironmentOverridesUrlAndToken) {
    Config c = parse_ok("api_url: https://api.example.com\ntoken: from-file\n",
                        {{"CARGO_API_URL", "http://127.0.0.1:9000/"}, {"CARGO_API_TOKEN", "from-env"}});
    EXPECT_EQ(c.api_url, "http://127.0.0.1:9000");
    EXPECT_EQ(c.token, "from-env");
    // Empty variables count as unset.
    c = parse_ok("token: from-file\n", {{"CARGO_API_URL", ""}, {"CARGO_API_TOKEN", ""}});
    EXPECT_EQ(c.api_url, "https://api.getcargo.io");
    EXPECT_EQ(c.token, "from-file");
}

TEST(ConfigLoad, ReadsTokenFileRelativeToTheConfig) {
    TempDir dir;
    dir.write("cargo_token", "  tok-from-file\n");
    std::string path = dir.write("cargomon.yml", "token_file: cargo_token\n");
    LoadResult result = load_config(path, Environment());
    ASSERT_TRUE(std::holds_alternative<Config>(result));
    EXPECT_EQ(std::get<Config>(result).token, "tok-from-file");

    dir.write("empty_token", "\n");
    path = dir.write("empty.yml", "token_file: empty_token\n");
    result = load_config(path, Environment());
    ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(result));
    EXPECT_EQ(std::get<std::vector<ConfigError>>(result).at(0).to_string(),
              path + ":1:13: token_file \"" + dir.file("empty_token") + "\" is empty");
}

TEST(ConfigLoad, TokenFromEnvironmentSkipsTokenFile) {
    Config c = parse_ok("token_file: /run/secrets/not-on-this-machine\n");
    EXPECT_EQ(c.token, "env-token");
}

TEST(ConfigLoad, SecretsStayOutOfDumpsAndErrors) {
    TempDir dir;
    dir.write("tok", "sk-FILE-SECRET\n");
    const std::string secret = "sk-LIVE-SECRET-42";
    Config c = parse_ok("token: " + secret + "\n", {});
    std::string dump = c.redacted_yaml();
    EXPECT_EQ(dump.find(secret), std::string::npos) << dump;
    EXPECT_NE(dump.find("token: <secret>"), std::string::npos) << dump;

    c = parse_ok("token_file: " + dir.file("tok") + "\n", {});
    EXPECT_EQ(c.token, "sk-FILE-SECRET");
    EXPECT_EQ(c.redacted_yaml().find("sk-FILE"), std::string::npos);

    for (const std::string& yaml : {"token: " + secret + "\ndefaults: {interval: nope}\n", "token: [" + secret + "]\n",
                                    "token: {" + secret + ": x}\n", "token: " + secret + "\ntoken_file: /x\n"}) {
        std::vector<std::string> errors = errors_of(yaml, {});
        ASSERT_FALSE(errors.empty()) << yaml;
        for (const std::string& e : errors) EXPECT_EQ(e.find(secret), std::string::npos) << e;
    }
    EXPECT_EQ(errors_of("token: [" + secret + "]\n", {}),
              std::vector<std::string>{"cargomon.yml:1:8: expected a string, got a sequence"});
}

TEST(ConfigLoad, RedactedYamlReadsBackToTheSameConfig) {
    Config original = parse_ok(kFullConfig, {}, "/etc/cargomon/cargomon.yml");
    Config reread = parse_ok(original.redacted_yaml(), {{"CARGO_API_TOKEN", "file-token"}}, "/elsewhere/x.yml");
    EXPECT_EQ(reread, original) << original.redacted_yaml() << "\n---\n" << reread.redacted_yaml();
}

TEST(ConfigLoad, EqualityTellsWhetherAReloadChangesAnything) {
    const std::string base = "token: t\ncollectors:\n  - {name: runs, kind: run_counts, windows: [1h]}\n";
    EXPECT_EQ(parse_ok(base, {}), parse_ok(base, {}));
    EXPECT_EQ(parse_ok(base, {}), parse_ok("# reordered\n" + base, {}));
    EXPECT_NE(parse_ok(base, {}),
              parse_ok("token: t\ncollectors:\n  - {name: runs, kind: run_counts, windows: [2h]}\n", {}));
    EXPECT_NE(parse_ok(base, {}), parse_ok(base, {{"CARGO_API_TOKEN", "rotated"}}));
}

TEST(ConfigLoad, TimeoutDefaultsToTheSmallerOf30sAndTheInterval) {
    const Config c = parse_ok(
        "defaults:\n"
        "  interval: 15s\n"
        "collectors:\n"
        "  - {name: runs, kind: run_counts}\n"
        "  - {name: fast, kind: batches, interval: 5s}\n"
        "  - {name: slow, kind: credits, interval: 5m}\n"
        "  - {name: own, kind: run_metrics, interval: 1m, timeout: 50s}\n");
    EXPECT_EQ(c.defaults.timeout, 15s);
    std::map<std::string, Millis> timeouts;
    for (const CollectorConfig& col : c.collectors) timeouts[col.name] = col.schedule.timeout;
    EXPECT_EQ(timeouts, (std::map<std::string, Millis>{
                            {"discovery", 15s}, {"runs", 15s}, {"fast", 5s}, {"slow", 30s}, {"own", 50s}}));
    // A timeout written in defaults is inherited as written.
    const Config set = parse_ok("defaults:\n  timeout: 20s\ncollectors:\n  - {name: runs, kind: run_counts, interval: 2m}\n");
    EXPECT_EQ(set.collectors.at(1).schedule.timeout, 20s);
    EXPECT_EQ(parse_ok("").defaults.timeout, 30s);
}

TEST(ConfigLoad, ExampleRunsEvery15sThroughEnvironment) {
    LoadResult result = load_config(CARGOMON_EXAMPLE_CONFIG,
                                    Environment({{"CARGO_API_TOKEN", "sim"}, {"CARGOMON_INTERVAL", "15s"}}));
    ASSERT_TRUE(std::holds_alternative<Config>(result)) << std::get<1>(result).at(0).to_string();
    const Config& c = std::get<Config>(result);
    EXPECT_EQ(c.defaults.interval, 15s);
    EXPECT_EQ(c.defaults.timeout, 15s);
    for (const CollectorConfig& col : c.collectors) EXPECT_LE(col.schedule.timeout, col.schedule.interval) << col.name;
}

TEST(ConfigLoad, ExampleServesTheSimulatorThroughEnvironment) {
    LoadResult result = load_config(
        CARGOMON_EXAMPLE_CONFIG, Environment({{"CARGO_API_URL", "http://127.0.0.1:8080"}, {"CARGO_API_TOKEN", "sim"}}));
    ASSERT_TRUE(std::holds_alternative<Config>(result)) << std::get<1>(result).at(0).to_string();
    const Config& c = std::get<Config>(result);
    EXPECT_EQ(c.api_url, "http://127.0.0.1:8080");
    EXPECT_EQ(c.token, "sim");
    std::vector<CollectorKind> kinds;
    for (const CollectorConfig& col : c.collectors) kinds.push_back(col.kind());
    EXPECT_EQ(kinds, (std::vector<CollectorKind>{CollectorKind::discovery, CollectorKind::run_counts,
                                                 CollectorKind::run_metrics, CollectorKind::batches,
                                                 CollectorKind::credits, CollectorKind::subscription,
                                                 CollectorKind::durations, CollectorKind::query}));
}

}  // namespace
