#pragma once
// A TCP proxy on a free loopback port in front of one upstream, for tests of a peer that
// goes away: it forwards, refuses connections (nothing listens: the kernel answers RST)
// or blackholes them (accepts, reads and never answers). Every mode change drops the
// connections in progress, as a restarting or vanished server would. It also logs the
// arrival of each HTTP request it forwards, so a test can check a client's pacing
// against what the server asked, from outside the client.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cargomon::testing {

// Thread-safety: set_mode(), requests() and connections() from any thread while the
// proxy's own threads accept and relay; mu_ guards mode_, links_, log_ and relays_
// (the listening state of listener_ too).
class FaultProxy {
public:
    enum class Mode { forward, refuse, blackhole };

    struct Request {
        std::chrono::steady_clock::time_point at;  // its first byte arrived
        std::string line;                          // "POST /v1/orchestration/query HTTP/1.1"
    };

    explicit FaultProxy(int upstream_port);  // upstream on 127.0.0.1; throws if it cannot bind
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    std::string url() const;  // "http://127.0.0.1:PORT"
    void set_mode(Mode mode);
    std::vector<Request> requests() const;  // forwarded requests, in arrival order
    int connections() const { return accepted_; }  // accepted in any mode

private:
    struct Link;
    void accept_loop();
    void relay(std::shared_ptr<Link> link);

    int port_;
    int upstream_port_;
    mutable std::mutex mu_;
    Mode mode_ = Mode::forward;
    int listener_ = -1;  // bound always (the port stays ours), listening unless refusing
    std::vector<std::weak_ptr<Link>> links_;
    std::vector<Request> log_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> accepted_{0};
    std::thread acceptor_;
    std::vector<std::pair<std::shared_ptr<Link>, std::thread>> relays_;
};

}  // namespace cargomon::testing
