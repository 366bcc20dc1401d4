#pragma once
// When and how long to wait before another attempt.
#include <optional>
#include <random>
#include <string_view>

#include "cargo/options.h"
#include "common/clock.h"

namespace cargomon::cargo {

// Full jitter: uniform in [0, min(max_backoff, initial_backoff * 2^retry)], where
// `retry` counts the retries already made (0 before the first one).
Millis backoff_delay(const RetryOptions& options, int retry, std::mt19937_64& rng);

// A Retry-After value: delay-seconds ("120") or an HTTP date ("Wed, 21 Oct 2015
// 07:28:00 GMT"), made relative to `now` (never negative). nullopt when unreadable.
std::optional<Millis> parse_retry_after(std::string_view value, SystemTime now);

}  // namespace cargomon::cargo
