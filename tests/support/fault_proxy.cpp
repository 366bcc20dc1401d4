#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

#include "common/net.h"

namespace cargomon::testing {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPollMs = 50;  // how soon a mode change or stop reaches every thread

sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// Splits the client's byte stream into HTTP/1.1 requests (head, then Content-Length bytes
// of body): enough for the clients under test, which neither pipeline nor chunk requests.
class RequestSplitter {
public:
    // Calls `found(first_byte_time, request_line)` for each request head completed.
    template <class Found>
    void feed(const char* data, std::size_t size, Clock::time_point now, Found&& found) {
        while (size > 0 && !lost_) {
            if (body_left_ > 0) {
                const std::size_t skip = std::min<std::size_t>(size, body_left_);
                body_left_ -= skip;
                data += skip;
                size -= skip;
                continue;
            }
            if (head_.empty()) started_ = now;
            const std::size_t before = head_.size();
            head_.append(data, size);
            const std::size_t end = head_.find("\r\n\r\n");
            if (end == std::string::npos) {
                lost_ = head_.size() > 64 * 1024;  // not HTTP as expected: stop reading it
                return;
            }
            const std::size_t used = end + 4 - before;
            data += used;
            size -= used;
            head_.resize(end + 2);
            found(started_, head_.substr(0, head_.find("\r\n")));
            body_left_ = content_length();
            head_.clear();
        }
    }

private:
    std::uint64_t content_length() const {
        std::string lower = head_;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        const std::size_t at = lower.find("\r\ncontent-length:");
        return at == std::string::npos ? 0 : std::strtoull(lower.c_str() + at + 17, nullptr, 10);
    }

    std::string head_;
    std::uint64_t body_left_ = 0;
    Clock::time_point started_;
    bool lost_ = false;
};

}  // namespace

struct FaultProxy::Link {
    int client = -1;
    int upstream = -1;  // -1 when blackholed
    std::atomic<bool> dropped{false};
    std::atomic<bool> done{false};  // its relay has returned and may be joined
};

FaultProxy::FaultProxy(int upstream_port) : port_(free_loopback_port()), upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = loopback(port_);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 64) != 0)
        throw std::runtime_error("fault proxy cannot listen on 127.0.0.1:" + std::to_string(port_));
    acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
    stopping_ = true;
    acceptor_.join();  // no relay starts after this
    for (auto& [link, thread] : relays_) thread.join();
    ::close(listener_);
}

std::string FaultProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FaultProxy::set_mode(Mode mode) {
    std::lock_guard lock(mu_);
    if (mode == mode_) return;
    // Linux takes a listening socket back to closed on shutdown(SHUT_RD) and lets it
    // listen again later: connections are refused meanwhile and the port stays ours.
    if (mode == Mode::refuse) ::shutdown(listener_, SHUT_RD);
    if (mode_ == Mode::refuse && ::listen(listener_, 64) != 0)
        throw std::runtime_error("fault proxy cannot listen again: " + std::string(std::strerror(errno)));
    mode_ = mode;
    for (auto& weak : links_)
        if (auto link = weak.lock()) link->dropped = true;
    links_.clear();
}

std::vector<FaultProxy::Request> FaultProxy::requests() const {
    std::lock_guard lock(mu_);
    return log_;
}

void FaultProxy::accept_loop() {
    while (!stopping_) {
        Mode mode;
        {
            std::lock_guard lock(mu_);
            mode = mode_;
        }
        if (mode == Mode::refuse) {
            std::this_thread::sleep_for(std::chrono::milliseconds{kPollMs});
            continue;
        }
        pollfd p{.fd = listener_, .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, kPollMs) <= 0 || !(p.revents & POLLIN)) continue;
        const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) continue;
        ++accepted_;
        auto link = std::make_shared<Link>();
        link->client = client;
        std::lock_guard lock(mu_);
        if (mode_ == Mode::forward) {
            link->upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in addr = loopback(upstream_port_);
            if (::connect(link->upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
                // The upstream is down too: the client sees its connection closed.
                ::close(link->upstream);
                ::close(client);
                continue;
            }
        }
        links_.push_back(link);
        std::erase_if(links_, [](const std::weak_ptr<Link>& l) { return l.expired(); });
        // Finished relays are joined as new ones start, so a long outage of short
        // connections does not pile up threads.
        std::erase_if(relays_, [](auto& r) {
            if (!r.first->done) return false;
            r.second.join();
            return true;
        });
        relays_.emplace_back(link, std::thread([this, link] { relay(link); }));
    }
}

void FaultProxy::relay(std::shared_ptr<Link> link) {
    RequestSplitter splitter;
    char buf[16 * 1024];
    pollfd fds[2] = {{.fd = link->client, .events = POLLIN, .revents = 0},
                     {.fd = link->upstream, .events = POLLIN, .revents = 0}};
    const nfds_t count = link->upstream >= 0 ? 2 : 1;
    while (!stopping_ && !link->dropped) {
        if (::poll(fds, count, kPollMs) <= 0) continue;
        if (fds[0].revents) {
            const ssize_t n = ::recv(link->client, buf, sizeof buf, 0);
            if (n <= 0) break;
            if (link->upstream < 0) continue;  // blackholed: read, never answered
            splitter.feed(buf, static_cast<std::size_t>(n), Clock::now(), [&](Clock::time_point at, std::string line) {
                std::lock_guard lock(mu_);
                log_.push_back({at, std::move(line)});
            });
            if (!write_all(link->upstream, buf, static_cast<std::size_t>(n))) break;
        }
        if (count == 2 && fds[1].revents) {
            const ssize_t n = ::recv(link->upstream, buf, sizeof buf, 0);
            if (n <= 0 || !write_all(link->client, buf, static_cast<std::size_t>(n))) break;
        }
    }
    ::close(link->client);
    if (link->upstream >= 0) ::close(link->upstream);
    link->done = true;
}

}  // namespace cargomon::testing
