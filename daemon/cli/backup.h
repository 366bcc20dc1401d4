#pragma once
// `cargomon backup [--storage.path=DIR] FILE`: a consistent copy of the state database
// (daemon/storage.h) by SQLite's online backup, safe while the daemon runs and writes.
#include <ostream>
#include <string>
#include <vector>

namespace cargomon::cli {

// `args` are the words after "backup". Returns 0 when FILE holds the copy, 1 when it could
// not be made (no state database in DIR, FILE not writable; FILE is then left as it was),
// 2 on a usage error.
int backup_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cargomon::cli
