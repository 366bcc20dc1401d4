#pragma once
// What the deployment tests share: the repository's files and the external tools they
// are checked with.
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace cargomon::deploy_test {

std::filesystem::path source_path(const std::string& relative);  // in the repository
std::string read_text(const std::filesystem::path& path);        // throws when unreadable

struct ToolRun {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};
// Runs a tool to completion (60 s at most), collecting its output.
ToolRun run_tool(const std::vector<std::string>& argv);

using testing::TempDir;  // tests/support/temp_dir.h

}  // namespace cargomon::deploy_test
