#include "cargo/transport.h"

#include <algorithm>
#include <cctype>

namespace cargomon::cargo {

std::optional<std::string_view> Response::header(std::string_view name) const {
    auto same = [](std::string_view a, std::string_view b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
                   return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
               });
    };
    for (const auto& [key, value] : headers)
        if (same(key, name)) return value;
    return std::nullopt;
}

}  // namespace cargomon::cargo
