#include <gtest/gtest.h>

#include <fstream>

#include "config/alerting.h"
#include "alerts/notify/router.h"
#include "config/config.h"
#include "fixtures.h"

namespace cargomon::alerts::notify {
namespace {

using testing::config_from;

// The section is read by the config loader (config/alerting.cpp); these hold what the
// notify stage relies on: inheritance, matching, secrets, positioned errors.
std::vector<std::string> errors_of(const std::string& yaml,
                                   const config::Environment& env = config::Environment::process()) {
    auto parsed = config::parse_alerting(yaml, "cargomon.yml", env);
    std::vector<std::string> out;
    if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&parsed))
        for (const auto& e : *errors) out.push_back(e.to_string());
    return out;
}

const char* kTree = R"(
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
      group_wait: 1s
    - matchers: ['workflow_name=~"billing.*"', 'env!=staging']
      receiver: billing
      routes:
        - matchers: ['team!~"ops|sre"']
          receiver: billing-dev
    - matchers: ['severity="critical"']
      receiver: second
receivers:
  - name: default
  - name: pager
  - name: billing
  - name: billing-dev
  - name: second
)";

std::vector<std::string> receivers_for(const config::AlertingConfig& config, metrics::Labels labels) {
    std::sort(labels.begin(), labels.end());
    std::vector<std::string> out;
    for (const config::Route* r : Router(config.route).match(labels)) out.push_back(r->receiver);
    return out;
}

