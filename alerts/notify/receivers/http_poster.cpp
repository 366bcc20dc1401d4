#include "alerts/notify/receivers/http_poster.h"

#include "common/http_client.h"

namespace cargomon::alerts::notify {
namespace {

struct ParsedUrl {
    std::string origin;  // scheme://host[:port]
    std::string path;
};

ParsedUrl split_url(const std::string& url) {
    std::size_t scheme_end = url.find("://");
    std::size_t path_start = scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
    if (path_start == std::string::npos) return {url, ""};
    return {url.substr(0, path_start), url.substr(path_start)};
}

}  // namespace

HttpPoster::HttpPoster(const config::HttpOptions& options, std::string path_suffix) : options_(options) {
    ParsedUrl url = split_url(options.url);
    path_ = url.path + path_suffix;
    if (path_.empty()) path_ = "/";
    client_ = make_http_client(url.origin, options.client);
    client_->set_keep_alive(true);
}

SendResult HttpPoster::post(const std::string& body, httplib::Headers headers) {
    for (const auto& [k, v] : options_.headers) headers.emplace(k, v);
    httplib::Result res = client_->Post(path_, headers, body, "application/json");
    if (!res) return {SendResult::Outcome::retry, "request failed: " + httplib::to_string(res.error())};
    const int status = res->status;
    if (status >= 200 && status < 300) return {SendResult::Outcome::delivered, {}};
    std::string error = "HTTP " + std::to_string(status);
    if (status == 429 || status >= 500) return {SendResult::Outcome::retry, error};
    return {SendResult::Outcome::failed, error};
}

void HttpPoster::cancel() { client_->stop(); }

}  // namespace cargomon::alerts::notify
