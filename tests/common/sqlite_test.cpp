// The one SQLite wrapper: values round-trip, a failed transaction leaves nothing, and an
// error names the database file (a corrupt state file used to say only "file is not a
// database").
#include "common/sqlite.h"

#include <gtest/gtest.h>

#include <fstream>

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

}  // namespace
}  // namespace cargomon::sqlite
