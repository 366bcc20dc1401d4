#pragma once
// A raw HTTP client on a TCP socket, for what httplib::Client would refuse to send (or
// would send differently): malformed heads, stalled bodies, held-open connections. It
// may connect from another loopback address (127.0.0.2) to play a second client.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>

namespace cargomon::test {

class RawClient {
public:
    explicit RawClient(int port, const char* from = nullptr) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (from) {
            sockaddr_in local{};
            local.sin_family = AF_INET;
            ::inet_pton(AF_INET, from, &local.sin_addr);
            if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return;
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    ~RawClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return connected_; }
    bool send(std::string_view data) {
        while (!data.empty()) {
            auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    // Everything until the server closes or `wait` passes.
    std::string read_all(std::chrono::milliseconds wait = std::chrono::seconds(5)) {
        return read_until(wait, [](const std::string&) { return false; });
    }
    // One whole answer with a Content-Length (the connection may stay open), or what came
    // before the server closed or `wait` passed.
    std::string read_answer(std::chrono::milliseconds wait = std::chrono::seconds(5)) {
        return read_until(wait, [](const std::string& got) {
            auto end = got.find("\r\n\r\n");
            if (end == std::string::npos) return false;
            auto at = got.find("Content-Length: ");
            if (at == std::string::npos || at > end) return true;
            return got.size() >= end + 4 + std::stoul(got.substr(at + 16));
        });
    }
    // The response head's status code, or 0.
    static int status_of(const std::string& response) {
        if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
        return std::stoi(response.substr(9, 3));
    }
    bool closed() const { return closed_; }
    bool readable(std::chrono::milliseconds wait) {
        pollfd p{fd_, POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
    }

private:
    template <typename Done>
    std::string read_until(std::chrono::milliseconds wait, Done done) {
        std::string out;
        auto until = std::chrono::steady_clock::now() + wait;
        while (!done(out)) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            char buf[65536];
            auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                closed_ = true;
                break;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }

    int fd_ = -1;
    bool connected_ = false;
    bool closed_ = false;
};

}  // namespace cargomon::test
