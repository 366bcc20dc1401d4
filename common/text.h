#pragma once
// Text as messages and label sets show it.
#include <cstdint>
#include <optional>
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

// Percent-encoding (RFC 3986) for a URL's path segment or query: every byte but the
// unreserved ones (letters, digits, "-_.~") and those in `also_literal` becomes %XX.
// Space is "%20", never "+".
std::string percent_encode(std::string_view text, std::string_view also_literal = "");

// A size in bytes as flags and the config write it: a whole number, optionally followed
// by KiB, MiB, GiB or TiB (powers of 1024): "1048576", "512KiB", "64MiB". nullopt when
// malformed or past 2^63.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);
// The other way: the largest unit that divides `bytes` exactly ("64MiB", "1000").
std::string format_byte_size(std::uint64_t bytes);

}  // namespace cargomon
