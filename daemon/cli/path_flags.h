#pragma once
// The two path flags several commands share, with the one default each
// (daemon/defaults.h): --config.file (the daemon, rules preview, batch, export) and
// --storage.path (the daemon, backup). `what` is the flag's line in --help.
#include <string>

#include "common/cli.h"
#include "daemon/defaults.h"

namespace cargomon::cli {

inline void add_config_file_flag(CLI::App& app, std::string& file, const std::string& what = "configuration file") {
    file = daemon::kDefaultConfigFile;
    app.add_option("--config.file", file, what)->type_name("FILE")->default_str(file);
}

inline void add_storage_path_flag(CLI::App& app, std::string& dir, const std::string& what) {
    dir = daemon::kDefaultStoragePath;
    app.add_option("--storage.path", dir, what)->type_name("DIR")->default_str(dir);
}

}  // namespace cargomon::cli
