// `cmake --install` of this build into a fresh prefix, and the installed systemd unit
// checked by systemd-analyze against the installed binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "tests/deploy/deploy_files.h"
#include "tests/support/tools.h"

namespace cargomon::deploy_test {
namespace {

class Install : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        prefix_ = std::make_unique<TempDir>();
        install_ = run_tool({"cmake", "--install", CARGOMON_BUILD_DIR, "--prefix", prefix_->path()});
    }
    static void TearDownTestSuite() { prefix_.reset(); }

    void SetUp() override { ASSERT_EQ(install_.exit_code, 0) << install_.output; }

    static std::filesystem::path installed(const std::string& relative) { return std::filesystem::path(prefix_->path()) / relative; }

    static std::unique_ptr<TempDir> prefix_;
    static ToolRun install_;
};

std::unique_ptr<TempDir> Install::prefix_;
ToolRun Install::install_;

TEST_F(Install, PutsBinariesUnitAndExamplesInTheUsualPlaces) {
    for (const char* file : {"bin/cargomon", "bin/cargomon-sim", "lib/systemd/system/cargomon.service",
                             "share/doc/cargomon/examples/cargomon.yml",
                             "share/doc/cargomon/examples/rules/cargo.rules.yml",
                             "share/doc/cargomon/examples/prometheus/prometheus.yml",
                             "share/doc/cargomon/examples/alertmanager/alertmanager.yml",
                             "share/doc/cargomon/examples/grafana/cargomon.json",
                             "share/doc/cargomon/examples/grafana/provisioning/datasources/cargomon.yml",
                             "share/doc/cargomon/examples/grafana/provisioning/dashboards/cargomon.yml"})
        EXPECT_TRUE(std::filesystem::is_regular_file(installed(file))) << file << "\n" << install_.output;
}

TEST_F(Install, UnitRunsTheInstalledBinaryWithTheInstalledConfig) {
    const auto unit = read_text(installed("lib/systemd/system/cargomon.service"));
    const auto prefix = prefix_->path();
    EXPECT_NE(unit.find("ExecStart=" + prefix + "/bin/cargomon \\"), std::string::npos) << unit;
    EXPECT_NE(unit.find("--config.file=" + prefix + "/etc/cargomon/cargomon.yml"), std::string::npos) << unit;
    EXPECT_NE(unit.find("EnvironmentFile=-" + prefix + "/etc/cargomon/cargomon.env"), std::string::npos) << unit;
    EXPECT_EQ(unit.find("/usr/bin/"), std::string::npos) << unit;
}

TEST_F(Install, UnitIsANotifyServiceWithHardening) {
    const auto unit = read_text(installed("lib/systemd/system/cargomon.service"));
    for (const char* line : {"Type=notify\n", "ExecReload=/bin/kill -HUP $MAINPID\n", "DynamicUser=yes\n",
                             "StateDirectory=cargomon\n", "--storage.path=/var/lib/cargomon", "NoNewPrivileges=yes\n",
                             "ProtectSystem=strict\n", "ProtectHome=yes\n", "PrivateTmp=yes\n",
                             "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n", "SystemCallFilter=@system-service\n",
                             "CapabilityBoundingSet=\n"})
        EXPECT_NE(unit.find(line), std::string::npos) << line;
}

// systemd-analyze verify loads the unit as systemd would (unknown keys, bad values, a
// missing or non-executable ExecStart) and must say nothing at all.
TEST_F(Install, SystemdAnalyzeVerifiesTheInstalledUnit) {
    CARGOMON_REQUIRE_TOOL(!find_executable("systemd-analyze").empty(), "systemd-analyze not installed");
    // Some containers cannot host systemd's manager at all: prove that with a unit that
    // has nothing to find fault with, and skip only when even that one cannot be verified.
    const auto probe = std::filesystem::temp_directory_path() / ("cargomon-probe-" + std::to_string(::getpid()) + ".service");
    {
        std::ofstream out(probe);
        out << "[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n";
    }
    auto probed = run_tool({"systemd-analyze", "verify", probe.string()});
    std::filesystem::remove(probe);
    if (probed.exit_code != 0 && (probed.output.find("Failed to initialize manager") != std::string::npos ||
                                  probed.output.find("Failed to create manager") != std::string::npos))
        GTEST_SKIP() << "systemd-analyze cannot run in this container (even a trivial unit): " << probed.output;
    ASSERT_EQ(probed.exit_code, 0) << "systemd-analyze fails on a trivial unit: " << probed.output;
    const auto unit = installed("lib/systemd/system/cargomon.service").string();
    auto run = run_tool({"systemd-analyze", "verify", unit});
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_EQ(run.output, "");
}

}  // namespace
}  // namespace cargomon::deploy_test
