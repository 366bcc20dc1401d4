#pragma once
// Text as messages and label sets show it.
#include <string>
#include <string_view>

namespace cargomon {

// `text` in double quotes, with ", \ and newlines escaped: "a \"b\"\n" (as PromQL and
// Go's %q write label values, so a message names a value unambiguously).
std::string quoted(std::string_view text);

// ASCII letters lower-cased (HTTP header names and tokens are case-insensitive ASCII).
std::string to_lower(std::string_view text);
// Without leading and trailing white space (spaces, tabs, CR, LF).
std::string_view trim(std::string_view text);
// Case-insensitive ASCII equality.
bool iequals(std::string_view a, std::string_view b);

}  // namespace cargomon
