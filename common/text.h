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

// Text from outside (an API's error message, a name) fit to print, log, store or use as a
// label value: control characters (C0, DEL, C1) become spaces, then runs of spaces one and
// the ends trimmed; invalid UTF-8 is dropped; past `max_bytes` it is cut at a character
// boundary with "..." appended (the result at most max_bytes). So a hostile or huge
// message can neither rewrite a terminal nor flood a log or a label.
std::string printable(std::string_view text, std::size_t max_bytes = 200);

}  // namespace cargomon
