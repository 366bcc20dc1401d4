#include "common/duration.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>

namespace cargomon {
namespace {

struct Unit {
    std::string_view name;
    std::int64_t ms;
};

// Ordered from largest to smallest: each unit may appear once, in this order.
constexpr std::array<Unit, 7> kUnits{{
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

bool fail(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return false;
}

}  // namespace

std::optional<Millis> parse_duration(std::string_view text, std::string* error) {
    if (text.empty()) {
        fail(error, "empty duration");
        return std::nullopt;
    }
    if (text == "0") return Millis{0};
    std::int64_t total = 0;
    std::size_t pos = 0;
    std::size_t last_unit = 0;  // index into kUnits + 1 of the previous unit
    while (pos < text.size()) {
        if (!std::isdigit(static_cast<unsigned char>(text[pos]))) {
            fail(error, "expected a number at \"" + std::string(text.substr(pos)) + "\"");
            return std::nullopt;
        }
        std::int64_t n = 0;
        while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
            if (n > std::numeric_limits<std::int64_t>::max() / 10) {
                fail(error, "duration out of range");
                return std::nullopt;
            }
            n = n * 10 + (text[pos++] - '0');
        }
        std::size_t unit_end = pos;
        while (unit_end < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_end]))) ++unit_end;
        std::string_view unit = text.substr(pos, unit_end - pos);
        std::size_t found = kUnits.size();
        for (std::size_t i = 0; i < kUnits.size(); ++i)
            if (kUnits[i].name == unit) found = i;
        if (found == kUnits.size()) {
            fail(error, unit.empty() ? "missing unit (one of ms, s, m, h, d, w, y)"
                                     : "unknown unit \"" + std::string(unit) + "\" (one of ms, s, m, h, d, w, y)");
            return std::nullopt;
        }
        if (found + 1 <= last_unit) {
            fail(error, "units must go from largest to smallest, each once");
            return std::nullopt;
        }
        last_unit = found + 1;
        if (n > (std::numeric_limits<std::int64_t>::max() - total) / kUnits[found].ms) {
            fail(error, "duration out of range");
            return std::nullopt;
        }
        total += n * kUnits[found].ms;
        pos = unit_end;
    }
    return Millis{total};
}

std::string format_duration(Millis d) {
    std::int64_t left = d.count();
    if (left == 0) return "0s";
    std::string out;
    if (left < 0) {
        out = "-";
        left = -left;
    }
    for (const Unit& u : kUnits) {
        if (left >= u.ms) {
            out += std::to_string(left / u.ms);
            out += u.name;
            left %= u.ms;
        }
    }
    return out;
}

}  // namespace cargomon
