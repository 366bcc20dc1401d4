#pragma once
// Undoing a request's Content-Encoding without letting a small body grow into a large
// allocation: output is bounded, so a "zip bomb" costs at most `limit` bytes of memory.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cargomon::web {

enum class InflateStatus { ok, too_large, corrupt, unsupported };

struct Inflated {
    InflateStatus status = InflateStatus::ok;
    std::string data;  // the decoded body when ok
};

// `encoding` is a Content-Encoding value: "", "identity", "gzip", "x-gzip", "deflate" or
// "br" (case-insensitive; a list of codings is refused as unsupported). Stops and answers
// too_large as soon as the output would pass `limit`.
Inflated inflate_body(std::string_view encoding, std::string_view body, std::size_t limit);

}  // namespace cargomon::web
