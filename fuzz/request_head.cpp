// What a client sends the server (web/request_parser.h): the request head, then, when it
// announces a chunked body, the chunks that follow, step by step as the server reads
// them. Each input is also fed a byte at a time, as a slow client sends it, and must
// parse the same: the resumable scan may not depend on where reads end.
#include <cstdlib>
#include <string>

#include "fuzz/fuzz.h"
#include "web/request_parser.h"

namespace {

using cargomon::web::ChunkStep;
using cargomon::web::HeadResult;

constexpr cargomon::web::Limits kLimits{.max_body_bytes = 64 << 10, .max_header_bytes = 8 << 10, .max_header_count = 50};

HeadResult parse_whole(std::string_view text, cargomon::web::Request& req) {
    std::size_t scanned = 0;
    return cargomon::web::parse_request_head(text, kLimits, req, scanned);
}

HeadResult parse_bytewise(std::string_view text, cargomon::web::Request& req) {
    std::size_t scanned = 0;
    HeadResult r;
    for (std::size_t n = 1; n <= text.size(); ++n) {
        req = {};
        r = cargomon::web::parse_request_head(text.substr(0, n), kLimits, req, scanned);
        if (r.state != HeadResult::State::incomplete) break;
    }
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz_text(data, size);
    cargomon::web::Request whole_req, byte_req;
    const HeadResult whole = parse_whole(text, whole_req);
    if (size <= 4096) {
        const HeadResult bytewise = parse_bytewise(text, byte_req);
        if (bytewise.state != whole.state || bytewise.status != whole.status || bytewise.consumed != whole.consumed)
            std::abort();
    }
    if (whole.state != HeadResult::State::complete) return 0;
    if (whole.consumed > size || whole_req.path_segments.empty()) std::abort();
    if (!whole.framing.chunked) return 0;
    std::string rest(text.substr(whole.consumed));
    std::size_t body = 0;
    while (true) {
        ChunkStep step = cargomon::web::decode_chunk(rest, body, kLimits.max_body_bytes, kLimits.max_header_bytes);
        if (step.state == ChunkStep::State::incomplete || step.state == ChunkStep::State::refused) break;
        if (step.consumed == 0 || step.consumed > rest.size()) std::abort();  // no progress, or past the input
        body += step.data.size();
        if (body > kLimits.max_body_bytes) std::abort();
        rest.erase(0, step.consumed);
        if (step.state == ChunkStep::State::end) break;
    }
    return 0;
}
