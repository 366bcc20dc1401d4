#pragma once
// How the Cargo API client connects, retries and paces itself. The daemon's YAML config
// maps onto this struct; ApiClient rejects values that make no sense.
#include <chrono>
#include <cstdint>
#include <string>

#include "common/http_client.h"

namespace cargomon::cargo {

using Millis = std::chrono::milliseconds;

struct RetryOptions {
    int max_attempts = 4;         // attempts per call, the first one included
    Millis initial_backoff{200};  // cap of the first retry's random sleep
    Millis max_backoff{10'000};   // the cap never grows beyond this
    Millis budget{60'000};        // total time of one call, all attempts and sleeps included
};

// How large one answer may be before it is cut off unread (TooLargeError). Both are
// counted while the bytes arrive, so nothing past them is ever read or held.
struct SizeLimits {
    std::uint64_t max_bytes;             // decoded: what memory holds (answers) or the file gets (downloads)
    std::uint64_t max_compressed_bytes;  // as received, for a body that is inflated
};

inline constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
inline constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

struct ClientOptions {
    std::string base_url = "https://api.getcargo.io";  // scheme://host[:port][/prefix]; "/v1" is appended
    std::string token;                                   // sent as "authorization: Bearer"
    std::string workspace_uuid;                          // "selected-workspace-uuid" when not empty
    Millis timeout{30'000};                              // one attempt: send and receive
    Millis connect_timeout{5'000};
    int max_in_flight = 4;          // concurrent requests; callers wait for a free slot
    double rate_limit_per_s = 10;   // requests per second, bursts up to one second's worth; 0 = off
    RetryOptions retry;
    // An API answer is held whole to be parsed; client.max_answer_bytes and
    // client.max_compressed_answer_bytes in the config.
    SizeLimits answers{.max_bytes = 64 * kMiB, .max_compressed_bytes = 64 * kMiB};
    // A signed-URL download streams to a file; client.max_download_bytes and
    // client.max_compressed_download_bytes in the config.
    SizeLimits downloads{.max_bytes = 4 * kGiB, .max_compressed_bytes = 1 * kGiB};
};

// Throws std::invalid_argument naming the first bad field.
void validate(const ClientOptions& options);

// The HTTP client settings of the API's and the downloads' connections: the timeouts
// (the token goes in each request's headers, from ApiClient).
HttpClientConfig http_client_config(const ClientOptions& options);

// "https://api.getcargo.io/proxy" -> origin "https://api.getcargo.io", prefix "/proxy/v1".
// Throws std::invalid_argument unless the URL is http(s)://host[:port][/path].
struct BaseUrl {
    std::string origin;
    std::string prefix;
};
BaseUrl split_base_url(const std::string& base_url);

}  // namespace cargomon::cargo
