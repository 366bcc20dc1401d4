#include "daemon/cli/backup.h"

#include <filesystem>

#include "common/cli.h"
#include "common/sqlite.h"
#include "daemon/cli/path_flags.h"
#include "daemon/storage.h"

namespace cargomon::cli {
namespace {

constexpr const char* kUsage = R"(usage: cargomon backup [--storage.path=DIR] FILE

Copies the state database (DIR/cargomon.db: counter watermarks, alert state, the
outbox, silences) to FILE with SQLite's online backup: consistent while cargomon runs.
To restore: stop cargomon, copy FILE to DIR/cargomon.db, start.

)";

}  // namespace

int backup_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    std::string storage_path;
    std::string file;
    auto app = make_app(kUsage);
    add_storage_path_flag(*app, storage_path, "the daemon's --storage.path");
    app->add_option("FILE", file, "where the copy goes");
    finish(*app);
    try {
        if (!parse(*app, args, out)) return 0;
        if (file.empty()) throw UsageError("the backup's FILE is missing");
    } catch (const UsageError& e) {
        return usage_error(err, "cargomon backup", e.what());
    }
    const std::string source = (std::filesystem::path(storage_path) / daemon::kStateFile).string();
    // Opening a missing file would create an empty database and back that up.
    std::error_code ec;
    if (!std::filesystem::is_regular_file(source, ec)) {
        err << "cargomon backup: no state database at " << source << "\n";
        return 1;
    }
    try {
        sqlite::Database db(source);
        sqlite::backup(db, file);
    } catch (const std::exception& e) {
        err << "cargomon backup: " << e.what() << "\n";
        return 1;
    }
    out << "backed up " << source << " to " << file << "\n";
    return 0;
}

}  // namespace cargomon::cli
