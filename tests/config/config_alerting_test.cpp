// The `alerting:` section read with the rest of the file: its errors are ConfigErrors with
// the file's positions, it is part of Config's equality, and its `*_file` secrets are read
// from the config file's folder as token_file is.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "tests/support/temp_dir.h"

using namespace cargomon::config;
using cargomon::testing::TempDir;

namespace {

const Environment kEnv(std::map<std::string, std::string>{{"CARGO_API_TOKEN", "t"}});

std::vector<std::string> errors_of(const LoadResult& result) {
    std::vector<std::string> out;
    if (auto* errors = std::get_if<std::vector<ConfigError>>(&result))
        for (const ConfigError& e : *errors) out.push_back(e.to_string());
    return out;
}

Config parse_ok(const std::string& yaml) {
    LoadResult result = parse_config(yaml, "cargomon.yml", kEnv);
    for (const std::string& e : errors_of(result)) ADD_FAILURE() << e;
    return std::holds_alternative<Config>(result) ? std::get<Config>(result) : Config{};
}

std::string alerting(const std::string& receiver, const std::string& matcher = "severity=\"page\"") {
    return "alerting:\n"
           "  route:\n"
           "    receiver: a\n"
           "    routes: [{matchers: ['" + matcher + "'], receiver: " + receiver + "}]\n"
           "  receivers: [{name: a}, {name: b}]\n";
}

TEST(ConfigAlerting, ErrorsCarryTheFilesPositionsInFileOrder) {
    TempDir dir;
    const std::string file = dir.write("cargomon.yml",
                                       "token: t\n"
                                       "alerting:\n"
                                       "  route: {receiver: nope, group_wait: soon}\n"
                                       "  receivers: [{name: a, webhook_configs: [{url: '${HOOK_URL}'}]}]\n"
                                       "defaults: {interval: never}\n");
    const std::vector<std::string> errors = errors_of(load_config(file, Environment{}));
    const std::vector<std::string> starts{
        file + ":3:21: route uses undefined receiver \"nope\"",
        file + ":3:39: bad duration \"soon\": ",
        file + ":4:49: environment variable \"HOOK_URL\" is not set",
        file + ":5:22: bad duration \"never\": ",
    };
    ASSERT_EQ(errors.size(), starts.size()) << ::testing::PrintToString(errors);
    for (std::size_t i = 0; i < starts.size(); ++i) EXPECT_TRUE(errors[i].starts_with(starts[i])) << errors[i];
    EXPECT_EQ(errors_of(parse_config("alerting: {route: {receiver: a}, receivers: [{name: a}], recievers: []}\n",
                                     "cargomon.yml", kEnv)),
              std::vector<std::string>{
                  "cargomon.yml:1:58: unknown key \"recievers\" in alerting (did you mean \"receivers\"?)"});
}

TEST(ConfigAlerting, AChangedSectionIsADifferentConfig) {
    const std::string base = "token: t\n";
    EXPECT_EQ(parse_ok(base + alerting("b")), parse_ok("# reordered\n" + base + alerting("b")));
    EXPECT_NE(parse_ok(base + alerting("b")), parse_ok(base + alerting("a")));
    EXPECT_NE(parse_ok(base + alerting("b")), parse_ok(base + alerting("b", "severity=\"ticket\"")));
    EXPECT_NE(parse_ok(base + alerting("b")), parse_ok(base + alerting("b", "severity=~\"page\"")));
    EXPECT_NE(parse_ok(base), parse_ok(base + alerting("b")));
    const Config c = parse_ok(base + alerting("b"));
    ASSERT_EQ(c.alerting.route.routes.size(), 1u);
    EXPECT_EQ(c.alerting.route.routes[0].receiver, "b");
    EXPECT_EQ(c.alerting.route.routes[0].matchers.at(0).to_string(), "severity=\"page\"");
}

TEST(ConfigAlerting, FileSecretsAreReadFromTheConfigFilesFolder) {
    TempDir dir;
    std::filesystem::create_directories(dir.file("secrets"));
    dir.write("secrets/pw", "s3cret\n");
    dir.write("secrets/hook", "https://hooks.example/T/SECRET\n");
    dir.write("secrets/bearer", "tok\n");
    const std::string file = dir.write("cargomon.yml",
                                       "token: t\n"
                                       "alerting:\n"
                                       "  route: {receiver: r}\n"
                                       "  receivers:\n"
                                       "    - name: r\n"
                                       "      alertmanager_configs:\n"
                                       "        - url: http://127.0.0.1:9093\n"
                                       "          basic_auth: {username: u, password_file: secrets/pw}\n"
                                       "      slack_configs: [{api_url_file: ./secrets/hook}]\n"
                                       "      webhook_configs: [{url: 'http://h/x', bearer_token_file: secrets/bearer}]\n");
    ASSERT_NE(std::filesystem::current_path(), std::filesystem::path(dir.path()));
    LoadResult result = load_config(file, kEnv);
    for (const std::string& e : errors_of(result)) ADD_FAILURE() << e;
    ASSERT_TRUE(std::holds_alternative<Config>(result));
    const ReceiverConfig* r = std::get<Config>(result).alerting.receiver("r");
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->integrations.size(), 3u);
    EXPECT_EQ(std::get<WebhookConfig>(r->integrations[0].config).http.client.authorization->credentials, "tok");
    EXPECT_EQ(std::get<SlackConfig>(r->integrations[1].config).http.url, "https://hooks.example/T/SECRET");
    EXPECT_EQ(std::get<AlertmanagerConfig>(r->integrations[2].config).http.client.basic_auth->password, "s3cret");

