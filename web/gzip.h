#pragma once
// gzip for /metrics answers: fastest zlib level, since a scrape is latency-bound.
#include <string>
#include <string_view>
#include <vector>

namespace cargomon::web {

// True when an Accept-Encoding header allows gzip (gzip, x-gzip or *, q above zero).
bool accepts_gzip(std::string_view accept_encoding);

// The pieces, joined, as one gzip member (deflate with the gzip header and trailer).
std::string gzip_compress(const std::vector<std::string_view>& pieces);

}  // namespace cargomon::web
