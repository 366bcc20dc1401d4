#pragma once
// SQLite for every durable part of the daemon (watermarks, alert state, outbox,
// silences, all in one file: daemon/storage.h): a connection and prepared statements
// with RAII, errors as sqlite::Error naming the database file and the operation, WAL
// mode on open. Times on disk are Unix milliseconds (INTEGER) everywhere; labels are
// metrics::labels_to_json's object.
//
// Thread-safety: a Database is used by one thread at a time (its owner's mutex); SQLite
// is opened in serialized mode, so a mistake costs a wait, not a corruption.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace cargomon::sqlite {

// What went wrong, with SQLite's primary result code (SQLITE_CORRUPT, SQLITE_NOTADB,
// SQLITE_BUSY, ...) so a caller can tell a damaged file from a busy or full disk.
struct Error : std::runtime_error {
    Error(const std::string& what, int code) : std::runtime_error(what), code(code) {}
    int code;
};

class Database {
public:
    // Opens or creates `path`, turns on WAL. Throws Error naming the path.
    explicit Database(const std::string& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    void exec(const std::string& sql);
    // Adds `column` (with its SQL `definition`, a DEFAULT for the rows already there) to
    // `table` when a file from an older version lacks it.
    void add_column_if_missing(std::string_view table, std::string_view column, std::string_view definition);
    sqlite3* handle() const { return db_; }
    const std::string& path() const { return path_; }
    // "<path>: <what>: <sqlite's message>", with the last result code.
    Error error(std::string_view what) const;

private:
    sqlite3* db_ = nullptr;
    std::string path_;
};

class Statement {
public:
    Statement(Database& db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, std::string_view v);
    Statement& bind(int i, std::int64_t v);
    Statement& bind(int i, double v);
    // True while there is a row to read; resets itself once done so it can be reused.
    bool step();
    void run();  // steps to the end
    std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
    double real(int col) const { return sqlite3_column_double(stmt_, col); }
    std::string text(int col) const;
    bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    void reset();

private:
    void check(int rc, std::string_view what);
    Database& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

// Commits on commit(), rolls back if left unfinished (an exception on the way).
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    void commit();

private:
    Database& db_;
    bool done_ = false;
};

// The one time format on disk: Unix milliseconds.
inline std::int64_t to_millis(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline SystemTime from_millis(std::int64_t ms) { return SystemTime{std::chrono::milliseconds{ms}}; }

// Copies `source` whole to a new file `destination` with SQLite's online backup: one read
// transaction, so the copy is the state of one commit while writers go on (WAL readers
// never block them). The copy is written beside `destination` (common/atomic_file.h: an
// unpredictable name, created exclusively) and renamed over it, so a failure never
// leaves half a file under that name; it is readable by its owner only (0600). Throws
// Error naming the file.
void backup(Database& source, const std::string& destination);

}  // namespace cargomon::sqlite
