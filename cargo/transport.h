#pragma once
// One HTTP exchange, nothing more: the client above it adds headers, retries, pacing
// and metrics. Tests plug in an in-process fake.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cargo/options.h"

namespace cargomon::cargo {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
    std::string method;  // "GET" or "POST"
    std::string target;  // path and query: "/v1/orchestration/batches/list?limit=10"
    Headers headers;
    std::string body;
};

struct Response {
    int status = 0;
    Headers headers;
    std::string body;

    // Case-insensitive, as HTTP header names are.
    std::optional<std::string_view> header(std::string_view name) const;
};

class Transport {
public:
    virtual ~Transport() = default;
    // Throws NetworkError when no response arrives within `timeout` (or at all).
    virtual Response send(const Request& request, Millis timeout) = 0;
};

// HTTP or HTTPS (server certificate verified) with keep-alive connections, one per
// concurrent request, reused afterwards. Bodies are inflated here, within
// `options.answers` (send() throws TooLargeError past it, ParseError for a corrupt or
// cut compressed 2xx body). Throws std::invalid_argument on a bad base URL.
std::unique_ptr<Transport> make_http_transport(const ClientOptions& options);

}  // namespace cargomon::cargo
