#pragma once
// What the receiver integrations share: posting a rendered body to the integration's URL
// over a kept-alive connection, and reading the answer as a SendResult (2xx delivered;
// 429, 5xx and no answer retried; any other status given up).
#include <httplib.h>

#include <memory>
#include <string>

#include "alerts/notify/receivers.h"
#include "config/alerting.h"

namespace cargomon::alerts::notify {

// One delivery worker posts; cancel() may come from any thread (httplib::Client::stop
// shuts the socket down).
class HttpPoster {
public:
    // Posts to options.url with `path_suffix` appended (Alertmanager's /api/v2/alerts),
    // through a client made by common/http_client.h from options.client. Throws what
    // make_http_client throws.
    explicit HttpPoster(const config::HttpOptions& options, std::string path_suffix = "");

    // `headers` and the configured ones, with the body as application/json. The error
    // names the status or the connection problem, never the URL or a secret.
    SendResult post(const std::string& body, httplib::Headers headers);

    // A request in flight fails at once; one not yet started is not prevented (the caller
    // checks for stop between requests and cancels again until its worker is done). A
    // connect in progress finishes first, within the connection timeout.
    void cancel();

private:
    config::HttpOptions options_;
    std::string path_;
    std::unique_ptr<httplib::Client> client_;
};

}  // namespace cargomon::alerts::notify
