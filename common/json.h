#pragma once
// The one way cargomon reads JSON it did not write itself in this process: Cargo API
// answers, request bodies, the daemon's own answers read back by its CLI, stored rows.
//
// RapidJSON's default parser recurses once per nesting level, so a few KB of "[[[[" or
// "{{{{" overflows the stack. These functions parse iteratively (constant stack) and
// refuse a document nested deeper than `max_depth` arrays/objects, so every later walker
// of the document (RapidJSON's Writer, recursive decoders, the Document's own copy) stays
// within a bounded stack too.
//
// On failure they return an error text that names the byte offset ("offset 12: Missing a
// comma or ']' after an array element.") and leave `doc` null; on success, nullopt.
#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>

namespace cargomon {

// Cargo's answers nest 4 deep, silences 3; 64 leaves room for any honest document.
inline constexpr int kMaxJsonDepth = 64;

struct JsonOptions {
    int max_depth = kMaxJsonDepth;
    bool nan_and_inf = false;  // accept NaN, Inf, -Infinity as numbers (ClickHouse writes them)
};

std::optional<std::string> parse_json(std::string_view text, rapidjson::Document& doc, JsonOptions options = {});

// In place: strings in `doc` point into `text`, which must outlive it (no copy of a
// 10,000-row answer). `text` is overwritten. Stops at the first NUL byte, as any C string.
std::optional<std::string> parse_json_in_place(std::string& text, rapidjson::Document& doc, JsonOptions options = {});

}  // namespace cargomon
