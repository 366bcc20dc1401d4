#pragma once
// ISO-8601 timestamps as the Cargo API writes and reads them, always UTC.
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace cargomon {

// "2026-11-28T09:31:34.123Z"
std::string format_iso8601(SystemTime t);

// ClickHouse DateTime text in UTC: "2026-11-28 09:31:34"
std::string format_sql_datetime(SystemTime t);

// Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fraction]]" and the same with a space
// instead of "T", followed by nothing (UTC), "Z" or a "+HH:MM"/"-HH:MM" offset.
std::optional<SystemTime> parse_iso8601(std::string_view text);

}  // namespace cargomon
