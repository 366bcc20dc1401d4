#pragma once
// The first line of defence of /orchestration/query: a tokenizer-level check of the
// caller's SQL before it reaches ClickHouse (which then runs it with readonly=1 and caps).
#include <stdexcept>
#include <string>
#include <string_view>

namespace cargomon::sim {

// The SQL was refused; what() says why, naming the offending part.
class QueryRefused : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Accepts one SELECT/WITH statement over the four workspace tables (unqualified) and
// returns it with "FORMAT JSON" appended. Refuses (throws QueryRefused) several
// statements, other statement kinds, database-qualified or internal tables, system.*,
// table functions, dictionaries, a user FORMAT or INTO OUTFILE clause.
std::string guard_query(std::string_view sql);

}  // namespace cargomon::sim
