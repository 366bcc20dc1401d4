// The one state database (daemon/storage.h): the four files of earlier versions merged
// into cargomon.db once, their rows read by today's stores in today's format; an unusable
// file moved aside with its WAL and the daemon serving on fresh state; `cargomon backup`
// consistent while the daemon and another writer write. Real SQLite files, the real
// binary.
#include "daemon/storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "alerts/notify/outbox.h"
#include "alerts/notify/silences.h"
#include "alerts/rules/state_store.h"
#include "collectors/watermarks.h"
#include "common/sqlite.h"
#include "tests/daemon/daemon_process.h"
#include "tests/support/temp_dir.h"

namespace cargomon::daemon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::TempDir;

const SystemTime kNow{1'800'000'000s};

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// The files a version before the one state file left, written as it wrote them: its
// schemas, alerts.db's times in nanoseconds and labels as a flat array, cargomon.db's
// labels as [name, value] pairs.
void write_old_files(const TempDir& dir) {
    {
        sqlite::Database db(dir.file("cargomon.db"));
        db.exec("CREATE TABLE query_watermarks (collector TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
                " watermark_ms INTEGER NOT NULL);"
                "CREATE TABLE query_totals (collector TEXT NOT NULL, metric TEXT NOT NULL,"
                " labels TEXT NOT NULL, total REAL NOT NULL, PRIMARY KEY (collector, metric, labels));"
                "INSERT INTO query_watermarks VALUES ('runs', 'fp1', 1800000000000);"
                "INSERT INTO query_totals VALUES ('runs', 'runs_total', '[[\"status\",\"ok\"],[\"w\",\"a\\\"b\"]]', 42);");
    }
    {
        sqlite::Database db(dir.file("alerts.db"));
        db.exec("CREATE TABLE alert_state ("
                " group_key TEXT NOT NULL, rule_name TEXT NOT NULL, rule_ordinal INTEGER NOT NULL, fingerprint TEXT NOT NULL,"
                " labels TEXT NOT NULL, annotations TEXT NOT NULL, state INTEGER NOT NULL, value TEXT NOT NULL,"
                " active_at INTEGER NOT NULL, starts_at INTEGER NOT NULL, ends_at INTEGER, keep_firing_since INTEGER,"
                " last_sent_at INTEGER, generator_url TEXT NOT NULL,"
                " PRIMARY KEY (group_key, rule_name, rule_ordinal, fingerprint));"
                "INSERT INTO alert_state VALUES ('a.yml;g', 'Down', 0, 'ff00', '[\"alertname\",\"Down\",\"job\",\"x\"]',"
                " '[\"summary\",\"down\"]', 2, '1', 1800000000123456789, 1800000060000000000, NULL, NULL,"
                " 1800000061000000000, 'http://x');");
    }
    {
        sqlite::Database db(dir.file("outbox.db"));
        db.exec("CREATE TABLE notify_log (receiver TEXT NOT NULL, integration INTEGER NOT NULL, group_key TEXT NOT NULL,"
                " firing TEXT NOT NULL, resolved TEXT NOT NULL, sent_at INTEGER NOT NULL, sequence INTEGER NOT NULL,"
                " PRIMARY KEY (receiver, integration, group_key));"
                "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, receiver TEXT NOT NULL,"
                " integration INTEGER NOT NULL, idempotency_key TEXT NOT NULL UNIQUE, body TEXT NOT NULL,"
                " state TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
                " next_attempt_at INTEGER NOT NULL, finished_at INTEGER, last_error TEXT);"
                "CREATE INDEX outbox_due ON outbox (state, next_attempt_at);"
                "INSERT INTO notify_log VALUES ('team', 0, '{}:{alertname=\"Down\"}', 'ff00\n', '', 1800000000000, 7);"
                "INSERT INTO outbox (id, receiver, integration, idempotency_key, body, state, created_at, next_attempt_at)"
                " VALUES (41, 'team', 0, 'key-41', '{\"old\":true}', 'delivered', 1799999990000, 1799999990000),"
                " (42, 'team', 0, 'key-42', '{\"pending\":true}', 'pending', 1800000000000, 1800000000000);");
    }
    {
        sqlite::Database db(dir.file("silences.db"));
        db.exec("CREATE TABLE silences (id TEXT PRIMARY KEY, matchers TEXT NOT NULL, starts_at INTEGER NOT NULL,"
                " ends_at INTEGER NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL);"
                "INSERT INTO silences VALUES ('s1', '[{\"name\":\"alertname\",\"value\":\"Down\",\"isRegex\":false,"
                "\"isEqual\":true}]', 1799999000000, 1800003600000, 'ops', 'maintenance');");
    }
}

// A database of about 450 KB in one table, without a WAL, for tests that damage it.
void fill_with_a_table(const std::string& path) {
    sqlite::Database db(path);
    db.exec("PRAGMA journal_mode=DELETE; CREATE TABLE t (x TEXT)");
    sqlite::Transaction tx(db);
    sqlite::Statement insert(db, "INSERT INTO t VALUES (?)");
    for (int i = 0; i < 2000; ++i) insert.bind(1, std::string(200, char('a' + i % 26))).run();
    tx.commit();
}

TEST(StateDatabase, MergesTheFourOldFilesOnceInTodaysFormat) {
    TempDir dir;
    write_old_files(dir);
    const StateDatabase state = prepare_state_database(dir.path(), kNow);
    EXPECT_EQ(state.path, dir.file("cargomon.db"));
    EXPECT_TRUE(state.moved_aside.empty());
    EXPECT_EQ(state.migrated.size(), 3u);
    for (const char* old : {"alerts.db", "outbox.db", "silences.db"}) {
        EXPECT_FALSE(fs::exists(dir.file(old))) << old;
        EXPECT_TRUE(fs::exists(dir.file(std::string(old) + ".migrated"))) << old;
    }

    // Watermarks: the pairs-shaped labels read back as the same set.
    auto counter = collectors::WatermarkStore(state.path).load("runs");
    ASSERT_TRUE(counter);
    EXPECT_EQ(counter->fingerprint, "fp1");
    EXPECT_EQ(counter->watermark, SystemTime{1'800'000'000s});
    const metrics::Labels totals_labels{{"status", "ok"}, {"w", "a\"b"}};
    EXPECT_EQ(counter->totals.at({"runs_total", totals_labels}), 42);

    // Alert state: nanoseconds became milliseconds, the flat array a label set.
    auto alerts = alerts::rules::AlertStateStore(state.path).load();
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].alert.labels, (metrics::Labels{{"alertname", "Down"}, {"job", "x"}}));
    EXPECT_EQ(alerts[0].alert.annotations, (metrics::Labels{{"summary", "down"}}));
    EXPECT_EQ(alerts[0].alert.active_at, SystemTime{1'800'000'000'123ms});
    EXPECT_EQ(alerts[0].alert.starts_at, SystemTime{1'800'000'060s});
    EXPECT_EQ(alerts[0].last_sent_at, SystemTime{1'800'000'061s});
    EXPECT_FALSE(alerts[0].alert.ends_at);

    // The outbox: the pending item is still due, the delivered one still known.
    FakeClock clock(kNow);
    {
        alerts::notify::Outbox outbox(state.path, clock, {});
        EXPECT_EQ(outbox.state("key-42"), alerts::notify::OutboxState::pending);
        EXPECT_EQ(outbox.state("key-41"), alerts::notify::OutboxState::delivered);
        auto due = outbox.due(10);
        ASSERT_EQ(due.size(), 1u);
        EXPECT_EQ(due[0].body, "{\"pending\":true}");
        EXPECT_TRUE(outbox.last_notified("team", 0, "{}:{alertname=\"Down\"}"));
    }
    // Silences.
    auto silences = alerts::notify::SilenceStore(state.path, clock).list();
    ASSERT_EQ(silences.size(), 1u);
    EXPECT_EQ(silences[0].id, "s1");
    EXPECT_EQ(silences[0].comment, "maintenance");

    // Once: a second start merges nothing and keeps what is there.
    const StateDatabase again = prepare_state_database(dir.path(), kNow);
    EXPECT_TRUE(again.migrated.empty());
    EXPECT_EQ(alerts::rules::AlertStateStore(again.path).load().size(), 1u);
    EXPECT_EQ(alerts::notify::SilenceStore(again.path, clock).list().size(), 1u);
}

// A start that committed the merge but died before renaming the old files renames them
// on the next start without copying their rows again over newer ones.
TEST(StateDatabase, OldFilesLeftAfterACommittedMergeAreOnlyRenamed) {
    TempDir dir;
    write_old_files(dir);
    const StateDatabase state = prepare_state_database(dir.path(), kNow);
    alerts::rules::AlertStateStore(state.path).save({});  // the daemon resolved the alert since
    fs::rename(dir.file("alerts.db.migrated"), dir.file("alerts.db"));
    const StateDatabase again = prepare_state_database(dir.path(), kNow);
    EXPECT_EQ(again.migrated, std::vector<std::string>{dir.file("alerts.db")});
    EXPECT_TRUE(alerts::rules::AlertStateStore(again.path).load().empty());
}

TEST(StateDatabase, FreshDirectoryIsCreated) {
    TempDir dir;
    const StateDatabase state = prepare_state_database(dir.file("a/b"), kNow);
    EXPECT_EQ(state.path, dir.file("a/b/cargomon.db"));
    EXPECT_TRUE(state.moved_aside.empty());
    EXPECT_TRUE(state.migrated.empty());
    EXPECT_TRUE(alerts::rules::AlertStateStore(state.path).load().empty());
}

// Garbage, or a real database cut in half: moved aside with its WAL, kept byte for byte,
// and a fresh one in its place.
TEST(StateDatabase, UnusableFileIsMovedAsideAndKept) {
    for (const bool truncated : {false, true}) {
        SCOPED_TRACE(truncated ? "truncated" : "garbage");
        TempDir dir;
        const std::string path = dir.file("cargomon.db");
        if (truncated) {
            fill_with_a_table(path);
            fs::resize_file(path, fs::file_size(path) / 2);
        } else {
            dir.write("cargomon.db", std::string(8192, '\x5a'));
        }
        dir.write("cargomon.db-wal", "not a wal either");
        const std::string before = read_all(path);

        const StateDatabase state = prepare_state_database(dir.path(), kNow);
        ASSERT_EQ(state.moved_aside.size(), 1u);
        EXPECT_EQ(state.moved_aside[0], path + ".corrupt-20270115T080000Z");
        EXPECT_EQ(read_all(state.moved_aside[0]), before);
        EXPECT_EQ(read_all(state.moved_aside[0] + "-wal"), "not a wal either");
        // The fresh one works for every store.
        alerts::rules::AlertStateStore store(state.path);
        EXPECT_TRUE(store.load().empty());
        EXPECT_FALSE(collectors::WatermarkStore(state.path).load("runs"));

        // Moved again on another start, the first copy kept beside it.
        dir.write("cargomon.db", "garbage again, and longer than a header could be: " + std::string(200, 'g'));
        fs::remove(dir.file("cargomon.db-wal"));
        fs::remove(dir.file("cargomon.db-shm"));
        const StateDatabase second = prepare_state_database(dir.path(), kNow);
        ASSERT_EQ(second.moved_aside.size(), 1u);
        EXPECT_EQ(second.moved_aside[0], path + ".corrupt-20270115T080000Z-2");
        EXPECT_EQ(read_all(state.moved_aside[0]), before);
    }
}

// A file SQLite opens whose pages were damaged later (a header intact, a page of the table
// overwritten): PRAGMA quick_check's verdict, not the open, finds it, and it is moved aside.
TEST(StateDatabase, AFileWithDamagedPagesIsMovedAside) {
    TempDir dir;
    const std::string path = dir.file("cargomon.db");
    fill_with_a_table(path);
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(fs::file_size(path) / 2 / 4096 * 4096));
        const std::string garbage(4096, '\x5a');
        f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    const StateDatabase state = prepare_state_database(dir.path(), kNow);
    ASSERT_EQ(state.moved_aside.size(), 1u);
    EXPECT_EQ(state.moved_aside[0], path + ".corrupt-20270115T080000Z");
}

// SQLite takes a 0-byte file for a new database; whatever it held is lost all the same,
// so it is said and counted like any damage, never passed over in silence.
TEST(StateDatabase, AnEmptyFileIsMovedAsideAsLost) {
    TempDir dir;
    const std::string path = dir.write("cargomon.db", "");
    const StateDatabase state = prepare_state_database(dir.path(), kNow);
    ASSERT_EQ(state.moved_aside.size(), 1u);
    EXPECT_EQ(state.moved_aside[0], path + ".corrupt-20270115T080000Z");
    EXPECT_EQ(fs::file_size(state.moved_aside[0]), 0u);
    EXPECT_GT(fs::file_size(path), 0u);  // a real database now
}

// An error that may pass is not damage: the start stops, naming the file, and the file
// stays where it is for the next start once the cause is fixed. (A directory in the
// file's place stands for any CANTOPEN; PERM and IOERR take the same path, and root,
// which runs these tests, is refused no permission.)
TEST(StateDatabase, AFileThatCannotBeOpenedNowStopsTheStartAndStays) {
    TempDir dir;
    fs::create_directories(dir.file("cargomon.db"));
    try {
        prepare_state_database(dir.path(), kNow);
        FAIL() << "started on a file it cannot open";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(dir.file("cargomon.db")), std::string::npos) << what;
        EXPECT_NE(what.find("left in place"), std::string::npos) << what;
    }
    EXPECT_TRUE(fs::is_directory(dir.file("cargomon.db")));
    for (const auto& entry : fs::directory_iterator(dir.path()))
        EXPECT_FALSE(entry.path().filename().string().starts_with("cargomon.db.corrupt-")) << entry.path();
}

TEST(StateDatabase, NewerSchemaIsRefusedNamingTheFile) {
    TempDir dir;
    sqlite::Database(dir.file("cargomon.db")).exec("PRAGMA user_version = 99");
    try {
        prepare_state_database(dir.path(), kNow);
        FAIL() << "opened a newer schema";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(dir.file("cargomon.db")), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::exists(dir.file("cargomon.db"))) << "a good file of a newer version must not be moved aside";
}

const std::string& kConfig = testing::kUnreachableApiConfig;

// The daemon on an unusable file: starts, serves /metrics, counts it, keeps it aside, and
// sets the actions' epoch to now. A garbage file, a real state database cut short, and
// an empty one.
TEST(StateDatabaseDaemon, StartsFreshOnAnUnusableFile) {
    for (const char* kind : {"garbage", "truncated", "empty"}) {
        SCOPED_TRACE(kind);
        const bool truncated = std::string(kind) == "truncated";
        TempDir storage;
        const std::string path = storage.file("cargomon.db");
        if (truncated) {
            write_old_files(storage);
            prepare_state_database(storage.path(), kNow);
            {
                sqlite::Database db(path);
                db.exec("CREATE TABLE filler (x TEXT)");
                sqlite::Transaction tx(db);
                sqlite::Statement insert(db, "INSERT INTO filler VALUES (?)");
                for (int i = 0; i < 2000; ++i) insert.bind(1, std::string(300, 'f')).run();
                tx.commit();
            }  // closing checkpoints the WAL into the file
            fs::resize_file(path, fs::file_size(path) / 3);
        } else if (std::string(kind) == "empty") {
            storage.write("cargomon.db", "");
        } else {
            storage.write("cargomon.db", std::string(10000, '\x01'));
        }
        const std::string before = read_all(path);
        const double started = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        testing::DaemonProcess daemon(kConfig, {.storage_path = storage.path(), .wait_ready = false});
        const testing::Scrape scrape = daemon.scrape();
        EXPECT_EQ(scrape.value("cargomon_state_db_recovered_total"), 1.0);
        std::vector<std::string> aside;
        for (const auto& entry : fs::directory_iterator(storage.path()))
            if (entry.path().filename().string().starts_with("cargomon.db.corrupt-") &&
                !entry.path().string().ends_with("-wal") && !entry.path().string().ends_with("-shm"))
                aside.push_back(entry.path().string());
        ASSERT_EQ(aside.size(), 1u);
        EXPECT_EQ(read_all(aside[0]), before);
        EXPECT_NE(daemon.log().find("STATE DATABASE UNUSABLE: " + path), std::string::npos) << daemon.log();
        EXPECT_NE(daemon.log().find("actions: " + path + " has no actions epoch"), std::string::npos) << daemon.log();
        EXPECT_GE(scrape.value("cargomon_actions_epoch_timestamp_seconds").value_or(0), std::floor(started));
        // Alerting runs on the fresh file: silences are served.
        EXPECT_EQ(daemon.get("/api/v1/silences").status, 200);
    }
}

// A damaged history checkpoint beside the state database: the daemon starts, names the
// file in its log, moves it aside unchanged and counts it; its state database is untouched.
TEST(StateDatabaseDaemon, StartsOnADamagedHistoryCheckpoint) {
    TempDir storage;
    const std::string garbage = std::string("CMHISTCK\x01\x00\x00\x00", 12) + std::string(5000, '\x7f');
    const std::string path = storage.write("history.ckpt", garbage);
    testing::DaemonProcess daemon(kConfig, {.storage_path = storage.path(), .wait_ready = false});
    const testing::Scrape scrape = daemon.scrape();
    EXPECT_EQ(scrape.value("cargomon_history_checkpoint_corruptions_total"), 1.0);
    EXPECT_EQ(scrape.value("cargomon_state_db_recovered_total"), 0.0);
    std::vector<std::string> aside;
    for (const auto& entry : fs::directory_iterator(storage.path()))
        if (entry.path().filename().string().starts_with("history.ckpt.corrupt-")) aside.push_back(entry.path().string());
    ASSERT_EQ(aside.size(), 1u);
    EXPECT_EQ(read_all(aside[0]), garbage);
    EXPECT_NE(daemon.log().find("history: checkpoint " + path + " is damaged (record 1: "), std::string::npos)
        << daemon.log();
}

// `cargomon backup` while the daemon runs and another connection commits ten rows at a
// time: every copy opens, passes integrity_check, and holds whole transactions only.
TEST(StateDatabaseDaemon, BackupIsConsistentWhileWritersWrite) {
    TempDir out;
    testing::DaemonProcess daemon(kConfig, {.wait_ready = false});
    const std::string db_path = daemon.storage_path() + "/cargomon.db";
    {
        sqlite::Database db(db_path);
        db.exec("CREATE TABLE IF NOT EXISTS backup_probe (batch INTEGER NOT NULL, n INTEGER NOT NULL)");
    }
    std::atomic<bool> stop{false};
    std::atomic<int> batches{0};
    std::thread writer([&] {
        sqlite::Database db(db_path);
        sqlite::Statement insert(db, "INSERT INTO backup_probe VALUES (?, ?)");
        for (std::int64_t batch = 0; !stop; ++batch) {
            sqlite::Transaction tx(db);
            for (std::int64_t n = 0; n < 10; ++n) insert.bind(1, batch).bind(2, n).run();
            tx.commit();
            ++batches;
        }
    });
    while (batches < 50) std::this_thread::sleep_for(10ms);
    for (int i = 0; i < 3; ++i) {
        const std::string copy = out.file("copy" + std::to_string(i) + ".db");
        auto result = testing::run_cargomon({"backup", "--storage.path", daemon.storage_path(), copy});
        ASSERT_EQ(result.exit_code, 0) << result.output;
        EXPECT_NE(result.output.find("backed up " + db_path + " to " + copy), std::string::npos) << result.output;
        EXPECT_FALSE(fs::exists(copy + "-wal")) << "the copy is one file";
        sqlite::Database restored(copy);
        sqlite::Statement check(restored, "PRAGMA integrity_check");
        ASSERT_TRUE(check.step());
        EXPECT_EQ(check.text(0), "ok");
        check.reset();
        sqlite::Statement count(restored, "SELECT count(*), count(DISTINCT batch) FROM backup_probe");
        ASSERT_TRUE(count.step());
        EXPECT_GT(count.int64(0), 0);
        EXPECT_EQ(count.int64(0), 10 * count.int64(1)) << "a copy holds part of a transaction";
        count.reset();
    }
    stop = true;
    writer.join();
    EXPECT_GT(daemon.scrape().samples.size(), 0u) << "the daemon served all along";
}

TEST(StateDatabaseDaemon, BackupRefusesAMissingDatabaseAndABadCommandLine) {
    TempDir dir;
    auto missing = testing::run_cargomon({"backup", "--storage.path", dir.path(), dir.file("copy.db")});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.output.find("no state database at " + dir.file("cargomon.db")), std::string::npos)
        << missing.output;
    EXPECT_FALSE(fs::exists(dir.file("cargomon.db"))) << "backup created the database it was to copy";
    EXPECT_FALSE(fs::exists(dir.file("copy.db")));
    auto usage = testing::run_cargomon({"backup", "--storage.path", dir.path()});
    EXPECT_EQ(usage.exit_code, 2);
    EXPECT_NE(usage.output.find("FILE"), std::string::npos) << usage.output;
}

}  // namespace
}  // namespace cargomon::daemon
