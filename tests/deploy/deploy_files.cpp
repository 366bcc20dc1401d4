#include "tests/deploy/deploy_files.h"

#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/process.h"

namespace cargomon::deploy_test {

std::filesystem::path source_path(const std::string& relative) {
    return std::filesystem::path(CARGOMON_SOURCE_DIR) / relative;
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

ToolRun run_tool(const std::vector<std::string>& argv) {
    TempDir dir;
    const auto log = dir.path() / "output";
    Process process({.argv = argv, .output_file = log.string()});
    ToolRun run;
    auto code = process.wait_for(std::chrono::seconds{60});
    run.exit_code = code ? *code : process.stop();
    run.output = read_text(log);
    return run;
}

TempDir::TempDir() {
    std::string name = (std::filesystem::temp_directory_path() / "cargomon-deploy-XXXXXX").string();
    if (!::mkdtemp(name.data())) throw std::runtime_error("mkdtemp failed");
    path_ = name;
}

TempDir::~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace cargomon::deploy_test
