#include "collectors/watermarks.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
#include <stdexcept>

#include "common/json.h"

namespace cargomon::collectors {

namespace {

using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

// Labels as a JSON array of pairs: unambiguous whatever the names and values contain.
std::string encode(const metrics::Labels& labels) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartArray();
    for (const auto& [name, value] : labels) {
        w.StartArray();
        w.String(name);
        w.String(value);
        w.EndArray();
    }
    w.EndArray();
    return buffer.GetString();
}

metrics::Labels decode(const char* text) {
    rapidjson::Document doc;
    if (parse_json(text, doc) || !doc.IsArray()) throw std::runtime_error("watermark store: corrupt labels");
    metrics::Labels out;
    for (const auto& pair : doc.GetArray()) {
        if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsString() || !pair[1].IsString())
            throw std::runtime_error("watermark store: corrupt labels");
        out.emplace_back(pair[0].GetString(), pair[1].GetString());
    }
    return out;
}

std::int64_t to_millis(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

WatermarkStore::WatermarkStore(const std::string& path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw std::runtime_error("cannot open watermark store " + path + ": " + why);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("CREATE TABLE IF NOT EXISTS query_watermarks (collector TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
         " watermark_ms INTEGER NOT NULL)");
    exec("CREATE TABLE IF NOT EXISTS query_totals (collector TEXT NOT NULL, metric TEXT NOT NULL,"
         " labels TEXT NOT NULL, total REAL NOT NULL, PRIMARY KEY (collector, metric, labels))");
}

WatermarkStore::~WatermarkStore() { sqlite3_close(db_); }

void WatermarkStore::exec(const char* sql) const {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string why = error ? error : "unknown error";
        sqlite3_free(error);
        throw std::runtime_error("watermark store " + path_ + ": " + why);
    }
}

std::optional<CounterState> WatermarkStore::load(const std::string& collector) const {
    std::lock_guard lock(mu_);
    auto prepare = [&](const char* sql) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK)
            throw std::runtime_error("watermark store " + path_ + ": " + sqlite3_errmsg(db_));
        Statement s(raw, sqlite3_finalize);
        sqlite3_bind_text(raw, 1, collector.c_str(), -1, SQLITE_TRANSIENT);
        return s;
    };
    auto head = prepare("SELECT fingerprint, watermark_ms FROM query_watermarks WHERE collector = ?");
    if (sqlite3_step(head.get()) != SQLITE_ROW) return std::nullopt;
    CounterState state;
    state.fingerprint = reinterpret_cast<const char*>(sqlite3_column_text(head.get(), 0));
    state.watermark = SystemTime{std::chrono::milliseconds{sqlite3_column_int64(head.get(), 1)}};
    auto rows = prepare("SELECT metric, labels, total FROM query_totals WHERE collector = ?");
    while (sqlite3_step(rows.get()) == SQLITE_ROW) {
        std::string metric = reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), 0));
        auto labels = decode(reinterpret_cast<const char*>(sqlite3_column_text(rows.get(), 1)));
        state.totals[{std::move(metric), std::move(labels)}] = sqlite3_column_double(rows.get(), 2);
    }
    return state;
}

void WatermarkStore::save(const std::string& collector, const CounterState& state) {
    std::lock_guard lock(mu_);
    auto step = [&](const char* sql, auto&& bind) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK)
            throw std::runtime_error("watermark store " + path_ + ": " + sqlite3_errmsg(db_));
        Statement s(raw, sqlite3_finalize);
        bind(raw);
        if (sqlite3_step(raw) != SQLITE_DONE) throw std::runtime_error("watermark store " + path_ + ": " + sqlite3_errmsg(db_));
    };
    exec("BEGIN IMMEDIATE");
    try {
        step("DELETE FROM query_totals WHERE collector = ?",
             [&](sqlite3_stmt* s) { sqlite3_bind_text(s, 1, collector.c_str(), -1, SQLITE_TRANSIENT); });
        for (const auto& [key, total] : state.totals) {
            const auto labels = encode(key.second);
            step("INSERT INTO query_totals (collector, metric, labels, total) VALUES (?, ?, ?, ?)", [&](sqlite3_stmt* s) {
                sqlite3_bind_text(s, 1, collector.c_str(), -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(s, 2, key.first.c_str(), -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(s, 3, labels.c_str(), -1, SQLITE_TRANSIENT);
                sqlite3_bind_double(s, 4, total);
            });
        }
        step("INSERT OR REPLACE INTO query_watermarks (collector, fingerprint, watermark_ms) VALUES (?, ?, ?)",
             [&](sqlite3_stmt* s) {
                 sqlite3_bind_text(s, 1, collector.c_str(), -1, SQLITE_TRANSIENT);
                 sqlite3_bind_text(s, 2, state.fingerprint.c_str(), -1, SQLITE_TRANSIENT);
                 sqlite3_bind_int64(s, 3, to_millis(state.watermark));
             });
        exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

}  // namespace cargomon::collectors
