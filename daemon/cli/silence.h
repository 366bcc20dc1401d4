#pragma once
// `cargomon silence add|list|expire`: a command-line client of a running daemon's
// /api/v1/silences, in the manner of amtool's silence commands.
#include <ostream>
#include <string>
#include <vector>

namespace cargomon::cli {

// `args` are the words after "silence". Returns the exit status: 0 done, 1 failed (daemon
// unreachable or refusing, bad matcher, bad duration), 2 usage error. $CARGOMON_URL and
// $USER give the defaults of --url and --author.
int silence_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cargomon::cli
