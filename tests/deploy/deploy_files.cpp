#include "tests/deploy/deploy_files.h"

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
    const std::string log = dir.file("output");
    Process process({.argv = argv, .output_file = log});
    ToolRun run;
    auto code = process.wait_for(std::chrono::seconds{60});
    run.exit_code = code ? *code : process.stop();
    run.output = read_text(log);
    return run;
}

}  // namespace cargomon::deploy_test
