#include "common/text.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace cargomon {

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

}  // namespace cargomon

namespace cargomon {

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim(std::string_view text) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && space(text.front())) text.remove_prefix(1);
    while (!text.empty() && space(text.back())) text.remove_suffix(1);
    return text;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

namespace {

// The length of the UTF-8 character starting at text[i], or 0 when it is not valid there
// (a stray continuation byte, a truncated or overlong sequence, a surrogate, past U+10FFFF).
std::size_t utf8_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    if (n == 2 && c < 0xC2) return 0;                                       // overlong
    if (n == 3 && c == 0xE0 && byte(i + 1) < 0xA0) return 0;               // overlong
    if (n == 3 && c == 0xED && byte(i + 1) >= 0xA0) return 0;              // surrogate
    if (n == 4 && c == 0xF0 && byte(i + 1) < 0x90) return 0;               // overlong
    if (n == 4 && (c > 0xF4 || (c == 0xF4 && byte(i + 1) >= 0x90))) return 0;  // past U+10FFFF
    return n;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_bytes) {
    std::string clean;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_length(text, i);
        if (n == 0) {
            ++i;
            continue;
        }
        const unsigned char c = static_cast<unsigned char>(text[i]);
        const bool control = n == 1 ? (c < 0x20 || c == 0x7F)
                                    : (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0);  // C1
        if (control || c == ' ') {
            if (!clean.empty() && clean.back() != ' ') clean += ' ';
        } else {
            clean.append(text.substr(i, n));
        }
        i += n;
    }
    while (!clean.empty() && clean.back() == ' ') clean.pop_back();
    if (clean.size() <= max_bytes) return clean;
    constexpr std::string_view kCut = "...";
    std::size_t end = max_bytes > kCut.size() ? max_bytes - kCut.size() : 0;
    while (end > 0 && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;  // not inside a character
    return clean.substr(0, end) + std::string(kCut.substr(0, std::min(kCut.size(), max_bytes)));
}

}  // namespace cargomon

namespace cargomon {

namespace {
constexpr std::pair<std::string_view, int> kByteUnits[] = {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}};
}  // namespace

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
    int shift = 0;
    for (auto [unit, bits] : kByteUnits)
        if (text.ends_with(unit)) {
            text.remove_suffix(unit.size());
            shift = bits;
            break;
        }
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    if (value > (std::uint64_t{1} << 63 >> shift)) return std::nullopt;
    return value << shift;
}

std::string format_byte_size(std::uint64_t bytes) {
    for (auto [unit, bits] : kByteUnits) {
        const std::uint64_t size = std::uint64_t{1} << bits;
        if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + std::string(unit);
    }
    return std::to_string(bytes);
}

std::string percent_encode(std::string_view text, std::string_view also_literal) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
                                c == '_' || c == '.' || c == '~';
        if (unreserved || (u != 0 && also_literal.find(c) != std::string_view::npos)) {
            out += c;
        } else {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 0xF];
        }
    }
    return out;
}

}  // namespace cargomon