TEST(NotifyConfig, ChildrenInheritTimingsAndGrouping) {
    config::AlertingConfig c = config_from(kTree);
    ASSERT_EQ(c.route.routes.size(), 3u);
    EXPECT_EQ(c.route.routes[0].group_wait, Millis{1000});
    EXPECT_EQ(c.route.routes[1].group_wait, Millis{10'000});
    EXPECT_EQ(c.route.routes[1].routes[0].group_by, std::vector<std::string>{"alertname"});
    EXPECT_EQ(c.route.routes[1].group_interval, Millis{300'000});
    EXPECT_NE(c.route.routes[0].key, c.route.routes[2].key);  // same matchers, distinct routes
}

TEST(Router, FirstMatchWinsUnlessContinue) {
    config::AlertingConfig c = config_from(kTree);
    EXPECT_EQ(receivers_for(c, {{"alertname", "X"}}), std::vector<std::string>{"default"});
    // pager continues, so the billing branch is tried too; it does not continue, so the
    // third route (also critical) is never reached.
    EXPECT_EQ(receivers_for(c, {{"severity", "critical"}, {"workflow_name", "billing-eu"}, {"team", "ops"}}),
              (std::vector<std::string>{"pager", "billing"}));
    EXPECT_EQ(receivers_for(c, {{"severity", "critical"}}), (std::vector<std::string>{"pager", "second"}));
    EXPECT_EQ(receivers_for(c, {{"workflow_name", "billing-eu"}, {"team", "data"}}),
              std::vector<std::string>{"billing-dev"});
    EXPECT_EQ(receivers_for(c, {{"workflow_name", "billing-eu"}, {"env", "staging"}}),
              std::vector<std::string>{"default"});
}

TEST(NotifyConfig, ReadsIntegrationsSecretsFromEnvAndFiles) {
    testing::TempDir dir;
    {
        std::ofstream(dir.file("pw")) << "s3cret\n";
    }
    const config::Environment env(std::map<std::string, std::string>{{"HOOK_TOKEN", "tok"}});
    auto parsed = config::parse_alerting(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - url: http://127.0.0.1:1/hook
        bearer_token: ${HOOK_TOKEN}
        hmac_secret: k
        headers: {X-Team: ops}
        max_alerts: 5
    slack_configs:
      - api_url: https://hooks.slack.com/services/T/B/X
        send_resolved: false
    alertmanager_configs:
      - url: http://127.0.0.1:9093/
        basic_auth: {username: u, password_file: )" + dir.file("pw") + "}\n",
                                         "cargomon.yml", env);
    ASSERT_TRUE(std::holds_alternative<config::AlertingConfig>(parsed));
    const auto& r = std::get<config::AlertingConfig>(parsed).receivers.at(0);
    ASSERT_EQ(r.integrations.size(), 3u);
    const auto& hook = std::get<config::WebhookConfig>(r.integrations[0].config);
    EXPECT_EQ(hook.http.client.authorization->credentials, "tok");
    EXPECT_EQ(hook.http.headers.at("X-Team"), "ops");
    EXPECT_EQ(hook.max_alerts, 5u);
    EXPECT_FALSE(r.integrations[1].send_resolved);
    const auto& am = std::get<config::AlertmanagerConfig>(r.integrations[2].config);
    EXPECT_EQ(am.http.url, "http://127.0.0.1:9093");
    EXPECT_EQ(am.http.client.basic_auth->password, "s3cret");
}

TEST(NotifyConfig, ExpandsValuesLikeTheRestOfTheFile) {
    // The loader's expansion: $$ is a literal $, ${VAR:-fallback}, any other $ stays.
    const config::Environment env(std::map<std::string, std::string>{{"HOOK_HOST", "hooks.test"}});
    auto parsed = config::parse_alerting(R"(
route: {receiver: r}
receivers:
  - name: r
    webhook_configs:
      - url: "http://e/a$$b"
        bearer_token: "p$$w${NOPE:-x}$y"
      - url: "http://${HOOK_HOST}/${HOOK_PATH:-hook}"
)",
                                         "cargomon.yml", env);
    ASSERT_TRUE(std::holds_alternative<config::AlertingConfig>(parsed));
    const auto& r = std::get<config::AlertingConfig>(parsed).receivers.at(0);
    ASSERT_EQ(r.integrations.size(), 2u);
    EXPECT_EQ(std::get<config::WebhookConfig>(r.integrations[0].config).http.url, "http://e/a$b");
    EXPECT_EQ(std::get<config::WebhookConfig>(r.integrations[0].config).http.client.authorization->credentials, "p$wx$y");
    EXPECT_EQ(std::get<config::WebhookConfig>(r.integrations[1].config).http.url, "http://hooks.test/hook");

    const auto errors = errors_of("route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: \"${HOOK_URL}\"}]}]\n",
                                  env);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("cargomon.yml:2:47: environment variable \"HOOK_URL\" is not set"), std::string::npos)
        << errors[0];
}

TEST(NotifyConfig, ErrorsArePositionedAndKeepSecretsOut) {
    auto errors = errors_of(R"(route:
  receiver: missing
  group_wait: soon
  routes:
    - matchers: ['a=~"("']
      recevier: x
receivers:
  - name: r
    slack_configs:
      - api_url: hooks.slack.com/services/SECRET
)");
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    EXPECT_NE(all.find("cargomon.yml:2:13: route uses undefined receiver \"missing\""), std::string::npos) << all;
    EXPECT_NE(all.find("cargomon.yml:3:15: bad duration \"soon\""), std::string::npos) << all;
    EXPECT_NE(all.find("cargomon.yml:5:18: matcher \"a\": bad regex"), std::string::npos) << all;
    EXPECT_NE(all.find("cargomon.yml:6:7: unknown key \"recevier\""), std::string::npos) << all;
    EXPECT_NE(all.find("cargomon.yml:10:18: api_url: expected an http"), std::string::npos) << all;
    EXPECT_EQ(all.find("SECRET"), std::string::npos) << all;
    EXPECT_EQ(errors.size(), 5u) << all;  // the child inheriting "missing" is not reported again
}

TEST(NotifyConfig, RejectsStructuralMistakes) {
    EXPECT_FALSE(errors_of("receivers: []\n").empty());  // no route
    EXPECT_FALSE(errors_of("route: {receiver: a, matchers: ['x=y']}\nreceivers: [{name: a}]\n").empty());
    EXPECT_FALSE(errors_of("route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n").empty());
    EXPECT_FALSE(errors_of("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{}]}]\n").empty());
    EXPECT_FALSE(errors_of("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: 'http://x', "
                           "url_file: /y}]}]\n")
                     .empty());
    EXPECT_FALSE(errors_of("route: {receiver: a, group_by: ['...', x]}\nreceivers: [{name: a}]\n").empty());
    EXPECT_FALSE(errors_of("route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: '${NOPE_X1}'}]}]\n",
                           config::Environment{})
                     .empty());
    EXPECT_TRUE(errors_of("route: {receiver: a}\nreceivers: [{name: a}]\n").empty());
}

}  // namespace
}  // namespace cargomon::alerts::notify
