#include "collectors/watermarks.h"

#include <stdexcept>

#include "metrics/labels.h"

namespace cargomon::collectors {

namespace {

metrics::Labels decode(const std::string& text) {
    auto labels = metrics::labels_from_json(text);
    if (!labels) throw std::runtime_error("watermark store: corrupt labels");
    return std::move(*labels);
}

}  // namespace

WatermarkStore::WatermarkStore(const std::string& path) : db_(path) {
    db_.exec("CREATE TABLE IF NOT EXISTS query_watermarks (collector TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
             " watermark_ms INTEGER NOT NULL)");
    db_.exec("CREATE TABLE IF NOT EXISTS query_totals (collector TEXT NOT NULL, metric TEXT NOT NULL,"
             " labels TEXT NOT NULL, total REAL NOT NULL, PRIMARY KEY (collector, metric, labels))");
}

std::optional<CounterState> WatermarkStore::load(const std::string& collector) const {
    std::lock_guard lock(mu_);
    sqlite::Statement head(db_, "SELECT fingerprint, watermark_ms FROM query_watermarks WHERE collector = ?");
    head.bind(1, collector);
    if (!head.step()) return std::nullopt;
    CounterState state;
    state.fingerprint = head.text(0);
    state.watermark = sqlite::from_millis(head.int64(1));
    head.reset();
    sqlite::Statement rows(db_, "SELECT metric, labels, total FROM query_totals WHERE collector = ?");
    rows.bind(1, collector);
    while (rows.step()) {
        std::string metric = rows.text(0);
        auto labels = decode(rows.text(1));
        state.totals[{std::move(metric), std::move(labels)}] = rows.real(2);
    }
    return state;
}

void WatermarkStore::save(const std::string& collector, const CounterState& state) {
    std::lock_guard lock(mu_);
    sqlite::Transaction tx(db_);
    sqlite::Statement clear(db_, "DELETE FROM query_totals WHERE collector = ?");
    clear.bind(1, collector).run();
    sqlite::Statement insert(db_, "INSERT INTO query_totals (collector, metric, labels, total) VALUES (?, ?, ?, ?)");
    for (const auto& [key, total] : state.totals)
        insert.bind(1, collector).bind(2, key.first).bind(3, metrics::labels_to_json(key.second)).bind(4, total).run();
    sqlite::Statement mark(db_,
                           "INSERT OR REPLACE INTO query_watermarks (collector, fingerprint, watermark_ms) VALUES (?, ?, ?)");
    mark.bind(1, collector).bind(2, state.fingerprint).bind(3, sqlite::to_millis(state.watermark)).run();
    tx.commit();
}

}  // namespace cargomon::collectors