    // A missing one is named by the path it was looked for at, never by its content.
    std::filesystem::remove(dir.file("secrets/pw"));
    EXPECT_EQ(errors_of(load_config(file, kEnv)),
              std::vector<std::string>{file + ":8:52: cannot read password_file \"" + dir.file("secrets/pw") +
                                       "\": No such file or directory"});
}

}  // namespace

namespace {

// An HA replica's config: its external label and the relabelling that drops it.
TEST(ConfigAlerting, ExternalLabelsAndAlertRelabelConfigs) {
    const Config c = parse_ok("token: t\n"
                              "global: {external_labels: {replica: a, cluster: eu}}\n"
                              "alerting:\n"
                              "  route: {receiver: r}\n"
                              "  receivers: [{name: r}]\n"
                              "  alert_relabel_configs:\n"
                              "    - {action: LabelDrop, regex: replica}\n"
                              "    - {source_labels: [cluster, severity], separator: '/', regex: 'eu/(.*)',\n"
                              "       target_label: route, replacement: 'eu-$1'}\n"
                              "    - {action: hashmod, source_labels: [alertname], modulus: 3, target_label: shard}\n");
    EXPECT_EQ(c.global.external_labels,
              (cargomon::metrics::Labels{{"cluster", "eu"}, {"replica", "a"}}));  // sorted
    ASSERT_EQ(c.alerting.alert_relabel_configs.size(), 3u);
    EXPECT_EQ(c.alerting.alert_relabel_configs[0].action, cargomon::metrics::RelabelAction::labeldrop);
    EXPECT_EQ(c.alerting.alert_relabel_configs[1].separator, "/");
    EXPECT_EQ(c.alerting.alert_relabel_configs[1].replacement, "eu-$1");
    EXPECT_EQ(c.alerting.alert_relabel_configs[2].modulus, 3u);
    cargomon::metrics::Labels labels{{"alertname", "A"}, {"cluster", "eu"}, {"replica", "a"}, {"severity", "page"}};
    ASSERT_TRUE(cargomon::metrics::relabel(labels, c.alerting.alert_relabel_configs));
    EXPECT_EQ(cargomon::metrics::label_value(labels, "route"), "eu-page");
    EXPECT_EQ(cargomon::metrics::find_label(labels, "replica"), nullptr);
    // Another replica's config is another config (the daemon reloads it), and its labels
    // show in the effective config.
    EXPECT_NE(c, parse_ok("token: t\nglobal: {external_labels: {replica: b, cluster: eu}}\n"));
    EXPECT_NE(c.redacted_yaml().find("replica: a"), std::string::npos) << c.redacted_yaml();
}

TEST(ConfigAlerting, BadExternalLabelsAndRelabelConfigsArePositioned) {
    const std::vector<std::string> errors = errors_of(parse_config(
        "token: t\n"
        "global: {external_labels: {1bad: x, __reserved: y, empty: '', ok: z}, labels: {}}\n"
        "alerting:\n"
        "  route: {receiver: r}\n"
        "  receivers: [{name: r}]\n"
        "  alert_relabel_configs:\n"
        "    - {action: rename, regex: x}\n"
        "    - {action: hashmod, source_labels: [a], target_label: s}\n"
        "    - {regex: '(', target_label: t}\n"
        "    - {action: labeldrop, regex: x, target_label: t}\n"
        "    - {source_labels: [a-b], target_label: t}\n"
        "    - {target_label: 'x-y'}\n"
        "    - {action: keep, modulus: -1, regex: x}\n"
        "    - {action: drop, regx: x}\n",
        "cargomon.yml", kEnv));
    const std::vector<std::string> expected{
        "cargomon.yml:2:28: external label \"1bad\" is not a label name",
        "cargomon.yml:2:37: external label \"__reserved\" is not a label name",
        "cargomon.yml:2:59: external label \"empty\" has an empty value",
        "cargomon.yml:2:71: unknown key \"labels\" in global",
        "cargomon.yml:7:16: unknown relabel action \"rename\"",
        "cargomon.yml:8:7: hashmod needs a modulus above 0",
        "cargomon.yml:9:15: bad regex \"(\"",
        "cargomon.yml:10:7: labeldrop takes a regex (matched against label names), and no other field",
        "cargomon.yml:11:23: \"a-b\" is not a label name",
        "cargomon.yml:12:22: \"x-y\" is not a label name",
        "cargomon.yml:13:31: modulus must be",
        "cargomon.yml:14:22: unknown key \"regx\" in a relabel config",
    };
    ASSERT_EQ(errors.size(), expected.size()) << ::testing::PrintToString(errors);
    for (std::size_t i = 0; i < expected.size(); ++i)
        EXPECT_TRUE(errors[i].starts_with(expected[i])) << errors[i] << "\nexpected: " << expected[i];
}

}  // namespace
