// The Prometheus, Alertmanager, Docker and compose files, checked by the tools users run
// on them where Debian 12 has them, and structurally where it does not (no hadolint and
// no Docker engine here: those two checks are this file's own reading, not a linter).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "common/process.h"
#include "tests/deploy/deploy_files.h"
#include "tests/support/tools.h"

namespace cargomon::deploy_test {
namespace {

TEST(PrometheusConfig, PromtoolAcceptsItAndItsRules) {
    CARGOMON_REQUIRE_TOOL(!find_executable("promtool").empty(), "promtool not installed");
    auto run = run_tool({"promtool", "check", "config", source_path("deploy/prometheus/prometheus.yml").string()});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    // The rules glob must find the shipped rules, not silently nothing.
    EXPECT_NE(run.output.find("SUCCESS: 1 rule files found"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("cargo.rules.yml"), std::string::npos) << run.output;
}

TEST(PrometheusConfig, ScrapesCargomonWhereComposeRunsIt) {
    auto config = YAML::LoadFile(source_path("deploy/prometheus/prometheus.yml").string());
    std::set<std::string> targets;
    for (const auto& job : config["scrape_configs"])
        for (const auto& sc : job["static_configs"])
            for (const auto& t : sc["targets"]) targets.insert(t.as<std::string>());
    EXPECT_TRUE(targets.count("cargomon:9464"));
    auto compose = YAML::LoadFile(source_path("deploy/compose/compose.yml").string());
    EXPECT_TRUE(compose["services"]["cargomon"]);
    EXPECT_EQ(config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0].as<std::string>(),
              "alertmanager:9093");
}

TEST(AlertmanagerConfig, AmtoolAcceptsIt) {
    CARGOMON_REQUIRE_TOOL(!find_executable("amtool").empty(), "amtool not installed");
    auto run = run_tool({"amtool", "check-config", source_path("deploy/alertmanager/alertmanager.yml").string()});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("SUCCESS"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("2 receivers"), std::string::npos) << run.output;
}

TEST(AlertmanagerConfig, HasSlackAndWebhookReceiversAndNoInlineSecret) {
    const auto text = read_text(source_path("deploy/alertmanager/alertmanager.yml"));
    auto config = YAML::Load(text);
    std::set<std::string> kinds;
    for (const auto& r : config["receivers"]) {
        if (r["slack_configs"]) kinds.insert("slack");
        if (r["webhook_configs"]) kinds.insert("webhook");
    }
    EXPECT_EQ(kinds, (std::set<std::string>{"slack", "webhook"}));
    EXPECT_TRUE(config["global"]["slack_api_url_file"]);
    EXPECT_EQ(text.find("hooks.slack.com"), std::string::npos) << "a Slack webhook URL is a secret";
}

// The Dockerfile's instructions, stage by stage.
struct Stage {
    std::string from, name;
    std::vector<std::pair<std::string, std::string>> instructions;  // keyword, rest
    std::string find(const std::string& keyword) const {
        for (const auto& [k, rest] : instructions)
            if (k == keyword) return rest;
        return "";
    }
};

std::vector<Stage> dockerfile_stages() {
    std::istringstream in(read_text(source_path("Dockerfile")));
    std::vector<Stage> stages;
    std::string line, logical;
    while (std::getline(in, line)) {
        if (logical.empty() && (line.empty() || line[0] == '#')) continue;
        if (!line.empty() && line.back() == '\\') {
            logical += line.substr(0, line.size() - 1) + " ";
            continue;
        }
        logical += line;
        const auto space = logical.find(' ');
        const auto keyword = logical.substr(0, space), rest = logical.substr(space + 1);
        logical.clear();
        if (keyword == "FROM") {
            std::smatch m;
            std::regex_match(rest, m, std::regex(R"((\S+)(?:\s+AS\s+(\S+))?)"));
            stages.push_back({m[1], m[2], {}});
        } else if (!stages.empty()) {
            stages.back().instructions.emplace_back(keyword, rest);
        }
    }
    return stages;
}

TEST(Dockerfile, BuildsOnDebian12InStages) {
    const auto stages = dockerfile_stages();
    ASSERT_GE(stages.size(), 3u);
    std::set<std::string> names;
    for (const auto& s : stages) {
        EXPECT_TRUE(s.from == "debian:12" || s.from == "debian:12-slim" || names.count(s.from))
            << "stage " << s.name << " from " << s.from;
        names.insert(s.name);
    }
    EXPECT_NE(stages.front().find("RUN").find("scripts/bootstrap"), std::string::npos)
        << "the build stage installs what scripts/bootstrap installs";
    EXPECT_TRUE(names.count("sim")) << "compose builds the simulator from target sim";
}

TEST(Dockerfile, RuntimeIsUnprivilegedHealthCheckedAndKeepsStateInAVolume) {
    const auto stages = dockerfile_stages();
    const auto& runtime = stages.back();  // what `docker build .` produces
    EXPECT_EQ(runtime.name, "cargomon");
    const auto user = runtime.find("USER");
    EXPECT_FALSE(user.empty());
    EXPECT_NE(user, "root");
    EXPECT_NE(user, "0");
    EXPECT_EQ(runtime.find("EXPOSE"), "9464");
    EXPECT_NE(runtime.find("HEALTHCHECK").find("/healthz"), std::string::npos);
    EXPECT_NE(runtime.find("VOLUME").find("/var/lib/cargomon"), std::string::npos);
    EXPECT_NE(runtime.find("CMD").find("--storage.path=/var/lib/cargomon"), std::string::npos);
    EXPECT_NE(runtime.find("CMD").find("--config.file=/etc/cargomon/cargomon.yml"), std::string::npos);
}

TEST(Dockerfile, CopiesOnlyFilesThatExist) {
    for (const auto& stage : dockerfile_stages())
        for (const auto& [keyword, rest] : stage.instructions) {
            if (keyword != "COPY" || rest.rfind("--from=", 0) == 0 || rest.rfind(". ", 0) == 0) continue;
            const auto source = rest.substr(0, rest.find(' '));
            EXPECT_TRUE(std::filesystem::exists(source_path(source))) << "COPY " << rest;
        }
}

class Compose : public ::testing::Test {
protected:
    void SetUp() override { compose_ = YAML::LoadFile(source_path("deploy/compose/compose.yml").string()); }
    YAML::Node compose_;
};

TEST_F(Compose, RunsTheWholeStackWithTheSimulatorAsADemoProfile) {
    const auto services = compose_["services"];
    for (const char* name : {"cargomon", "cargomon-sim", "prometheus", "alertmanager", "grafana"})
        EXPECT_TRUE(services[name]) << name;
    EXPECT_EQ(services["cargomon-sim"]["profiles"][0].as<std::string>(), "demo");
    for (const auto& s : services) EXPECT_FALSE(s.second["profiles"] && s.first.as<std::string>() != "cargomon-sim");
    std::set<std::string> stages;
    for (const auto& st : dockerfile_stages()) stages.insert(st.name);
    EXPECT_TRUE(stages.count(services["cargomon"]["build"]["target"].as<std::string>()));
    EXPECT_TRUE(stages.count(services["cargomon-sim"]["build"]["target"].as<std::string>()));
}

TEST_F(Compose, PublishesOnLoopbackOnly) {
    for (const auto& s : compose_["services"])
        for (const auto& port : s.second["ports"])
            EXPECT_EQ(port.as<std::string>().rfind("127.0.0.1:", 0), 0u) << s.first.as<std::string>();
}

TEST_F(Compose, MountsFilesThatExist) {
    const auto dir = source_path("deploy/compose");
    int mounts = 0;
    for (const auto& s : compose_["services"])
        for (const auto& v : s.second["volumes"]) {
            const auto spec = v.as<std::string>();
            if (spec[0] != '.') continue;  // a named volume
            ++mounts;
            EXPECT_TRUE(std::filesystem::exists(dir / spec.substr(0, spec.find(':')))) << spec;
        }
    EXPECT_GE(mounts, 7);
}

TEST_F(Compose, GrafanaLoadsTheDashboardWhereProvisioningLooks) {
    auto provider = YAML::LoadFile(source_path("deploy/grafana/provisioning/dashboards/cargomon.yml").string());
    const auto path = provider["providers"][0]["options"]["path"].as<std::string>();
    bool mounted = false;
    for (const auto& v : compose_["services"]["grafana"]["volumes"]) {
        const auto spec = v.as<std::string>();
        mounted |= spec.rfind("../grafana/cargomon.json:" + path + "/", 0) == 0;
    }
    EXPECT_TRUE(mounted) << "compose must mount deploy/grafana/cargomon.json under " << path;
}

}  // namespace
}  // namespace cargomon::deploy_test
