#include "cargo/retry.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/text.h"

namespace cargomon::cargo {

Millis backoff_delay(const RetryOptions& options, int retry, std::mt19937_64& rng) {
    Millis cap = options.max_backoff;
    // Doubling stops once it reaches the cap, so large retry counts cannot overflow.
    Millis grown = options.initial_backoff;
    for (int i = 0; i < retry && grown < cap; ++i) grown *= 2;
    cap = std::min(cap, grown);
    std::uniform_int_distribution<Millis::rep> pick(0, std::max<Millis::rep>(0, cap.count()));
    return Millis{pick(rng)};
}

namespace {

// IMF-fixdate, the only HTTP-date form servers may send today (RFC 9110 5.6.7).
std::optional<SystemTime> parse_http_date(std::string_view text) {
    static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::string s(text);
    int day = 0, year = 0, hour = 0, minute = 0, second = 0, consumed = 0;
    char month_name[4] = {};
    if (std::sscanf(s.c_str(), "%*3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", &day, month_name, &year, &hour,
                    &minute, &second, &consumed) != 6 ||
        consumed != static_cast<int>(s.size()))
        return std::nullopt;
    auto month = std::find_if(months.begin(), months.end(), [&](const char* m) { return std::strcmp(m, month_name) == 0; });
    if (month == months.end()) return std::nullopt;
    std::chrono::year_month_day date{std::chrono::year{year},
                                     std::chrono::month{static_cast<unsigned>(month - months.begin() + 1)},
                                     std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    return std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
           std::chrono::seconds{second};
}

}  // namespace

std::optional<Millis> parse_retry_after(std::string_view value, SystemTime now) {
    value = trim(value);
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        // A century is as good as forever here, and keeps the arithmetic from overflowing.
        constexpr long long max_seconds = 100LL * 365 * 24 * 3600;
        long long seconds = max_seconds;
        if (value.size() < 12) std::from_chars(value.data(), value.data() + value.size(), seconds);
        return Millis{std::min(seconds, max_seconds) * 1000};
    }
    auto at = parse_http_date(value);
    if (!at) return std::nullopt;
    return std::max(Millis{0}, std::chrono::duration_cast<Millis>(*at - now));
}

}  // namespace cargomon::cargo
