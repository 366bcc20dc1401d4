#pragma once
// The byte-level parsers of cargomon's HTTP/1.1 server (web/http_engine.h), apart from any
// socket so that each can be fuzzed alone (fuzz/request_head.cpp, fuzz/basic_auth.cpp):
//  - the request head: request line, headers, target, and the framing of the body;
//  - chunked transfer coding, one step at a time over what has arrived;
//  - the credentials of an "Authorization: Basic" header.
// Each takes bytes as they came from the peer, bounded by Limits, and never throws:
// every refusal carries its status and a reason that names what is wrong.
//
// Strictness follows RFC 9112 where Go's net/http is lenient and a lenient reading lets
// a proxy in front of cargomon and cargomon disagree on where a request ends (request
// smuggling): lines end in CRLF only, a header value holds no NUL, CR or LF, an HTTP/1.1
// request has exactly one Host, Transfer-Encoding appears at most once, is "chunked",
// and never comes with Content-Length (not even empty).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "web/http.h"

namespace cargomon::web {

// How the body of a request is delimited.
struct Framing {
    bool chunked = false;
    std::size_t length = 0;  // Content-Length (0 when absent); unused when chunked
    bool has_body() const { return chunked || length > 0; }
};

struct HeadResult {
    enum class State { incomplete, complete, refused };
    State state = State::incomplete;
    int status = 0;         // refused: 400, 414, 431, 501 or 505
    std::string why;        // refused: what is wrong, for the answer's body
    std::size_t consumed = 0;  // complete: bytes of the head, its blank line included
    Framing framing;
    bool keep_alive = false;  // HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive
};

// Looks for a whole request head at the start of `bytes` and parses it into `req`
// (method, target, path, segments, query, headers). `scanned` carries, between calls on a
// growing buffer, how far it was already searched (start at 0), so a head that arrives a
// byte at a time costs linear time. incomplete: read more and call again.
HeadResult parse_request_head(std::string_view bytes, const Limits& limits, Request& req, std::size_t& scanned);

// Appends the name=value pairs of a query string, or of an application/x-www-form-urlencoded
// body (the same syntax), percent-decoded leniently with "+" as a space, in order.
void parse_query_string(std::string_view query, std::vector<std::pair<std::string, std::string>>& out);

// Splits a path into its segments and percent-decodes each one alone, as Go's ServeMux
// matches them: "/a%2Fb/c" is two segments, "a/b" and "c". False on a malformed escape.
bool split_path_segments(std::string_view raw_path, std::vector<std::string>& segments);

struct ChunkStep {
    enum class State { incomplete, data, end, refused };
    State state = State::incomplete;
    int status = 0;            // refused: 400, 413 or 431
    std::string why;
    std::size_t consumed = 0;  // data and end: bytes to drop from the front of the buffer
    std::string_view data;     // data: the chunk's bytes, within the buffer
};

// One step of chunked decoding at the start of `bytes`: a whole chunk (size line, data
// and its CRLF), or the last chunk with its trailers (ignored), or incomplete. A chunk
// that would take the body (`body_so_far` bytes decoded already) over `max_body` is
// refused 413 before its data arrives; the size line is bounded by 1 KiB and the
// trailers by `max_trailer_bytes` (431).
ChunkStep decode_chunk(std::string_view bytes, std::size_t body_so_far, std::size_t max_body,
                       std::size_t max_trailer_bytes);

// Decodes "Basic base64(user:password)" (scheme case-insensitive, RFC 7617), as Go's
// Request.BasicAuth does: standard base64 with padding, the user up to the first colon.
// False when malformed. The password is returned as sent, NUL bytes and all: what to do
// with those is the verifier's business (web/auth.h).
bool parse_basic_authorization(std::string_view header, std::string& user, std::string& password);

}  // namespace cargomon::web
