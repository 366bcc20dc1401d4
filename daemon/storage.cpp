#include "daemon/storage.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <utility>

#include "common/json.h"
#include "common/sqlite.h"
#include "metrics/labels.h"

namespace cargomon::daemon {
namespace {

namespace fs = std::filesystem;

// PRAGMA user_version of cargomon.db: 0 is what versions before one file wrote (labels as
// arrays; their alerts.db had times in nanoseconds), 1 is today's format.
constexpr int kSchemaVersion = 1;

// What versions before one file kept beside cargomon.db.
constexpr const char* kOldFiles[] = {"alerts.db", "outbox.db", "silences.db"};

bool present(const fs::path& p) {
    std::error_code ec;
    return fs::symlink_status(p, ec).type() != fs::file_type::not_found && !ec;
}

// Why SQLite cannot use `path`, or nullopt when it can. Only damage to the file itself is
// a reason to move it aside: an error that may pass (permissions, I/O, a file that cannot
// be opened now, a busy or full disk) stops the start, the file left as it is.
std::optional<std::string> damage(const std::string& path) {
    // SQLite takes a 0-byte file for a new database: whatever was in it is lost, and
    // saying nothing would let the actions start again from an empty log.
    std::error_code ec;
    if (fs::is_regular_file(path, ec) && fs::file_size(path, ec) == 0 && !ec)
        return path + ": the file is empty (0 bytes): whatever it held is lost";
    try {
        sqlite::Database db(path);
        sqlite::Statement check(db, "PRAGMA quick_check(1)");
        const std::string verdict = check.step() ? check.text(0) : "quick_check gave no answer";
        check.reset();
        if (verdict == "ok") return std::nullopt;
        return path + ": " + verdict;
    } catch (const sqlite::Error& e) {
        switch (e.code) {
            case SQLITE_CORRUPT:
            case SQLITE_NOTADB:
            case SQLITE_FORMAT:
                return e.what();
            case SQLITE_CANTOPEN:
            case SQLITE_PERM:
            case SQLITE_IOERR:
            case SQLITE_READONLY:
                throw std::runtime_error(std::string(e.what()) + " (" + sqlite3_errstr(e.code) +
                                         "): not a damaged file, so it is left in place; fix the cause and start again");
            default:
                throw;
        }
    }
}

constexpr const char* kSidecars[] = {"-wal", "-shm"};

void rename_or_throw(const fs::path& from, const fs::path& to, const std::string& why) {
    std::error_code ec;
    fs::rename(from, to, ec);
    if (ec) throw std::runtime_error(why + ": cannot rename " + from.string() + " to " + to.string() + ": " + ec.message());
}

// `file` and its -wal and -shm renamed to `target`, `target`-wal, `target`-shm. The side
// files go first: a crash in between must not leave an old WAL beside a new database.
void rename_with_sidecars(const fs::path& file, const fs::path& target, const std::string& why) {
    for (const char* suffix : kSidecars) {
        const fs::path side = file.string() + suffix;
        if (present(side)) rename_or_throw(side, target.string() + suffix, why);
    }
    rename_or_throw(file, target, why);
}

// The -wal and -shm of a file about to be checked, copied as they are: opening a database
// runs WAL recovery and closing deletes the WAL, so after a failed check the live ones no
// longer show what was there.
class SidecarCopies {
public:
    explicit SidecarCopies(const fs::path& file) : file_(file) {
        for (const char* suffix : kSidecars) {
            const fs::path side = file.string() + suffix;
            if (!present(side)) continue;
            const fs::path copy = side.string() + ".before-check";
            fs::copy_file(side, copy, fs::copy_options::overwrite_existing);
            copies_.emplace_back(suffix, copy);
        }
    }
    ~SidecarCopies() {
        std::error_code ignored;
        for (const auto& [suffix, copy] : copies_) fs::remove(copy, ignored);
    }
    SidecarCopies(const SidecarCopies&) = delete;
    SidecarCopies& operator=(const SidecarCopies&) = delete;

