// Paging an ad-hoc query (cargo/query_pages.h): what the tokenizer sees at the top level
// and what it does not (strings, comments, subqueries), the SQL of a page, the row-cap
// error, and hostile SQL (unclosed strings and comments, deep or unbalanced parentheses).
#include "cargo/query_errors.h"
#include "cargo/query_pages.h"

#include <gtest/gtest.h>

#include <string>

namespace cargomon::cargo {
namespace {

TEST(SqlShape, TopLevelOrderByAndFormat) {
    EXPECT_TRUE(sql_shape("SELECT a FROM t ORDER BY a").has_order);
    EXPECT_TRUE(sql_shape("select a from t order\n  by a desc").has_order);
    EXPECT_FALSE(sql_shape("SELECT a FROM t").has_order);
    EXPECT_FALSE(sql_shape("SELECT a FROM t ORDER").has_order);
    EXPECT_TRUE(sql_shape("SELECT 1 FORMAT JSON").has_format);
    EXPECT_FALSE(sql_shape("SELECT 1").has_format);
}

TEST(SqlShape, WordsInStringsCommentsAndSubqueriesDoNotCount) {
    for (const char* sql : {"SELECT 'order by format' FROM t", "SELECT \"format\" FROM t", "SELECT `order by` FROM t",
                            "SELECT a FROM t -- ORDER BY a FORMAT CSV", "SELECT a FROM t /* ORDER BY a FORMAT CSV */",
                            "SELECT a FROM (SELECT a FROM t ORDER BY a FORMAT CSV)", "SELECT 'it\\'s order by' FROM t"}) {
        const SqlShape shape = sql_shape(sql);
        EXPECT_FALSE(shape.has_order) << sql;
        EXPECT_FALSE(shape.has_format) << sql;
    }
}

TEST(SqlShape, TextIsTrimmedAndCutAtTheFirstTopLevelSemicolon) {
    EXPECT_EQ(sql_shape("  SELECT 1;  ").text, "SELECT 1");
    EXPECT_EQ(sql_shape("SELECT 1; SELECT 2").text, "SELECT 1");
    EXPECT_EQ(sql_shape("SELECT ';' FROM t").text, "SELECT ';' FROM t");
    EXPECT_EQ(sql_shape("SELECT (1;2)").text, "SELECT (1;2)");
    EXPECT_EQ(sql_shape("SELECT 1 -- ; not here").text, "SELECT 1 -- ; not here");
}

TEST(PageQuery, InTheQuerysOrderOrEveryColumns) {
    EXPECT_EQ(page_query(sql_shape("SELECT a FROM t"), 0), "SELECT * FROM (SELECT a FROM t\n) ORDER BY tuple(*) LIMIT 0, 10000");
    EXPECT_EQ(page_query(sql_shape("SELECT a FROM t ORDER BY a;"), 20'000),
              "SELECT * FROM (SELECT a FROM t ORDER BY a\n) LIMIT 20000, 10000");
    // The query's last line may be a comment: the closing parenthesis is on a line of its own.
    EXPECT_EQ(page_query(sql_shape("SELECT a FROM t -- all"), 0),
              "SELECT * FROM (SELECT a FROM t -- all\n) ORDER BY tuple(*) LIMIT 0, 10000");
}

TEST(OverRowCap, OnlyTheCapsRefusalUnderAnyStatus) {
    EXPECT_TRUE(over_row_cap(RequestError("x", 400, "Code: 396, e.displayText() = DB::Exception: Limit for result", "")));
    EXPECT_TRUE(over_row_cap(RequestError("x", 400, "Code: 158. Too many rows", "")));
    EXPECT_TRUE(over_row_cap(RequestError("x", 400, "Limit for result exceeded, max rows: 10.00 thousand", "")));
    EXPECT_FALSE(over_row_cap(RequestError("x", 400, "Code: 62. Syntax error", "")));
    // The contract gives no status for a query's failure: a 5xx carrying the cap's code is it too.
    EXPECT_TRUE(over_row_cap(ServerError("x", 500, "Code: 396. DB::Exception: Limit for result exceeded", "")));
    EXPECT_FALSE(over_row_cap(ServerError("x", 503, "Simulated server error 503", "simulatedServerError")));
    EXPECT_FALSE(over_row_cap(NetworkError("Code: 396")));
}

// Unclosed strings and comments, a lone backslash at the end, a million parentheses
// either way: one pass to the end, nothing read past it, no recursion.
TEST(SqlShape, HostileSqlIsReadInOnePass) {
    constexpr std::size_t kHuge = 1 << 20;
    EXPECT_EQ(sql_shape("SELECT 'unclosed ORDER BY").text, "SELECT 'unclosed ORDER BY");
    EXPECT_FALSE(sql_shape("SELECT 'unclosed ORDER BY").has_order);
    EXPECT_FALSE(sql_shape("SELECT /* unclosed ORDER BY").has_order);
    EXPECT_EQ(sql_shape("SELECT '\\").text, "SELECT '\\");
    EXPECT_EQ(sql_shape("\\").text, "\\");
    const SqlShape deep = sql_shape("SELECT " + std::string(kHuge, '(') + "1" + std::string(kHuge, ')') + " ORDER BY 1");
    EXPECT_TRUE(deep.has_order);
    // More closing than opening: the depth goes below zero and top-level words no longer count.
    EXPECT_FALSE(sql_shape("SELECT 1) ORDER BY 1").has_order);
    EXPECT_EQ(sql_shape(std::string(kHuge, '(') + "; FORMAT").text.size(), kHuge + 8);
    EXPECT_FALSE(sql_shape(std::string(kHuge, '(') + "; FORMAT").has_format);
    EXPECT_EQ(sql_shape(std::string(kHuge, '\'')).text.size(), kHuge);
}

TEST(QueryFailure, ClickHouseErrorsAreTheQuerysWhateverTheStatus) {
    EXPECT_EQ(clickhouse_code("Code: 62. DB::Exception: Syntax error"), 62);
    EXPECT_EQ(clickhouse_code("Code: 396, e.displayText() = DB::Exception"), 396);
    EXPECT_FALSE(clickhouse_code("Code: x"));
    EXPECT_FALSE(clickhouse_code("no code here"));
    EXPECT_FALSE(clickhouse_code("Code: "));
    EXPECT_FALSE(clickhouse_code("Code: 99999999999999999999"));
    EXPECT_TRUE(is_query_failure(500, "Code: 62. DB::Exception: Syntax error"));
    EXPECT_TRUE(is_query_failure(400, "Code: 47. DB::Exception: Missing columns"));
    EXPECT_TRUE(is_query_failure(400, "only SELECT statements are allowed"));  // a refusal without a code
    // The server's passing trouble: worth another try, not the query's fault.
    EXPECT_FALSE(is_query_failure(500, "Code: 202. DB::Exception: Too many simultaneous queries"));
    EXPECT_FALSE(is_query_failure(503, "Code: 241. DB::Exception: Memory limit exceeded"));
    EXPECT_FALSE(is_query_failure(502, "Bad gateway"));
    EXPECT_FALSE(is_query_failure(401, ""));
    EXPECT_FALSE(is_query_failure(403, ""));
    EXPECT_FALSE(is_query_failure(429, ""));
    EXPECT_FALSE(is_query_failure(200, "Code: 62."));
}

}  // namespace
}  // namespace cargomon::cargo
