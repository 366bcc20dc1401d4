#pragma once
// gzip for /metrics answers: fastest zlib level, since a scrape is latency-bound.
#include <string>
#include <string_view>
#include <vector>

namespace cargomon::exporters {

// True when an Accept-Encoding header allows gzip (gzip, x-gzip or *, q above zero).
bool accepts_gzip(std::string_view accept_encoding);

// The pieces, joined, as one gzip member (deflate with the gzip header and trailer).
std::string gzip_compress(const std::vector<std::string_view>& pieces);

// The end of a gzip member compressed on its own: a final raw deflate stream with the
// CRC-32 and length of what it holds. /metrics keeps one per store change.
struct GzipTail {
    std::string deflated;
    unsigned long crc = 0;
    std::size_t length = 0;
};
GzipTail gzip_tail(const std::vector<std::string_view>& pieces);
// One gzip member holding `head` then the tail's data: only `head` is compressed now.
// The tail's stream never refers back into `head` (it was compressed from an empty
// window), and head ends on a full flush, so the two deflate streams simply follow each
// other; the trailer combines their CRCs (zlib's crc32_combine).
std::string gzip_join(const std::vector<std::string_view>& head, const GzipTail& tail);

}  // namespace cargomon::exporters
