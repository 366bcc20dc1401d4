#pragma once
// Timed scrapes of a /metrics endpoint on loopback, shared by bench_metrics_http and
// bench_peers so both measure a scrape the same way: one keep-alive connection, the body
// left compressed (as Prometheus reads it), the clock around the whole GET.
#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace cargomon::bench {

struct ScrapeTimes {
    std::vector<double> ms;  // each request's wall time, in order
    std::size_t bytes = 0;   // the last body's size as sent
};

// `requests` GETs of http://127.0.0.1:`port`/metrics, asking for gzip when `gzip`. Throws
// when one fails or answers other than 200.
inline ScrapeTimes time_scrapes(int port, int requests, bool gzip) {
    using Steady = std::chrono::steady_clock;
    httplib::Client client("127.0.0.1", port);
    client.set_decompress(false);
    client.set_keep_alive(true);
    client.set_read_timeout(60);  // 100,000 series on a loaded machine
    httplib::Headers headers;
    if (gzip) headers.emplace("Accept-Encoding", "gzip");
    ScrapeTimes out;
    for (int i = 0; i < requests; ++i) {
        const auto start = Steady::now();
        auto res = client.Get("/metrics", headers);
        out.ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - start).count());
        if (!res || res->status != 200) throw std::runtime_error("scrape of port " + std::to_string(port) + " failed");
        out.bytes = res->body.size();
    }
    return out;
}

}  // namespace cargomon::bench
