// The one SQLite wrapper: values round-trip, a failed transaction leaves nothing, and an
// error names the database file (a corrupt state file used to say only "file is not a
// database").
#include "common/sqlite.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/support/temp_dir.h"

namespace cargomon::sqlite {
namespace {

TEST(Sqlite, ValuesRoundTripAndTransactionsRollBack) {
    testing::TempDir dir;
    Database db(dir.file("t.db"));
    db.exec("CREATE TABLE t (s TEXT, i INTEGER, r REAL)");
    const SystemTime t{std::chrono::milliseconds{1'800'000'000'123}};
    Statement insert(db, "INSERT INTO t VALUES (?, ?, ?)");
    insert.bind(1, std::string_view("a'b")).bind(2, to_millis(t)).bind(3, 0.25).run();
    {
        Transaction tx(db);
        insert.bind(1, std::string_view("lost")).bind(2, std::int64_t{0}).bind(3, 1.0).run();
    }  // no commit: rolled back
    Statement select(db, "SELECT s, i, r FROM t");
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.text(0), "a'b");
    EXPECT_EQ(from_millis(select.int64(1)), t);
    EXPECT_EQ(select.real(2), 0.25);
    EXPECT_FALSE(select.step());
}

TEST(Sqlite, ErrorsNameTheDatabaseFile) {
    testing::TempDir dir;
    const auto path = dir.file("cargomon.db");
    std::ofstream(path) << std::string(4096, 'x');  // not a database
    try {
        Database db(path);
        FAIL() << "opened a file that is not a database";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
    }
    Database ok(dir.file("ok.db"));
    try {
        Statement bad(ok, "SELECT * FROM missing");
        FAIL() << "prepared a query on a missing table";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(dir.file("ok.db")), std::string::npos) << e.what();
    }
}

// The code tells a damaged file (moved aside at start) from a busy or full one (not).
TEST(Sqlite, ErrorsCarrySqlitesCode) {
    testing::TempDir dir;
    const auto path = dir.write("garbage.db", std::string(4096, 'x'));
    try {
        Database db(path);
        FAIL() << "opened a file that is not a database";
    } catch (const Error& e) {
        EXPECT_EQ(e.code, SQLITE_NOTADB) << e.what();
    }
    Database ok(dir.file("ok.db"));
    ok.exec("CREATE TABLE t (x INTEGER PRIMARY KEY)");
    ok.exec("INSERT INTO t VALUES (1)");
    try {
        ok.exec("INSERT INTO t VALUES (1)");
        FAIL() << "inserted a duplicate key";
    } catch (const Error& e) {
        EXPECT_EQ(e.code, SQLITE_CONSTRAINT) << e.what();
    }
    // A statement's failed step is an error too, not the end of its rows.
    Statement duplicate(ok, "INSERT INTO t VALUES (?)");
    duplicate.bind(1, std::int64_t{1});
    try {
        duplicate.run();
        FAIL() << "a statement inserted a duplicate key";
    } catch (const Error& e) {
        EXPECT_EQ(e.code, SQLITE_CONSTRAINT) << e.what();
    }
}

// The copy is whole, one file (no -wal beside it), and replaces the destination only when
// done: a failed backup leaves the old copy and no partial file.
TEST(Sqlite, BackupCopiesWholeIntoOneFile) {
    testing::TempDir dir;
    Database db(dir.file("state.db"));
    db.exec("CREATE TABLE t (s TEXT)");
    {
        Transaction tx(db);
        Statement insert(db, "INSERT INTO t VALUES (?)");
        for (int i = 0; i < 500; ++i) insert.bind(1, std::string(100, 'a')).run();
        tx.commit();
    }
    const auto copy = dir.write("copy.db", "an older copy");
    backup(db, copy);
    EXPECT_FALSE(std::filesystem::exists(copy + "-wal"));
    {
        Database restored(copy);
        Statement count(restored, "SELECT count(*) FROM t");
        ASSERT_TRUE(count.step());
        EXPECT_EQ(count.int64(0), 500);
        count.reset();
    }
    EXPECT_THROW(backup(db, dir.file("missing/dir/copy.db")), Error);
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        EXPECT_EQ(entry.path().filename().string().rfind(".copy.db.", 0), std::string::npos) << entry.path();
}

// The copy was written as "copy.db.partial-<pid>", a name anyone who can write in the
// folder could plant first (the old code removed what it found there, then let SQLite
// create the file), and it was left world-readable by the umask.
TEST(Sqlite, BackupIsPrivateAndItsTemporaryNameCannotBePlanted) {
    testing::TempDir dir;
    Database db(dir.file("state.db"));
    db.exec("CREATE TABLE t (s TEXT); INSERT INTO t VALUES ('kept')");
    const auto victim = dir.write("victim", "untouched\n");
    const std::string copy = dir.file("copy.db");
    const std::string old_name = copy + ".partial-" + std::to_string(::getpid());
    std::filesystem::create_symlink(victim, old_name);
    const mode_t old_umask = ::umask(022);
    backup(db, copy);
    ::umask(old_umask);

    std::ifstream in(victim);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "untouched\n");
    EXPECT_TRUE(std::filesystem::is_symlink(old_name)) << "the backup used the predictable name";
    struct stat st {};
    ASSERT_EQ(::stat(copy.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // Nothing beside it: no -journal, no temporary file.
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        names.insert(entry.path().filename().string());
    EXPECT_EQ(names, (std::set<std::string>{"state.db", "state.db-wal", "state.db-shm", "victim",
                                            std::filesystem::path(old_name).filename().string(), "copy.db"}));
    Database restored(copy);
    Statement read(restored, "SELECT s FROM t");
    ASSERT_TRUE(read.step());
    EXPECT_EQ(read.text(0), "kept");
    read.reset();
}

}  // namespace
}  // namespace cargomon::sqlite
