#pragma once
// `cargomon rules preview FILE... [--config.file=FILE]`: evaluates rule files once against
// the live Cargo API, as Cargo's alert preview does, and says what would fire now.
#include <ostream>
#include <string>
#include <vector>

namespace cargomon::cli {

// `args` are the words after "rules preview". Runs every configured collector once, in
// order, then every rule over what they collected; per rule and resulting series prints
// labels, value and whether it would fire. Without FILE, the config's rule_files.
// Returns 0 when it ran, 1 on config or rule errors or when every collector failed,
// 2 on a usage error. The token never appears in what it prints.
int rules_preview_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cargomon::cli
