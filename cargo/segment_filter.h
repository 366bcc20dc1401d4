#pragma once
// The segment filter language of `cargomon export segment` (docs/export.md), turned into
// the JSON the API's segments/download takes: each --filter is one condition, "COLUMN OP
// VALUE" or "COLUMN is [not] empty|null"; --sort is "COLUMN[:asc|desc]" per column.
// A condition has no nesting, so reading one is a single pass over its text; the command
// line bounds its size (the kernel's 128 KiB per argument).
#include <stdexcept>
#include <string>
#include <vector>

namespace cargomon::cargo {

// A condition or sort column the language does not read. what() quotes the text (made
// printable, cut to 300 bytes) and says why; the command names the flag before it.
struct FilterError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// The API's filter (its key really is spelled "conjonction"): one group of `conditions`,
// joined by "or" when `match_any`, else by "and"; no group at all without conditions.
// A quoted VALUE is text; a bare one is a number or a date (ISO-8601, or YYYY-MM-DD) when
// it reads as one. Throws FilterError.
std::string segment_filter_json(const std::vector<std::string>& conditions, bool match_any);

// The API's sort: one {columnSlug, kind} per column, in order; "" without columns.
// Throws FilterError.
std::string segment_sort_json(const std::vector<std::string>& columns);

}  // namespace cargomon::cargo