    // `file` to `target` with the side files as they were before the check. What the check
    // left beside `file` goes too: a WAL left beside a new database would be replayed into it.
    void move(const fs::path& target, const std::string& why) {
        for (const char* suffix : kSidecars) {
            std::error_code ec;
            fs::remove(file_.string() + suffix, ec);
            if (ec) throw std::runtime_error(why + ": cannot remove " + file_.string() + suffix + ": " + ec.message());
        }
        for (const auto& [suffix, copy] : copies_) rename_or_throw(copy, target.string() + suffix, why);
        copies_.clear();
        rename_or_throw(file_, target, why);
    }

private:
    fs::path file_;
    std::vector<std::pair<std::string, fs::path>> copies_;
};

std::string utc_stamp(SystemTime now) {
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&t, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
    return text;
}

// Checks `file`; when SQLite cannot use it, moves it aside and says where it went.
std::optional<std::string> move_aside_if_unusable(const fs::path& file, SystemTime now) {
    SidecarCopies sidecars(file);
    const std::optional<std::string> why = damage(file.string());
    if (!why) return std::nullopt;
    const std::string base = file.string() + ".corrupt-" + utc_stamp(now);
    fs::path target = base;
    for (int n = 2; present(target); ++n) target = base + "-" + std::to_string(n);
    sidecars.move(target, *why);
    spdlog::error("STATE DATABASE UNUSABLE: {}; moved to {} (kept for forensics), starting with empty state (the "
                  "automatic actions then ignore every batch that finished before now)",
                  *why, target.string());
    return target.string();
}

std::string sql_name(std::string_view name) {
    std::string out = "\"";
    for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

bool has_table(sqlite::Database& db, const std::string& schema, const std::string& name) {
    sqlite::Statement s(db, "SELECT 1 FROM " + schema + ".sqlite_master WHERE type = 'table' AND name = ?");
    s.bind(1, name);
    const bool found = s.step();
    s.reset();
    return found;
}

// Every table of the attached `schema` into main, created as the old file had it when
// main lacks it. Rows main already has win (INSERT OR IGNORE): main is the newer.
void copy_tables(sqlite::Database& db, const std::string& schema) {
    std::vector<std::pair<std::string, std::string>> tables;  // name, CREATE statement
    {
        sqlite::Statement s(db, "SELECT name, sql FROM " + schema +
                                    ".sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
        while (s.step()) tables.emplace_back(s.text(0), s.text(1));
    }
    for (const auto& [name, create] : tables) {
        if (!has_table(db, "main", name)) db.exec(create);  // an unqualified CREATE TABLE creates in main
        if (name == "alert_state") {
            // alerts.db kept times in nanoseconds; SQLite's integer division truncates as
            // sqlite::to_millis does, and leaves NULL as NULL.
            db.exec("INSERT OR IGNORE INTO main.alert_state SELECT group_key, rule_name, rule_ordinal, fingerprint,"
                    " labels, annotations, state, value, active_at / 1000000, starts_at / 1000000, ends_at / 1000000,"
                    " keep_firing_since / 1000000, last_sent_at / 1000000, generator_url FROM " +
                    schema + ".alert_state");
        } else {
            db.exec("INSERT OR IGNORE INTO main." + sql_name(name) + " SELECT * FROM " + schema + "." + sql_name(name));
        }
    }
    std::vector<std::pair<std::string, std::string>> indexes;
    {
        sqlite::Statement s(db, "SELECT name, sql FROM " + schema + ".sqlite_master WHERE type = 'index' AND sql IS NOT NULL");
        while (s.step()) indexes.emplace_back(s.text(0), s.text(1));
    }
    for (const auto& [name, create] : indexes) {
        sqlite::Statement s(db, "SELECT 1 FROM main.sqlite_master WHERE type = 'index' AND name = ?");
        s.bind(1, name);
        const bool found = s.step();
        s.reset();
        if (!found) db.exec(create);
    }
    // AUTOINCREMENT's high-water marks (the outbox's ids), so no id is ever handed out twice.
    if (has_table(db, schema, "sqlite_sequence") && has_table(db, "main", "sqlite_sequence")) {
        db.exec("UPDATE main.sqlite_sequence SET seq = max(seq, (SELECT o.seq FROM " + schema +
                ".sqlite_sequence o WHERE o.name = main.sqlite_sequence.name)) WHERE name IN (SELECT name FROM " +
                schema + ".sqlite_sequence)");
        db.exec("INSERT INTO main.sqlite_sequence SELECT name, seq FROM " + schema +
                ".sqlite_sequence WHERE name NOT IN (SELECT name FROM main.sqlite_sequence)");
    }
}

// Labels as versions before one file wrote them: alerts.db a flat array (name, value,
// name, value, ...), cargomon.db an array of [name, value] pairs.
std::optional<metrics::Labels> legacy_labels(const std::string& text) {
    rapidjson::Document doc;
    if (parse_json(text, doc) || !doc.IsArray()) return std::nullopt;
    metrics::Labels labels;
    const auto& items = doc.GetArray();
    const bool flat = items.Empty() || items[0].IsString();
    if (flat) {
        if (items.Size() % 2 != 0) return std::nullopt;
        for (rapidjson::SizeType i = 0; i < items.Size(); i += 2) {
            if (!items[i].IsString() || !items[i + 1].IsString()) return std::nullopt;
            labels.emplace_back(items[i].GetString(), items[i + 1].GetString());
        }
        return labels;
    }
    for (const auto& pair : items) {
        if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsString() || !pair[1].IsString()) return std::nullopt;
        labels.emplace_back(pair[0].GetString(), pair[1].GetString());
    }
    return labels;
}

// Rewrites `columns` of `table` in main from a legacy labels shape to labels_to_json's.
// A row no shape reads would fail every load of its store: it is dropped, and said so.
void convert_labels(sqlite::Database& db, const std::string& table, const std::vector<std::string>& columns) {
    if (!has_table(db, "main", table)) return;
    std::string select = "SELECT rowid";
    for (const auto& c : columns) select += ", " + c;
    std::vector<std::pair<std::int64_t, std::vector<std::string>>> rows;
    {
        sqlite::Statement s(db, select + " FROM main." + table);
        while (s.step()) {
            std::vector<std::string> values;
            for (std::size_t i = 0; i < columns.size(); ++i) values.push_back(s.text(static_cast<int>(i + 1)));
            rows.emplace_back(s.int64(0), std::move(values));
        }
    }
    for (auto& [rowid, values] : rows) {
        bool changed = false, unreadable = false;
        for (auto& v : values) {
            if (metrics::labels_from_json(v)) continue;
            if (auto labels = legacy_labels(v)) {
                v = metrics::labels_to_json(*labels);
                changed = true;
            } else {
                unreadable = true;
            }
        }
        if (unreadable) {
            spdlog::warn("{}: dropping a {} row whose labels no version wrote", db.path(), table);
            sqlite::Statement drop(db, "DELETE FROM main." + table + " WHERE rowid = ?");
            drop.bind(1, rowid).run();
            continue;
        }
        if (!changed) continue;
        std::string update = "UPDATE main." + table + " SET ";
        for (std::size_t i = 0; i < columns.size(); ++i) update += (i ? ", " : "") + columns[i] + " = ?";
        sqlite::Statement u(db, update + " WHERE rowid = ?");
        int i = 1;
        for (const auto& v : values) u.bind(i++, v);
        u.bind(i, rowid).run();
    }
}

int user_version(sqlite::Database& db) {
    sqlite::Statement s(db, "PRAGMA user_version");
    const int version = s.step() ? static_cast<int>(s.int64(0)) : 0;
    s.reset();
    return version;
}

}  // namespace

StateDatabase prepare_state_database(const std::string& dir, SystemTime now) {
    StateDatabase out;
    const fs::path folder(dir);
    fs::create_directories(folder);
    out.path = (folder / kStateFile).string();

    if (present(out.path))
        if (auto moved = move_aside_if_unusable(out.path, now)) out.moved_aside.push_back(*moved);
    std::vector<fs::path> old;
    for (const char* name : kOldFiles) {
        const fs::path file = folder / name;
        if (!present(file)) continue;
        if (auto moved = move_aside_if_unusable(file, now)) {
            out.moved_aside.push_back(*moved);
            continue;
        }
        old.push_back(file);
    }

    {
        sqlite::Database db(out.path);
        const int version = user_version(db);
        if (version > kSchemaVersion)
            throw std::runtime_error(out.path + ": written by a newer cargomon (schema version " +
                                     std::to_string(version) + ", this one reads up to " +
                                     std::to_string(kSchemaVersion) + ")");
        if (version < kSchemaVersion) {
            // ATTACH is refused inside a transaction: attach first, copy in one.
            for (std::size_t i = 0; i < old.size(); ++i) {
                sqlite::Statement attach(db, "ATTACH DATABASE ? AS old" + std::to_string(i));
                attach.bind(1, old[i].string()).run();
            }
            {
                sqlite::Transaction tx(db);
                for (std::size_t i = 0; i < old.size(); ++i) copy_tables(db, "old" + std::to_string(i));
                convert_labels(db, "alert_state", {"labels", "annotations"});
                convert_labels(db, "query_totals", {"labels"});
                db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
                tx.commit();
            }
            for (std::size_t i = 0; i < old.size(); ++i) db.exec("DETACH DATABASE old" + std::to_string(i));
        }
        // With version already current, old files still here were merged by a start that
        // stopped before renaming them: renaming is all that is left.
    }
    for (const fs::path& file : old) {
        const fs::path target = file.string() + ".migrated";
        rename_with_sidecars(file, target, "merging " + file.string() + " into " + out.path);
        spdlog::info("state: {} merged into {}, kept as {}", file.string(), out.path, target.string());
        out.migrated.push_back(file.string());
    }
    return out;
}

}  // namespace cargomon::daemon
