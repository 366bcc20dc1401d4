#include "common/sqlite.h"

#include <memory>
#include <stdexcept>

#include "common/atomic_file.h"

namespace cargomon::sqlite {

Database::Database(const std::string& path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        const int code = db_ ? sqlite3_errcode(db_) : SQLITE_NOMEM;
        sqlite3_close(db_);
        throw Error("cannot open " + path + ": " + why, code);
    }
    sqlite3_busy_timeout(db_, 5000);
    try {
        // WAL + NORMAL: a commit survives a process crash (kill -9); only an OS crash can
        // lose the last transactions, the trade every store here accepts for speed.
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=NORMAL");
    } catch (...) {
        sqlite3_close(db_);  // a file that is not a database fails here, named
        throw;
    }
}

Database::~Database() { sqlite3_close(db_); }

Error Database::error(std::string_view what) const {
    return Error(path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_), sqlite3_errcode(db_) & 0xff);
}

void Database::add_column_if_missing(std::string_view table, std::string_view column, std::string_view definition) {
    Statement info(*this, "PRAGMA table_info(" + std::string(table) + ")");
    while (info.step())
        if (info.text(1) == column) {
            info.reset();
            return;
        }
    exec("ALTER TABLE " + std::string(table) + " ADD COLUMN " + std::string(column) + " " + std::string(definition));
}

void Database::exec(const std::string& sql) {
    char* message = nullptr;
    if (int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message); rc != SQLITE_OK) {
        std::string why = message ? message : "unknown error";
        sqlite3_free(message);
        throw Error(path_ + ": " + why, rc & 0xff);
    }
}

Statement::Statement(Database& db, std::string_view sql) : db_(db) {
    if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
        throw db.error("prepare");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::check(int rc, std::string_view what) {
    if (rc != SQLITE_OK) throw db_.error(what);
}

Statement& Statement::bind(int i, std::string_view v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT), "bind");
    return *this;
}

Statement& Statement::bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v), "bind");
    return *this;
}

Statement& Statement::bind(int i, double v) {
    check(sqlite3_bind_double(stmt_, i, v), "bind");
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (rc != SQLITE_DONE) throw db_.error("step");
    return false;
}

void Statement::run() {
    while (step()) {
    }
}

std::string Statement::text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
    if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

void backup(Database& source, const std::string& destination) {
    // Written under an unpredictable temporary name (a name planted beside `destination`
    // is never written through), readable by its owner only, renamed over `destination`
    // once whole.
    std::unique_ptr<AtomicFile> file;
    try {
        file = std::make_unique<AtomicFile>(destination, AtomicFile::Options{.mode = 0600, .named = true});
    } catch (const std::runtime_error& e) {
        throw Error("cannot write " + destination + ": " + e.what(), SQLITE_CANTOPEN);
    }
    {
        sqlite3* raw = nullptr;
        const int opened = sqlite3_open_v2(file->temp_path().c_str(), &raw,
                                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX, nullptr);
        std::unique_ptr<sqlite3, decltype(&sqlite3_close)> target(raw, &sqlite3_close);
        if (opened != SQLITE_OK)
            throw Error("cannot write " + destination + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory"), opened & 0xff);
        // One file and nothing beside it, no -wal nor -journal: the copy is what gets moved
        // and archived, and a failed copy is thrown away whole.
        sqlite3_exec(target.get(), "PRAGMA journal_mode=OFF", nullptr, nullptr, nullptr);
        std::unique_ptr<sqlite3_backup, decltype(&sqlite3_backup_finish)> copy(
            sqlite3_backup_init(target.get(), "main", source.handle(), "main"), &sqlite3_backup_finish);
        if (!copy)
            throw Error(source.path() + ": backup to " + destination + ": " + sqlite3_errmsg(target.get()),
                        sqlite3_errcode(target.get()) & 0xff);
        int rc = SQLITE_OK;
        // -1: every page in one step, so in one read transaction of the source. BUSY or
        // LOCKED come only from a writer holding the file beyond WAL (a checkpoint
        // truncating it): wait as the busy timeout would.
        for (int attempt = 0; attempt < 50; ++attempt) {
            rc = sqlite3_backup_step(copy.get(), -1);
            if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
            sqlite3_sleep(100);
        }
        if (rc != SQLITE_DONE) {
            copy.reset();
            throw Error(source.path() + ": backup to " + destination + ": " + sqlite3_errstr(rc), rc & 0xff);
        }
        if (const int done = sqlite3_backup_finish(copy.release()); done != SQLITE_OK)
            throw Error(source.path() + ": backup to " + destination + ": " + sqlite3_errstr(done), done & 0xff);
        // SQLite lets go of the file before it is renamed.
    }
    try {
        file->commit();
    } catch (const std::runtime_error& e) {
        throw Error("cannot write " + destination + ": " + e.what(), SQLITE_IOERR);
    }
}

}  // namespace cargomon::sqlite
