#include "cargo/options.h"

#include <cmath>
#include <stdexcept>

namespace cargomon::cargo {

BaseUrl split_base_url(const std::string& base_url) {
    std::string_view url = base_url;
    std::size_t scheme_end = url.find("://");
    std::string_view scheme = scheme_end == std::string_view::npos ? "" : url.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https")
        throw std::invalid_argument("base_url \"" + base_url + "\" must start with http:// or https://");
    std::string_view rest = url.substr(scheme_end + 3);
    std::size_t path_start = rest.find('/');
    std::string_view authority = rest.substr(0, path_start);
    std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
    if (authority.empty() || authority.find_first_of("@?# ") != std::string_view::npos ||
        path.find_first_of("?# ") != std::string_view::npos)
        throw std::invalid_argument("base_url \"" + base_url + "\" must be http(s)://host[:port][/path]");
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    return {std::string(url.substr(0, scheme_end + 3 + authority.size())), std::string(path) + "/v1"};
}

HttpClientConfig http_client_config(const ClientOptions& options) {
    return HttpClientConfig{.connect_timeout = options.connect_timeout, .timeout = options.timeout};
}

void validate(const ClientOptions& o) {
    auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
    split_base_url(o.base_url);
    // The token itself never goes into a message.
    if (o.token.empty()) bad("token is empty");
    if (o.token.find_first_of("\r\n") != std::string::npos) bad("token contains a line break");
    if (o.workspace_uuid.find_first_of("\r\n") != std::string::npos) bad("workspace_uuid contains a line break");
    if (o.timeout <= Millis{0}) bad("timeout must be positive");
    if (o.connect_timeout <= Millis{0}) bad("connect_timeout must be positive");
    if (o.max_in_flight < 1) bad("max_in_flight must be at least 1");
    if (!std::isfinite(o.rate_limit_per_s) || o.rate_limit_per_s < 0) bad("rate_limit_per_s must be 0 (off) or positive");
    if (o.retry.max_attempts < 1) bad("retry.max_attempts must be at least 1");
    if (o.retry.initial_backoff < Millis{0}) bad("retry.initial_backoff must not be negative");
    if (o.retry.max_backoff < o.retry.initial_backoff) bad("retry.max_backoff must not be below retry.initial_backoff");
    if (o.retry.budget <= Millis{0}) bad("retry.budget must be positive");
    if (o.answers.max_bytes == 0 || o.answers.max_compressed_bytes == 0) bad("answer size limits must be positive");
    if (o.downloads.max_bytes == 0 || o.downloads.max_compressed_bytes == 0) bad("download size limits must be positive");
}

}  // namespace cargomon::cargo
