#include "metrics/names.h"

namespace cargomon::metrics {
namespace {

bool is_letter_or_underscore(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool is_valid_metric_name(std::string_view name) {
    if (name.empty() || !(is_letter_or_underscore(name[0]) || name[0] == ':')) return false;
    for (char c : name)
        if (!(is_letter_or_underscore(c) || is_digit(c) || c == ':')) return false;
    return true;
}

bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        auto lead = static_cast<unsigned char>(text[i]);
        if (lead < 0x80) {
            ++i;
            continue;
        }
        std::size_t extra;
        char32_t code;
        if ((lead & 0xE0) == 0xC0) extra = 1, code = lead & 0x1F;
        else if ((lead & 0xF0) == 0xE0) extra = 2, code = lead & 0x0F;
        else if ((lead & 0xF8) == 0xF0) extra = 3, code = lead & 0x07;
        else return false;
        if (text.size() - i <= extra) return false;  // truncated sequence
        for (std::size_t k = 1; k <= extra; ++k) {
            auto cont = static_cast<unsigned char>(text[i + k]);
            if ((cont & 0xC0) != 0x80) return false;
            code = (code << 6) | (cont & 0x3F);
        }
        // Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8.
        static constexpr char32_t min_for_length[] = {0, 0x80, 0x800, 0x10000};
        if (code < min_for_length[extra] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return false;
        i += extra + 1;
    }
    return true;
}

}  // namespace cargomon::metrics
