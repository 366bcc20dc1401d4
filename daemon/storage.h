#pragma once
// The daemon's durable state: one SQLite file, <--storage.path>/cargomon.db (WAL),
// holding counter watermarks and totals, alert state, the notification log and outbox,
// and silences. Each store opens its own connection to it (WAL and the busy timeout of
// common/sqlite make that safe); this prepares the file before any of them does:
//
// - A damaged file (not a database, truncated, failing its quick_check, 0 bytes) is moved
//   aside as cargomon.db.corrupt-<UTC time>, with its -wal and -shm, kept for forensics,
//   and the daemon starts with empty state: a restart loop would stop alerting for good,
//   empty state only forgets what was pending (the actions' epoch, actions/store.h, keeps
//   them off what finished before). An error that may pass (CANTOPEN, PERM, IOERR,
//   READONLY) stops the start instead, naming the file, which stays where it is.
// - Versions before one file kept alerts.db, outbox.db and silences.db beside it: their
//   rows are copied in, in one transaction, and the old files renamed *.migrated, so this
//   happens once. Rows of those versions are brought to today's format on the way (times
//   in Unix milliseconds, labels as metrics::labels_to_json's object).
#include <string>
#include <vector>

#include "common/clock.h"

namespace cargomon::daemon {

// The one state file's name inside --storage.path.
inline constexpr const char* kStateFile = "cargomon.db";

struct StateDatabase {
    std::string path;                      // <dir>/cargomon.db, ready for the stores
    std::vector<std::string> moved_aside;  // where unusable files went (cargomon.db or an old one)
    std::vector<std::string> migrated;     // old files merged in, now *.migrated
};

// Creates `dir` if missing and prepares <dir>/cargomon.db as above; `now` names a file
// moved aside. Logs every file moved aside at error level, naming both paths. Throws
// std::runtime_error naming the file on what moving aside cannot fix or must not be
// answered by it (an open, permission or I/O error, a read-only directory, a full disk, a
// database locked by another process, one written by a newer cargomon).
StateDatabase prepare_state_database(const std::string& dir, SystemTime now);

}  // namespace cargomon::daemon
