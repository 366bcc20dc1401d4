#pragma once
// `cargomon batch doctor|rerun BATCH_UUID`: the partial-failure procedure of Cargo's
// analytics guide (read the batch's counters, count its failed runs, find where and why
// they failed, re-run only them) in one command, with the daemon's config and API client.
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace cargomon::cli {

// `args` are the words after "batch". doctor exits 0 when the batch is healthy, 1 when
// it found failures (failed runs, an `error` status, runs that never finished), 2 on a
// usage or API error. rerun exits 0 when it created the batch (or printed it with
// --dry-run, or there was nothing to re-run), 1 when it did not (the batch is not
// finished, the user said no), 2 on a usage or API error, the API's refusals explained.
// The confirmation is read from `in`. The token never appears in what it prints.
int batch_main(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace cargomon::cli
