#include "sim/api/query_guard.h"

#include <gtest/gtest.h>

using namespace cargomon::sim;

namespace {

std::string refusal(const std::string& sql) {
    try {
        guard_query(sql);
    } catch (const QueryRefused& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(QueryGuard, PassesTheCallersTextWithoutTheTrailingSemicolon) {
    EXPECT_EQ(guard_query("SELECT 1 -- note"), "SELECT 1 -- note");
    EXPECT_EQ(guard_query("SELECT count() FROM runs;"), "SELECT count() FROM runs");
}

TEST(QueryGuard, AcceptsWhatUsersWrite) {
    for (const char* sql : {
             "WITH 1 AS x SELECT x",
             "select r.uuid, s.node_slug from runs AS r ANY LEFT JOIN (SELECT run_uuid AS uuid, node_slug FROM spans) s "
             "USING uuid",
             "SELECT extract(DAY FROM created_at) FROM runs",
             "SELECT 'system.tables; url(x)' AS s, \"status\" FROM runs /* FROM system.tables */",
             "SELECT runs.uuid FROM runs WHERE uuid IN (SELECT run_uuid FROM spans)",
             "SELECT t.1 FROM (SELECT tuple(1, 2) AS t)",
             "SELECT quantile(0.95)(dateDiff('second', execution_started_at, execution_finished_at)) FROM spans",
         })
        EXPECT_EQ(refusal(sql), "") << sql;
}

TEST(QueryGuard, RefusesWithAReason) {
    const std::pair<const char*, const char*> cases[] = {
        {"", "empty"},
        {"SELECT 1; SELECT 2", "one statement"},
        {"DROP TABLE runs", "only SELECT"},
        {"CREATE TABLE x (a UInt8) ENGINE = Memory", "only SELECT"},
        {"INSERT INTO runs SELECT * FROM runs", "only SELECT"},
        {"SELECT * FROM system.tables", "system"},
        {"SELECT * FROM `system`.`tables`", "system"},
        {"SELECT * FROM url('http://127.0.0.1/', CSV, 'a String')", "url()"},
        {"SELECT * FROM numbers(10)", "numbers()"},
        {"SELECT * FROM other_db.runs", "other_db.runs"},
        {"SELECT 1 FROM runs WHERE uuid IN other_db.runs", "other_db.runs"},
        {"SELECT other_db.runs.uuid FROM runs", "other_db.runs"},
        {"SELECT * FROM batches_versions", "batches_versions"},
        {"SELECT dictGetString('d', 'a', toUInt64(1))", "dictgetstring"},
        {"SELECT 1 FORMAT CSV", "FORMAT"},
        {"SELECT 'unterminated", "unterminated"},
        {"SELECT 1 /* open", "unterminated"},
    };
    for (const auto& [sql, why] : cases) EXPECT_NE(refusal(sql).find(why), std::string::npos) << sql << " -> " << refusal(sql);
}
