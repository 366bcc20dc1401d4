#pragma once
// What a failed answer to an ad-hoc query (POST /orchestration/query) says about the
// query. The API carries ClickHouse's own message in errorMessage ("Code: 62.
// DB::Exception: Syntax error ..."), under a status the contract does not give (4xx or
// 5xx) and with no reason the typings name; so a query's own failure is told by its
// message, whatever the status: asking again gets the same answer (never retried), and
// a collector with strategy auto falls back to the API calls (collectors/grouped_sql.h).
#include <optional>
#include <string_view>

namespace cargomon::cargo {

class ApiError;

// The ClickHouse error code a message carries ("Code: 158." -> 158), or nullopt.
std::optional<int> clickhouse_code(std::string_view message);

// An answer of `status` (>= 400) with `error_message` is the query's own failure: a
// ClickHouse error other than a server's passing trouble (too many queries at once,
// memory, network, a read-only replica, Keeper), or any 4xx but 401, 403 and 429.
bool is_query_failure(int status, std::string_view error_message);
bool is_query_failure(const ApiError& e);

}  // namespace cargomon::cargo
