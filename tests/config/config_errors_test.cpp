// Bad configurations: each must fail with exactly these messages at these positions.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/config.h"

using namespace cargomon::config;

namespace {

struct BadConfig {
    std::string name;
    std::string yaml;
    std::vector<std::string> errors;  // ConfigError::to_string() of each, in order
    std::map<std::string, std::string> env{{"CARGO_API_TOKEN", "test-token"}};
};

std::vector<std::string> errors_of(const std::string& yaml, const std::map<std::string, std::string>& env) {
    LoadResult result = parse_config(yaml, "cargomon.yml", Environment(env));
    std::vector<std::string> out;
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&result))
        for (const ConfigError& e : *errors) out.push_back(e.to_string());
    return out;
}

const std::vector<BadConfig> kBadConfigs = {
    {"UnknownTopLevelKey",
     "colectors: []\n",
     {"cargomon.yml:1:1: unknown key \"colectors\" at top level (did you mean \"collectors\"?)"}},
    {"UnknownCollectorKey",
     "collectors:\n"
     "  - name: runs\n"
     "    kind: run_counts\n"
     "    intervall: 5m\n",
     {"cargomon.yml:4:5: unknown key \"intervall\" in collector \"runs\" (did you mean \"interval\"?)"}},
    {"UnknownKeyWithoutSuggestion",
     "client:\n  colour: blue\n",
     {"cargomon.yml:2:3: unknown key \"colour\" in client"}},
    {"KeyOfAnotherKind",
     "collectors:\n"
     "  - name: batches\n"
     "    kind: batches\n"
     "    windows: [1h]\n",
     {"cargomon.yml:4:5: unknown key \"windows\" in collector \"batches\" (did you mean \"window\"?)"}},
    {"DurationGotSequence",
     "defaults:\n  interval: [1, 2]\n",
     {"cargomon.yml:2:13: expected a duration like 30s, got a sequence"}},
    {"BadDuration",
     "defaults:\n  timeout: 5x\n",
     {"cargomon.yml:2:12: bad duration \"5x\": unknown unit \"x\" (one of ms, s, m, h, d, w, y)"}},
    {"DurationWithoutUnit",
     "client:\n  retry:\n    budget: 120\n",
     {"cargomon.yml:3:13: bad duration \"120\": missing unit (one of ms, s, m, h, d, w, y)"}},
    {"BadRegex",
     "collectors:\n"
     "  - name: discovery\n"
     "    kind: discovery\n"
     "    include: [\"^Enrich\", \"(\"]\n",
     {"cargomon.yml:4:26: bad regex \"(\": missing ): ("}},
    {"DuplicateCollectorName",
     "collectors:\n"
     "  - name: runs\n"
     "    kind: run_counts\n"
     "  - name: runs\n"
     "    kind: batches\n",
     {"cargomon.yml:4:11: duplicate collector name \"runs\" (first defined at line 2)"}},
    {"MissingToken",
     "api_url: https://api.example.com\n",
     {"cargomon.yml:1:1: no API token: set token, token_file or CARGO_API_TOKEN"},
     {}},
    {"EmptyToken", "token: \"\"\n", {"cargomon.yml:1:8: no API token: set token, token_file or CARGO_API_TOKEN"}, {}},
    {"UnknownKind",
     "collectors:\n"
     "  - name: runs\n"
     "    kind: run_count\n",
     {"cargomon.yml:3:11: unknown collector kind \"run_count\" (expected one of discovery, run_counts, run_metrics, "
      "batches, credits, subscription, durations, query; did you mean \"run_counts\"?)"}},
    {"ZeroInterval", "defaults:\n  interval: 0s\n", {"cargomon.yml:2:13: interval must be greater than 0"}},
    {"TimeoutOverInterval",  // a timeout written in defaults is inherited as written
     "defaults:\n"
     "  timeout: 30s\n"
     "collectors:\n"
     "  - name: runs\n"
     "    kind: run_counts\n"
     "    interval: 10s\n",
     {"cargomon.yml:6:15: timeout (30s) must not exceed interval (10s)"}},
    {"TimeoutOverIntervalInOneCollector",
     "collectors:\n"
     "  - name: runs\n"
     "    kind: run_counts\n"
     "    interval: 10s\n"
     "    timeout: 11s\n",
     {"cargomon.yml:5:14: timeout (11s) must not exceed interval (10s)"}},
    {"JitterOutOfRange", "defaults:\n  jitter: 1.5\n", {"cargomon.yml:2:11: jitter must be between 0 and 1, got 1.5"}},
    {"JitterNotANumber", "defaults:\n  jitter: lots\n", {"cargomon.yml:2:11: expected a number, got \"lots\""}},
    {"EmptyWindows",
     "collectors:\n"
     "  - name: runs\n"
     "    kind: run_counts\n"
     "    windows: []\n",
     {"cargomon.yml:4:14: windows must not be empty"}},
    {"DuplicateWindow",
     "collectors:\n"
     "  - name: runs\n"
     "    kind: run_counts\n"
     "    windows: [60m, 1h]\n",
     {"cargomon.yml:4:20: duplicate window 1h"}},
    {"YamlSyntaxError", "collectors:\n  - name: [runs\n", {"cargomon.yml:3:1: end of sequence flow not found"}},
    {"YamlBadIndentation", "client:\n  timeout: 5s\n retry: {}\n", {"cargomon.yml:3:2: end of map not found"}},
    {"TwoDiscoveryCollectors",
     "collectors:\n"
     "  - name: d1\n"
     "    kind: discovery\n"
     "  - name: d2\n"
     "    kind: discovery\n",
     {"cargomon.yml:5:11: only one discovery collector is allowed (the first is at line 2)"}},
    {"ImplicitDiscoveryNameTaken",
     "collectors:\n"
     "  - name: discovery\n"
     "    kind: batches\n",
     {"cargomon.yml:2:11: the name \"discovery\" is kept for the implicit discovery collector: rename this collector "
      "or declare one of kind discovery"}},
    {"CounterWithoutTotal",
     "collectors:\n"
     "  - name: q\n"
     "    kind: query\n"
     "    sql: SELECT count() AS n FROM runs WHERE created_at >= $__from AND created_at < $__to\n"
     "    metrics:\n"
     "      - name: cargo_custom_runs\n"
     "        type: counter\n"
     "        value: n\n",
     {"cargomon.yml:6:15: counter \"cargo_custom_runs\" must end in _total"}},
    {"GaugeWithTotal",
     "collectors:\n"
     "  - name: q\n"
     "    kind: query\n"
     "    sql: SELECT count() AS n FROM runs\n"
     "    metrics:\n"
     "      - name: cargo_custom_runs_total\n"
     "        value: n\n",
     {"cargomon.yml:6:15: gauge \"cargo_custom_runs_total\" must not end in _total (only counters do)"}},
    {"CounterQueryWithoutWindow",
     "collectors:\n"
     "  - name: q\n"
     "    kind: query\n"
     "    sql: SELECT count() AS n FROM runs\n"
     "    metrics:\n"
     "      - name: cargo_custom_runs_total\n"
     "        type: counter\n"
     "        value: n\n",
     {"cargomon.yml:4:10: a query with counters must select rows between $__from and $__to (counters are fed "
      "incrementally, one window per collection)"}},
    {"BadMetricAndLabelNames",
     "collectors:\n"
     "  - name: q\n"
     "    kind: query\n"
     "    sql: SELECT 1 AS n\n"
     "    metrics:\n"
     "      - name: cargo-custom\n"
     "        value: n\n"
     "        labels: [__name, node-slug]\n"
     "        const_labels: {__team: revops}\n",
     {"cargomon.yml:6:15: metric name \"cargo-custom\" is not a valid Prometheus metric name",
      "cargomon.yml:8:18: label name \"__name\" must not start with __ (reserved by Prometheus)",
      "cargomon.yml:8:26: label name \"node-slug\" is not a valid Prometheus label name",
      "cargomon.yml:9:24: label name \"__team\" must not start with __ (reserved by Prometheus)"}},
    {"ReservedMetricPrefix",
     "collectors:\n"
     "  - name: q\n"
     "    kind: query\n"
     "    sql: SELECT 1 AS n\n"
     "    metrics: [{name: cargomon_up, value: n}]\n",
     {"cargomon.yml:5:22: metric name \"cargomon_up\" uses the prefix cargomon_, kept for the daemon's own metrics"}},
    {"MetricWithoutValueAndEmptyLabel",
     "collectors:\n"
     "  - name: q\n"
     "    kind: query\n"
     "    sql: SELECT 1 AS n\n"
     "    metrics:\n"
     "      - name: cargo_x\n"
     "        labels: [\"\"]\n",
     {"cargomon.yml:6:9: missing required key \"value\" in metric \"cargo_x\" of collector \"q\"",
      "cargomon.yml:7:18: label must not be empty"}},
    {"MetricDefinedTwice",
     "collectors:\n"
     "  - name: a\n"
     "    kind: query\n"
     "    sql: SELECT 1 AS n\n"
     "    metrics: [{name: cargo_x, value: n}]\n"
     "  - name: b\n"
     "    kind: query\n"
     "    sql: SELECT 2 AS n\n"
     "    metrics: [{name: cargo_x, value: n}]\n",
     {"cargomon.yml:9:22: metric \"cargo_x\" is already defined at line 5"}},
    {"LabelIsValueColumn",
     "collectors:\n"
     "  - name: q\n"
     "    kind: query\n"
     "    sql: SELECT 1 AS n\n"
     "    metrics: [{name: cargo_x, value: n, labels: [n]}]\n",
     {"cargomon.yml:5:50: column \"n\" is the value; it cannot also be a label"}},
    {"QueryWithoutSqlAndMetrics",
     "collectors:\n"
     "  - name: q\n"
     "    kind: query\n",
     {"cargomon.yml:2:5: missing required key \"sql\" in collector \"q\"",
      "cargomon.yml:2:5: missing required key \"metrics\" in collector \"q\""}},
    {"UnsetEnvironmentVariable",
     "api_url: ${CARGO_URL_TYPO}\n",
     {"cargomon.yml:1:10: environment variable \"CARGO_URL_TYPO\" is not set (use ${CARGO_URL_TYPO:-default} for a "
      "fallback)"}},
    {"UnterminatedExpansion",
     "api_url: \"${CARGO_URL\"\n",
     {"cargomon.yml:1:10: unterminated \"${\" (write $$ for a literal $)"}},
    {"BadVariableName",
     "api_url: \"${1X}\"\n",
     {"cargomon.yml:1:10: bad environment variable name \"1X\" in \"${...}\""}},
    {"MissingTokenFile",
     "token_file: /nonexistent/cargo_token\n",
     {"cargomon.yml:1:13: cannot read token_file \"/nonexistent/cargo_token\": No such file or directory"},
     {}},
    {"TokenAndTokenFile",
     "token: abc\ntoken_file: /run/secrets/x\n",
     {"cargomon.yml:2:13: set only one of token and token_file"}},
    {"BadWorkspaceUuid",
     "workspace_uuid: 7c1e-nope\n",
     {"cargomon.yml:1:17: workspace_uuid \"7c1e-nope\" is not a UUID (8-4-4-4-12 hex digits)"}},
    {"BadApiUrlScheme",
     "api_url: ftp://api.example.com\n",
     {"cargomon.yml:1:10: api_url must be an http:// or https:// URL"}},
    {"ApiUrlWithVersion",
     "api_url: https://api.getcargo.io/v1/\n",
     {"cargomon.yml:1:10: api_url must not end in /v1 (cargomon adds it to every path)"}},
    {"BadApiUrlFromEnvironment",
     "token: abc\n",
     {"cargomon.yml: CARGO_API_URL has no host"},
     {{"CARGO_API_URL", "https://"}}},
    {"UnknownRunStatus",
     "collectors:\n"
     "  - name: runs\n"
     "    kind: run_counts\n"
     "    statuses: [success, sucess, success]\n",
     {"cargomon.yml:4:25: unknown run status \"sucess\" (did you mean \"success\"?)",
      "cargomon.yml:4:33: duplicate run status \"success\""}},
    {"UnknownStrategyAndBadBoolean",
     "collectors:\n"
     "  - name: runs\n"
     "    kind: run_counts\n"
     "    strategy: fast\n"
     "    ratios: yes\n",
     {"cargomon.yml:4:15: expected one of auto, sql, api, got \"fast\"",
      "cargomon.yml:5:13: expected true or false, got \"yes\""}},
    {"WindowWithReleaseScope",
     "collectors:\n"
     "  - name: nodes\n"
     "    kind: run_metrics\n"
     "    scope: release\n"
     "    window: 24h\n",
     {"cargomon.yml:5:13: window applies only to scope window"}},
    {"UnknownCreditDimension",
     "collectors:\n"
     "  - name: credits\n"
     "    kind: credits\n"
     "    group_by: [workflow]\n",
     {"cargomon.yml:4:16: unknown dimension \"workflow\" (did you mean \"workflow_uuid\"?)"}},
    {"BatchLimitOutOfRange",
     "collectors:\n"
     "  - name: batches\n"
     "    kind: batches\n"
     "    limit: 0\n",
     {"cargomon.yml:4:12: limit must be between 1 and 1000, got 0"}},
    {"ClientRanges",
     "client:\n"
     "  timeout: 5s\n"
     "  connect_timeout: 10s\n"
     "  max_in_flight: 0\n"
     "  rate_limit: -1\n"
     "  retry:\n"
     "    initial_backoff: 1m\n"
     "    max_backoff: 30s\n",
     {"cargomon.yml:3:20: connect_timeout (10s) must not exceed timeout (5s)",
      "cargomon.yml:4:18: max_in_flight must be between 1 and 64, got 0",
      "cargomon.yml:5:15: rate_limit must be greater than 0",
      "cargomon.yml:8:18: max_backoff (30s) must not be less than initial_backoff (1m)"}},
    {"ClientSizes",
     "client:\n"
     "  max_answer_bytes: 64MB\n"
     "  max_compressed_answer_bytes: 100\n"
     "  max_download_bytes: 2TiB\n"
     "  max_compressed_download_bytes: [1]\n",
     {"cargomon.yml:2:21: max_answer_bytes expects a size in bytes such as 64MiB (a whole number, optionally KiB, "
      "MiB, GiB or TiB), got \"64MB\"",
      "cargomon.yml:3:32: max_compressed_answer_bytes must be between 1KiB and 1TiB, got \"100\"",
      "cargomon.yml:4:23: max_download_bytes must be between 1KiB and 1TiB, got \"2TiB\"",
      "cargomon.yml:5:34: expected a size in bytes, got a sequence"}},
    {"TopLevelNotAMapping", "- a\n- b\n", {"cargomon.yml:1:1: expected a mapping, got a sequence"}},
    {"EmptyCollectorList",
     "collectors: []\n",
     {"cargomon.yml:1:13: collectors must not be empty (leave the key out for the default set)"}},
    {"CollectorWithoutNameOrKind",
     "collectors:\n  - interval: 1m\n",
     {"cargomon.yml:2:5: collector is missing required key \"name\"",
      "cargomon.yml:2:5: missing required key \"kind\" in collector at line 2"}},
    {"CollectorNotAMapping",
     "collectors:\n  - runs\n",
     {"cargomon.yml:2:5: expected a collector (a mapping), got \"runs\""}},
    {"DuplicateKey",
     "defaults:\n  interval: 1m\n  interval: 2m\n",
     {"cargomon.yml:3:3: duplicate key \"interval\" (first at line 2)"}},
    {"RuleFilesNotAList",
     "rule_files: rules/*.yml\n",
     {"cargomon.yml:1:13: expected a list of file globs, got \"rules/*.yml\""}},
};

