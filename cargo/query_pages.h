#pragma once
// Paging an ad-hoc query (`cargomon export query`) past the API's cap on result rows: what
// paging needs to know of the user's SQL, the SQL of each page, and the error that says
// the cap was passed.
#include <cstdint>
#include <string>
#include <string_view>

#include "cargo/errors.h"

namespace cargomon::cargo {

// The API's page for runs/download-outputs (over it: tooManyRuns) and a query's cap on
// result rows (over it: ClickHouse's Code 396); exports page by this many.
inline constexpr int kExportPage = 10'000;

// The user's SQL read as tokens outside strings (quoted '', "" or ``, with \ escapes),
// comments (-- and /* */) and parentheses: enough for paging's questions without the
// grammar. One pass, no recursion, whatever the SQL's size or nesting.
struct SqlShape {
    std::string text;        // trimmed, cut before the first top-level ';'
    bool has_order = false;  // a top-level ORDER BY
    bool has_format = false; // a top-level FORMAT
};
SqlShape sql_shape(std::string_view sql);

// SELECT * FROM (query) LIMIT offset, kExportPage, in the query's own order when it has a
// top-level ORDER BY, else ordered by every column (ORDER BY tuple(*)) so that pages
// neither overlap nor miss rows.
std::string page_query(const SqlShape& shape, std::int64_t offset);

// The API refused the query for returning more rows than its cap (ClickHouse codes 396
// and 158, or their message), under any 4xx or 5xx status, as opposed to any other failure.
bool over_row_cap(const ApiError& e);

}  // namespace cargomon::cargo
