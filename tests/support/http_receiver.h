#pragma once
// A receiver of notifications for tests (a webhook, a fake Slack): listens on a fixed
// loopback port between start() and stop(), so "down" really refuses connections, and
// answers every POST with the status it is told to.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cargomon::testing {

struct Received {
    std::string path;
    std::string body;
    httplib::Headers headers;
    int status = 0;  // what the receiver answered

    std::string header(const std::string& name) const;
    bool accepted() const { return status / 100 == 2; }
};

// Thread-safety: start() and stop() from the test's thread; delay_answers(), answer(),
// arrived(), received(), accepted() and clear() from any thread while the server's
// threads record requests. mu_ guards received_ and status_.
class HttpReceiver {
public:
    HttpReceiver();
    ~HttpReceiver();
    HttpReceiver(const HttpReceiver&) = delete;
    HttpReceiver& operator=(const HttpReceiver&) = delete;

    std::string url(const std::string& path = "/hook") const;
    void start();  // accepting once it returns
    void stop();
    // Each request is recorded and answered this long after it arrives (a slow receiver;
    // a sender that gives up or dies meanwhile still has it recorded).
    void delay_answers(std::chrono::milliseconds by) { delay_ms_ = by.count(); }
    // Requests that arrived, recorded or still waiting out the delay.
    std::size_t arrived() const { return arrived_; }
    void answer(int status);
    std::vector<Received> received() const;
    std::vector<Received> accepted() const;  // the requests answered 2xx
    void clear();

private:
    int port_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::vector<Received> received_;
    int status_ = 200;
    std::atomic<std::int64_t> delay_ms_{0};
    std::atomic<std::size_t> arrived_{0};
};

}  // namespace cargomon::testing
