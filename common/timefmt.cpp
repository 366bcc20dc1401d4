#include "common/timefmt.h"

#include <cctype>
#include <chrono>
#include <cstdio>

namespace cargomon {
namespace {

using namespace std::chrono;

bool read_int(std::string_view s, std::size_t& pos, int digits, int& out) {
    if (pos + digits > s.size()) return false;
    int v = 0;
    for (int i = 0; i < digits; ++i) {
        char c = s[pos + i];
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
        v = v * 10 + (c - '0');
    }
    pos += digits;
    out = v;
    return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
}

}  // namespace

std::string format_iso8601(SystemTime t) {
    auto ms = time_point_cast<milliseconds>(t);
    auto day = floor<days>(ms);
    year_month_day ymd{day};
    hh_mm_ss hms{ms - day};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()), int(hms.hours().count()), int(hms.minutes().count()),
                  int(hms.seconds().count()), int(hms.subseconds().count()));
    return buf;
}

std::string format_sql_datetime(SystemTime t) {
    auto s = time_point_cast<seconds>(t);
    if (s > t) s -= seconds{1};  // floor, also before the epoch
    auto day = floor<days>(s);
    year_month_day ymd{day};
    hh_mm_ss hms{s - day};
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()), int(hms.hours().count()), int(hms.minutes().count()),
                  int(hms.seconds().count()));
    return buf;
}

std::optional<SystemTime> parse_iso8601(std::string_view s) {
    std::size_t pos = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!read_int(s, pos, 4, y) || !expect(s, pos, '-') || !read_int(s, pos, 2, mo) || !expect(s, pos, '-') ||
        !read_int(s, pos, 2, d))
        return std::nullopt;
    // SystemTime counts nanoseconds in 64 bits (1677-09-21 to 2262-04-11): a year outside
    // would overflow (UB) on the conversion below, and comes only from broken or hostile input.
    if (y < 1678 || y > 2261) return std::nullopt;
    year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
    if (!ymd.ok()) return std::nullopt;
    nanoseconds frac{0};
    minutes offset{0};
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
        ++pos;
        if (!read_int(s, pos, 2, h) || !expect(s, pos, ':') || !read_int(s, pos, 2, mi)) return std::nullopt;
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            if (!read_int(s, pos, 2, sec)) return std::nullopt;
            if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
                ++pos;
                std::int64_t scale = 100'000'000;
                std::size_t start = pos;
                while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
                    frac += nanoseconds{(s[pos] - '0') * scale};
                    scale /= 10;
                    ++pos;
                }
                if (pos == start) return std::nullopt;
            }
        }
        if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
        if (pos < s.size()) {
            if (s[pos] == 'Z' || s[pos] == 'z') {
                ++pos;
            } else if (s[pos] == '+' || s[pos] == '-') {
                int sign = s[pos] == '-' ? -1 : 1;
                ++pos;
                int oh, om;
                if (!read_int(s, pos, 2, oh)) return std::nullopt;
                if (pos < s.size() && s[pos] == ':') ++pos;
                if (!read_int(s, pos, 2, om)) return std::nullopt;
                offset = minutes{sign * (oh * 60 + om)};
            }
        }
    }
    if (pos != s.size()) return std::nullopt;
    auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + frac - offset;
    return time_point_cast<SystemTime::duration>(t);
}

}  // namespace cargomon
