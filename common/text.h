#pragma once
// Text as messages and label sets show it.
#include <string>
#include <string_view>

namespace cargomon {

// `text` in double quotes, with ", \ and newlines escaped: "a \"b\"\n" (as PromQL and
// Go's %q write label values, so a message names a value unambiguously).
std::string quoted(std::string_view text);

}  // namespace cargomon
