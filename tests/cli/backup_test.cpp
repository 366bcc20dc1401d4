// `cargomon backup`, the real binary: the copy is its owner's alone, and its temporary
// file is created under a name nobody could plant beforehand. The copy was written as
// "FILE.partial-<pid>" (the old code removed what it found there, then let SQLite create
// it) and left world-readable by the umask. The shell plants that name for its own pid,
// then becomes the backup (exec keeps the pid).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/sqlite.h"
#include "tests/daemon/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace cargomon::testing {
namespace {

namespace fs = std::filesystem;

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(Backup, TheCopyIsPrivateAndNoTemporaryNameCanBePlanted) {
    TempDir storage, out;
    {
        sqlite::Database db(storage.file("cargomon.db"));
        db.exec("CREATE TABLE t (s TEXT); INSERT INTO t VALUES ('kept')");
    }
    const std::string victim = storage.write("victim", "untouched\n");
    const std::string line = "umask 022 && cd '" + out.path() + "' && ln -s '" + victim + "' copy.db.partial-$$ && exec '" +
                             daemon_binary() + "' backup --storage.path='" + storage.path() + "' copy.db";
    const auto r = run_command({"/bin/sh", "-c", line});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(read(victim), "untouched\n");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(out.path())) names.push_back(e.path().filename().string());
    ASSERT_EQ(names.size(), 2u) << "the copy and the planted link, nothing else";
    for (const auto& name : names) {
        EXPECT_TRUE(name == "copy.db" || name.rfind("copy.db.partial-", 0) == 0) << name;
        EXPECT_EQ(fs::is_symlink(out.file(name)), name != "copy.db") << name << ": the planted link was removed";
    }
    struct stat st {};
    ASSERT_EQ(::stat(out.file("copy.db").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    sqlite::Database copy(out.file("copy.db"));
    sqlite::Statement select(copy, "SELECT s FROM t");
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.text(0), "kept");
    select.reset();
}

}  // namespace
}  // namespace cargomon::testing
