#pragma once
// A receiver of notifications for tests (a webhook, a fake Slack): listens on a fixed
// loopback port between start() and stop(), so "down" really refuses connections, and
// answers every POST with the status it is told to.
#include <httplib.h>

#include <chrono>
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

// Thread-safety: start(), stop() and delay_answers() from the test's thread; answer(),
// received(), accepted() and clear() from any thread while the server's threads record
// requests. mu_ guards received_ and status_.
class HttpReceiver {
public:
    HttpReceiver();
    ~HttpReceiver();
    HttpReceiver(const HttpReceiver&) = delete;
    HttpReceiver& operator=(const HttpReceiver&) = delete;

    std::string url(const std::string& path = "/hook") const;
    void start();  // accepting once it returns
    void stop();
    void delay_answers(std::chrono::milliseconds by) { delay_ = by; }  // before start()
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
    std::chrono::milliseconds delay_{0};
};

}  // namespace cargomon::testing
