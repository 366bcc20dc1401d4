#pragma once
// gzip for /metrics answers: fastest zlib level, since a scrape is latency-bound.
#include <string>
#include <string_view>

namespace cargomon::exporters {

// True when an Accept-Encoding header allows gzip (gzip, x-gzip or *, q above zero).
bool accepts_gzip(std::string_view accept_encoding);

// A complete gzip member (deflate with the gzip header and trailer).
std::string gzip_compress(std::string_view data);

}  // namespace cargomon::exporters
