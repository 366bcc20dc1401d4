#pragma once
// `cargomon [flags]`: the daemon itself, its flags in Prometheus' style.
#include <string>
#include <vector>

namespace cargomon::cli {

// `args` are the words after the program's name. Runs the daemon until SIGTERM or SIGINT
// (SIGHUP reloads). Returns 0 when stopped, 1 when it cannot start, 2 on a bad command
// line ("cargomon: what" and "(see cargomon --help)" on stderr); --help, --version: 0.
int serve_main(const std::vector<std::string>& args);

}  // namespace cargomon::cli
