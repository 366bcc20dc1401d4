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
// returns it without a trailing ";" (the caller asks ClickHouse for its format with
// default_format, so the text ClickHouse reports errors in is the caller's own). Refuses
// (throws QueryRefused) several statements, other statement kinds, database-qualified or
// internal tables, system.*, table functions, dictionaries, a user FORMAT or INTO OUTFILE
// clause. It reads tokens, not the grammar: whether a refused text is a syntax error
// is ClickHouse's parser's call (sim/api/query.cpp asks it before refusing).
std::string guard_query(std::string_view sql);

}  // namespace cargomon::sim
