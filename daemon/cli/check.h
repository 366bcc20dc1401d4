#pragma once
// `cargomon check-config|check-rules|check-web-config FILE...`, as promtool's `check`
// commands: each file loaded as the daemon would load it, errors file:line:col.
#include <ostream>
#include <string>
#include <vector>

namespace cargomon::cli {

// `args` are the words after the subcommand's name. Each returns 0 when every FILE is
// valid, 1 otherwise, 2 on a usage error (no FILE: "usage: cargomon check-... FILE...").
// check-config: the config, then what the daemon would load with it (rule files, alerting).
int check_config_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// check-rules: rule files.
int check_rules_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// check-web-config: web config files (TLS, basic auth, headers).
int check_web_config_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cargomon::cli
