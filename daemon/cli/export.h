#pragma once
// `cargomon export runs|outputs|batch|segment|query`: the Cargo API's downloads and an
// ad-hoc query's rows, written to a file (or stdout) with the daemon's config and API
// client. docs/export.md is the user's guide.
#include <ostream>
#include <string>
#include <vector>

namespace cargomon::cli {

// `args` are the words after "export". Exits 0 when it wrote the export, 1 when there was
// nothing to export (no runs match, no rows; no file is written), 2 on a usage or API
// error, the API's refusals explained. A file is written whole or not at all: into an
// unnamed temporary file beside it, renamed into place once complete, so an error, Ctrl-C,
// SIGTERM or even SIGKILL leaves no partial file. `--output -` streams to `out`. A
// progress line goes to `err` only when stderr is a terminal. The token never appears.
int export_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cargomon::cli