class BadConfigTest : public testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, FailsWithExactMessages) {
    EXPECT_EQ(errors_of(GetParam().yaml, GetParam().env), GetParam().errors);
}

INSTANTIATE_TEST_SUITE_P(Config, BadConfigTest, testing::ValuesIn(kBadConfigs),
                         [](const testing::TestParamInfo<BadConfig>& info) { return info.param.name; });

TEST(ConfigErrors, CollectsEveryErrorInFileOrder) {
    const std::string yaml =
        "api_url: https://api.example.com\n"
        "defaults:\n"
        "  interval: soon\n"
        "collectors:\n"
        "  - name: runs\n"
        "    kind: run_counts\n"
        "    windows: [1h, 0s]\n"
        "  - name: nodes\n"
        "    kind: run_metric\n"
        "rule_file: [a.yml]\n";
    EXPECT_EQ(errors_of(yaml, {}),
              (std::vector<std::string>{
                  "cargomon.yml:1:1: no API token: set token, token_file or CARGO_API_TOKEN",
                  "cargomon.yml:3:13: bad duration \"soon\": expected a number at \"soon\"",
                  "cargomon.yml:7:19: window must be greater than 0",
                  "cargomon.yml:9:11: unknown collector kind \"run_metric\" (expected one of discovery, run_counts, "
                  "run_metrics, batches, credits, subscription, durations, query; did you mean \"run_metrics\"?)",
                  "cargomon.yml:10:1: unknown key \"rule_file\" at top level (did you mean \"rule_files\"?)",
              }));
}

TEST(ConfigErrors, UnreadableFileNamesPathAndReason) {
    LoadResult result = load_config("/nonexistent/cargomon.yml", Environment());
    ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(result));
    EXPECT_EQ(std::get<std::vector<ConfigError>>(result).at(0).to_string(),
              "/nonexistent/cargomon.yml: cannot read config file: No such file or directory");
}

}  // namespace
