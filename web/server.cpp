#include "web/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "common/net.h"
#include "common/text.h"
#include "common/inflate.h"

namespace cargomon::web {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

// ---- Request, Response -----------------------------------------------------------------

std::string_view Request::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

bool Request::has_header(std::string_view name) const {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

std::string_view Request::param(std::string_view name) const {
    for (const auto& [k, v] : query)
        if (k == name) return v;
    return {};
}

void Response::set_header(std::string name, std::string value) {
    for (auto& [k, v] : headers) {
        if (iequals(k, name)) {
            v = std::move(value);
            return;
        }
    }
    headers.emplace_back(std::move(name), std::move(value));
}

void Response::set_content(std::string content, std::string content_type) {
    body = std::move(content);
    pieces.clear();
    owner.reset();
    set_header("Content-Type", std::move(content_type));
}

std::size_t Response::body_size() const {
    if (pieces.empty()) return body.size();
    std::size_t n = 0;
    for (auto p : pieces) n += p.size();
    return n;
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 417: return "Expectation Failed";
        case 422: return "Unprocessable Entity";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
    }
}

namespace {

constexpr std::size_t kMaxRequestLine = 8192;  // as Go's and httplib's URI limits

bool is_token_char(char c) {
    if (c >= 'a' && c <= 'z') return true;
    if (c >= 'A' && c <= 'Z') return true;
    if (c >= '0' && c <= '9') return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += plus_is_space && s[i] == '+' ? ' ' : s[i];
    }
    return out;
}

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        out.emplace_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::string http_date() {
    char buf[64];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

// A refusal: a plain-text body that says why, as Go's server writes them.
void refuse(Response& res, int status, std::string_view why) {
    res = Response{};
    res.status = status;
    res.set_content(std::to_string(status) + " " + std::string(reason_phrase(status)) + ": " + std::string(why) + "\n",
                    "text/plain; charset=utf-8");
}

}  // namespace

// ---- Connection: one socket, plain or TLS, every call bounded by a deadline --------------

class Server::Connection {
public:
    Connection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
    ~Connection() {
        if (ssl_) SSL_free(ssl_);
    }

    bool handshake(Deadline deadline) {
        while (true) {
            ERR_clear_error();
            int rc = SSL_accept(ssl_);
            if (rc == 1) return true;
            if (!wait_for(SSL_get_error(ssl_, rc), deadline)) return false;
        }
    }

    // > 0: bytes read; 0: the peer closed; -1: the deadline passed; -2: an error.
    long read(char* buf, std::size_t size, Deadline deadline) {
        while (true) {
            if (ssl_) {
                ERR_clear_error();
                int n = SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
                if (n > 0) return n;
                int err = SSL_get_error(ssl_, n);
                if (err == SSL_ERROR_ZERO_RETURN) return 0;
                if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return -2;
                if (!wait_for(err, deadline)) return timed_out_ ? -1 : -2;
            } else {
                long n = ::recv(fd_, buf, size, 0);
                if (n >= 0) return n;
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) return -2;
                if (!wait_for(SSL_ERROR_WANT_READ, deadline)) return timed_out_ ? -1 : -2;
            }
        }
    }

    bool write_all(std::string_view data, Deadline deadline) {
        while (!data.empty()) {
            if (ssl_) {
                ERR_clear_error();
                int n = SSL_write(ssl_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20)));
                if (n > 0) {
                    data.remove_prefix(static_cast<std::size_t>(n));
                    continue;
                }
                int err = SSL_get_error(ssl_, n);
                if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) || !wait_for(err, deadline)) return false;
            } else {
                long n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
                if (n > 0) {
                    data.remove_prefix(static_cast<std::size_t>(n));
                    continue;
                }
                if (n < 0 && errno == EINTR) continue;
                if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
                if (!wait_for(SSL_ERROR_WANT_WRITE, deadline)) return false;
            }
        }
        return true;
    }

    void close_notify() {
        if (ssl_) {
            ERR_clear_error();
            SSL_shutdown(ssl_);  // best effort: the peer may be gone
        }
    }

private:
    // Waits until the socket can do what `ssl_error` asks (WANT_READ or WANT_WRITE);
    // false when the deadline passed (timed_out_ says so) or the socket failed.
    bool wait_for(int ssl_error, Deadline deadline) {
        timed_out_ = false;
        if (ssl_error != SSL_ERROR_WANT_READ && ssl_error != SSL_ERROR_WANT_WRITE) return false;
        pollfd p{fd_, static_cast<short>(ssl_error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
        while (true) {
            // Rounded up, so that a deadline less than a millisecond away is waited for.
            auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
            if (left <= 0) {
                timed_out_ = true;
                return false;
            }
            int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
            if (rc > 0) return true;  // ready, or hung up: the next call says which
            if (rc < 0 && errno != EINTR) return false;
        }
    }

    bool timed_out_ = false;

    int fd_;
    SSL* ssl_;
};

// ---- Server ---------------------------------------------------------------------------

Server::Server(Limits limits) : limits_(limits) {
    // A peer that hangs up mid-answer must not kill the process (TLS writes use write(2)).
    ::signal(SIGPIPE, SIG_IGN);
}

Server::~Server() { stop(); }

void Server::route(std::string method, std::string pattern, Handler handler) {
    if (acceptor_.joinable()) throw std::logic_error("route after start: " + pattern);
    if (pattern.empty() || pattern[0] != '/') throw std::invalid_argument("route pattern must start with /: " + pattern);
    auto segments = split_path(pattern);
    routes_.push_back({std::move(method), std::move(pattern), std::move(segments), std::move(handler)});
}

std::vector<Server::RouteInfo> Server::routes() const {
    std::vector<RouteInfo> out;
    for (const auto& r : routes_) out.push_back({r.method, r.pattern});
    return out;
}

void Server::set_extra_headers(std::vector<std::pair<std::string, std::string>> headers) {
    std::lock_guard lock(mu_);
    extra_headers_ = std::move(headers);
}

void Server::set_tls(std::shared_ptr<SSL_CTX> ctx) {
    std::lock_guard lock(mu_);
    tls_ = std::move(ctx);
}

void Server::start(const std::string& listen_address) {
    if (acceptor_.joinable()) throw std::logic_error("server already started");
    auto address = parse_host_port(listen_address);
    if (!address)
        throw std::invalid_argument("invalid listen address \"" + listen_address +
                                    "\": want host:port, :port or [ipv6]:port");
    // ":9464" means every interface: IPv6 and IPv4 on one socket when the host has IPv6.
    std::vector<std::string> hosts =
        address->host.empty() ? std::vector<std::string>{"::", "0.0.0.0"} : std::vector<std::string>{address->host};
    std::string last_error = "no address";
    for (const auto& host : hosts) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        addrinfo* found = nullptr;
        std::string port = std::to_string(address->port);
        if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
            last_error = gai_strerror(rc);
            continue;
        }
        for (addrinfo* ai = found; ai && listener_ < 0; ai = ai->ai_next) {
            int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
            if (fd < 0) {
                last_error = std::strerror(errno);
                continue;
            }
            // SO_REUSEADDR only: SO_REUSEPORT would let a second daemon share the port.
            int yes = 1, no = 0;
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
            if (ai->ai_family == AF_INET6 && host == "::") ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
            if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
                last_error = std::strerror(errno);
                ::close(fd);
                continue;
            }
            listener_ = fd;
        }
        ::freeaddrinfo(found);
        if (listener_ >= 0) break;
    }
    if (listener_ < 0) throw std::runtime_error("cannot listen on " + listen_address + ": " + last_error);
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
        ::close(listener_);
        listener_ = -1;
        throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
    }
    stopping_ = false;
    acceptor_ = std::thread([this] { accept_loop(); });
}

void Server::stop() {
    if (!acceptor_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        // Connections waiting for a request, or half-way through reading one, end now;
        // one whose handler runs answers first (serve() checks stopping_ before reading).
        for (int fd : open_) ::shutdown(fd, SHUT_RD);
    }
    char byte = 0;
    [[maybe_unused]] auto n = ::write(wake_[1], &byte, 1);
    acceptor_.join();
    std::unique_lock lock(mu_);
    drained_.wait(lock, [this] { return connections_ == 0; });
    ::close(listener_);
    ::close(wake_[0]);
    ::close(wake_[1]);
    listener_ = wake_[0] = wake_[1] = -1;
}

void Server::track(int fd, bool add) {
    std::lock_guard lock(mu_);
    if (add) open_.insert(fd);
    else open_.erase(fd);
}

void Server::accept_loop() {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    while (!stopping_) {
        int rc = ::poll(fds, 2, -1);
        if (rc < 0 && errno != EINTR) break;
        if (stopping_ || fds[1].revents) break;
        if (!(fds[0].revents & POLLIN)) continue;
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        int fd = ::accept4(listener_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            // Out of descriptors: the backlog keeps the client until one is free.
            if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
        }
        char host[INET6_ADDRSTRLEN] = "?";
        int peer_port = 0;
        if (peer.ss_family == AF_INET) {
            auto* in = reinterpret_cast<sockaddr_in*>(&peer);
            ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            peer_port = ntohs(in->sin_port);
        } else if (peer.ss_family == AF_INET6) {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&peer);
            ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            peer_port = ntohs(in6->sin6_port);
        }
        std::string remote = std::string(host) + ":" + std::to_string(peer_port);
        bool over = false;
        {
            std::lock_guard lock(mu_);
            over = connections_ >= limits_.max_connections;
            if (!over) {
                ++connections_;
                open_.insert(fd);
            }
        }
        if (over) {
            // Best effort and never blocking: the listener must not wait on this client.
            static constexpr std::string_view busy =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                "Content-Length: 33\r\nConnection: close\r\n\r\n503 Service Unavailable: too busy\n";
            [[maybe_unused]] auto sent = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            ::close(fd);
            if (observer_) {
                Request req;
                req.remote_address = remote;
                Response res;
                res.status = 503;
                observer_(req, "", res);
            }
            continue;
        }
        std::thread([this, fd, remote = std::move(remote)] {
            serve(fd, remote);
            track(fd, false);
            ::close(fd);
            std::lock_guard lock(mu_);
            --connections_;
            drained_.notify_all();
        }).detach();
    }
}

const Server::Route* Server::find_route(const Request& req, std::string& allowed,
                                        std::vector<std::string>& params) const {
    auto segments = split_path(req.path);
    const Route* found = nullptr;
    for (const auto& route : routes_) {
        if (route.segments.size() != segments.size()) continue;
        std::vector<std::string> captured;
        bool match = true;
        for (std::size_t i = 0; i < segments.size() && match; ++i) {
            const auto& want = route.segments[i];
            if (!want.empty() && want[0] == ':' && !segments[i].empty()) captured.push_back(segments[i]);
            else match = want == segments[i];
        }
        if (!match) continue;
        bool method_ok = route.method == req.method || (req.method == "HEAD" && route.method == "GET");
        if (method_ok && !found) {
            found = &route;
            params = std::move(captured);
        } else if (!method_ok && allowed.find(route.method) == std::string::npos) {
            if (!allowed.empty()) allowed += ", ";
            allowed += route.method;
        }
    }
    return found;
}

void Server::serve(int fd, std::string remote) {
    std::shared_ptr<SSL_CTX> ctx;
    {
        std::lock_guard lock(mu_);
        ctx = tls_;
    }
    SSL* ssl = nullptr;
    if (ctx) {
        ssl = SSL_new(ctx.get());
        if (!ssl) return;
        SSL_set_fd(ssl, fd);
        SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
    Connection conn(fd, ssl);
    if (stopping_) return;
    Deadline deadline = SteadyClock::now() + limits_.read_timeout;
    if (ssl && !conn.handshake(deadline)) {
        spdlog::debug("TLS handshake with {} failed: {}", remote, ERR_reason_error_string(ERR_peek_last_error())
                                                                     ? ERR_reason_error_string(ERR_peek_last_error())
                                                                     : "timeout or hang-up");
        return;
    }

    std::string buf;  // bytes read and not yet used: a pipelined next request starts here
    bool first = true;
    char chunk[16384];
    auto fill = [&](Deadline until) {  // reads more into buf; false on close, error or deadline
        long n = conn.read(chunk, sizeof chunk, until);
        if (n <= 0) return n;
        buf.append(chunk, static_cast<std::size_t>(n));
        return n;
    };

    while (!stopping_) {
        // The wait for a request's first byte is the idle timeout (the read timeout for a
        // new connection); from there the whole request must arrive within read_timeout.
        if (buf.empty()) {
            Deadline idle = first ? deadline : SteadyClock::now() + limits_.idle_timeout;
            if (fill(idle) <= 0) return;
        }
        first = false;
        deadline = SteadyClock::now() + limits_.read_timeout;
        Request req;
        req.remote_address = remote;
        Response res;
        bool close_after = false;
        std::string matched;

        auto answer = [&](const Response& r, bool head) {
            std::vector<std::pair<std::string, std::string>> extra;
            {
                std::lock_guard lock(mu_);
                extra = extra_headers_;
                if (stopping_) close_after = true;
            }
            std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason_phrase(r.status)) + "\r\n";
            out += "Date: " + http_date() + "\r\n";
            for (const auto& [k, v] : extra) out += k + ": " + v + "\r\n";
            for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
            out += "Content-Length: " + std::to_string(r.body_size()) + "\r\n";
            out += close_after ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
            Deadline until = SteadyClock::now() + limits_.write_timeout;
            bool ok = true;
            if (head) {
                ok = conn.write_all(out, until);
            } else if (r.pieces.empty()) {
                out += r.body;
                ok = conn.write_all(out, until);
            } else {
                ok = conn.write_all(out, until);
                for (auto piece : r.pieces) {
                    if (!ok) break;
                    ok = conn.write_all(piece, until);
                }
            }
            if (observer_) observer_(req, matched, r);
            if (!ok) close_after = true;
        };
        auto refuse_and_close = [&](int status, std::string_view why) {
            refuse(res, status, why);
            close_after = true;
            answer(res, false);
            // Closing with unread input would reset the connection, and the client could
            // lose the answer: half-close, then discard what it still sends, briefly.
            conn.close_notify();
            ::shutdown(fd, SHUT_WR);
            Deadline linger = SteadyClock::now() + std::chrono::milliseconds(500);
            std::size_t discarded = 0;
            while (discarded < (1u << 20)) {
                long n = conn.read(chunk, sizeof chunk, linger);
                if (n <= 0) break;
                discarded += static_cast<std::size_t>(n);
            }
        };

        // Request line and headers.
        std::size_t head_end = std::string::npos;
        while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
            auto line_end = buf.find("\r\n");
            std::size_t line_limit = std::min(kMaxRequestLine, limits_.max_header_bytes);
            if ((line_end == std::string::npos && buf.size() > line_limit) ||
                (line_end != std::string::npos && line_end > line_limit))
                return refuse_and_close(414, "request line too long");
            if (buf.size() > limits_.max_header_bytes) return refuse_and_close(431, "request headers too large");
            long n = fill(deadline);
            if (n == -1) return refuse_and_close(408, "request not received in time");
            if (n <= 0) return;
        }
        if (head_end > limits_.max_header_bytes) return refuse_and_close(431, "request headers too large");
        std::string_view head(buf.data(), head_end);
        std::size_t line_end = head.find("\r\n");
        std::string_view line = head.substr(0, line_end);
        if (line.size() > kMaxRequestLine) return refuse_and_close(414, "request line too long");
        {
            auto sp1 = line.find(' ');
            auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
            if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
                return refuse_and_close(400, "malformed request line");
            req.method = std::string(line.substr(0, sp1));
            req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
            std::string_view version = line.substr(sp2 + 1);
            if (!is_token(req.method)) return refuse_and_close(400, "malformed method");
            if (version != "HTTP/1.1" && version != "HTTP/1.0") {
                if (version.rfind("HTTP/", 0) == 0) return refuse_and_close(505, "only HTTP/1.0 and HTTP/1.1");
                return refuse_and_close(400, "malformed request line");
            }
            bool keep_alive = version == "HTTP/1.1";
            std::string_view rest = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
            while (!rest.empty()) {
                auto e = rest.find("\r\n");
                std::string_view h = rest.substr(0, e);
                rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e + 2);
                auto colon = h.find(':');
                if (colon == std::string_view::npos || !is_token(h.substr(0, colon)))
                    return refuse_and_close(400, "malformed header line");
                if (req.headers.size() >= limits_.max_header_count)
                    return refuse_and_close(431, "too many request headers");
                req.headers.emplace_back(to_lower(h.substr(0, colon)), std::string(trim(h.substr(colon + 1))));
            }
            auto connection = to_lower(req.header("Connection"));
            if (connection.find("close") != std::string::npos) keep_alive = false;
            else if (connection.find("keep-alive") != std::string::npos) keep_alive = true;
            close_after = !keep_alive;
        }
        buf.erase(0, head_end + 4);

        // Target: origin form, or absolute form (whose path we take).
        std::string_view target = req.target;
        if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
            auto slash = target.find('/', target.find("//") + 2);
            target = slash == std::string_view::npos ? "/" : target.substr(slash);
        }
        if (target.empty() || target[0] != '/') return refuse_and_close(400, "request target must be a path");
        auto qmark = target.find('?');
        req.path = percent_decode(target.substr(0, qmark), false);
        if (qmark != std::string_view::npos) {
            std::string_view q = target.substr(qmark + 1);
            while (!q.empty()) {
                auto amp = q.find('&');
                std::string_view pair = q.substr(0, amp);
                q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
                if (pair.empty()) continue;
                auto eq = pair.find('=');
                req.query.emplace_back(percent_decode(pair.substr(0, eq), true),
                                       eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true));
            }
        }

        // Framing of the body, checked before a byte of it is read.
        bool chunked = false;
        std::size_t length = 0;
        std::string_view te = req.header("Transfer-Encoding");
        bool has_length = req.has_header("Content-Length");
        if (!te.empty()) {
            if (has_length) return refuse_and_close(400, "both Transfer-Encoding and Content-Length");
            if (!iequals(trim(te), "chunked")) return refuse_and_close(501, "only chunked transfer coding");
            chunked = true;
        } else if (has_length) {
            std::string_view cl;
            for (const auto& [k, v] : req.headers) {
                if (k != "content-length") continue;
                if (!cl.empty() && cl != v) return refuse_and_close(400, "conflicting Content-Length headers");
                cl = v;
            }
            if (cl.empty() || cl.size() > 18 || !std::all_of(cl.begin(), cl.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return refuse_and_close(400, "malformed Content-Length");
            std::from_chars(cl.data(), cl.data() + cl.size(), length);
        }
        bool body_pending = chunked || length > 0;

        std::string allowed;
        const Route* route = find_route(req, allowed, req.path_params);
        if (route) matched = route->pattern;
        if (guard_ && !guard_(req, matched, res)) {
            if (body_pending) close_after = true;  // its body is never read
            answer(res, req.method == "HEAD");
            if (close_after) return;
            continue;
        }
        if (!route) {
            if (allowed.empty()) {
                refuse(res, 404, "no such page");
                res.body = "404 page not found\n";
            } else {
                refuse(res, 405, "use " + allowed);
                res.set_header("Allow", allowed);
            }
            if (body_pending) close_after = true;
            answer(res, req.method == "HEAD");
            if (close_after) return;
            continue;
        }
        if (length > limits_.max_body_bytes)
            return refuse_and_close(413, "body over " + std::to_string(limits_.max_body_bytes) + " bytes");
        std::string_view encoding = req.header("Content-Encoding");
        if (!encoding.empty() && !iequals(encoding, "identity") && !iequals(encoding, "gzip") &&
            !iequals(encoding, "x-gzip") && !iequals(encoding, "deflate") && !iequals(encoding, "br"))
            return refuse_and_close(415, "Content-Encoding must be gzip, deflate, br or identity");
        if (std::string_view expect = req.header("Expect"); !expect.empty()) {
            if (!iequals(expect, "100-continue")) return refuse_and_close(417, "only Expect: 100-continue");
            if (body_pending && !conn.write_all("HTTP/1.1 100 Continue\r\n\r\n", deadline)) return;
        }

        // The body, within the deadline and the limit.
        std::string raw;
        if (chunked) {
            while (true) {
                std::size_t eol;
                while ((eol = buf.find("\r\n")) == std::string::npos) {
                    if (buf.size() > 1024) return refuse_and_close(400, "malformed chunk size");
                    long n = fill(deadline);
                    if (n == -1) return refuse_and_close(408, "request body not received in time");
                    if (n <= 0) return;
                }
                std::string_view size_text(buf.data(), eol);
                size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
                size_text = trim(size_text);
                std::size_t size = 0;
                auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
                if (size_text.empty() || ec != std::errc{} || p != size_text.data() + size_text.size())
                    return refuse_and_close(ec == std::errc::result_out_of_range ? 413 : 400, "malformed chunk size");
                if (size > limits_.max_body_bytes || raw.size() + size > limits_.max_body_bytes)
                    return refuse_and_close(413, "body over " + std::to_string(limits_.max_body_bytes) + " bytes");
                buf.erase(0, eol + 2);
                if (size == 0) {
                    // Trailers, ignored, up to the blank line; bounded like headers.
                    std::size_t end;
                    while (!(buf.rfind("\r\n", 0) == 0) && (end = buf.find("\r\n\r\n")) == std::string::npos) {
                        if (buf.size() > limits_.max_header_bytes) return refuse_and_close(431, "trailers too large");
                        long n = fill(deadline);
                        if (n == -1) return refuse_and_close(408, "request body not received in time");
                        if (n <= 0) return;
                    }
                    if (buf.rfind("\r\n", 0) == 0) buf.erase(0, 2);
                    else buf.erase(0, buf.find("\r\n\r\n") + 4);
                    break;
                }
                while (buf.size() < size + 2) {
                    long n = fill(deadline);
                    if (n == -1) return refuse_and_close(408, "request body not received in time");
                    if (n <= 0) return;
                }
                if (buf.compare(size, 2, "\r\n") != 0) return refuse_and_close(400, "malformed chunk");
                raw.append(buf, 0, size);
                buf.erase(0, size + 2);
            }
        } else if (length > 0) {
            while (buf.size() < length) {
                long n = fill(deadline);
                if (n == -1) return refuse_and_close(408, "request body not received in time");
                if (n <= 0) return;
            }
            raw = buf.substr(0, length);
            buf.erase(0, length);
        }
        auto inflated = inflate_body(encoding, raw, limits_.max_body_bytes);
        switch (inflated.status) {
            case InflateStatus::ok: req.body = std::move(inflated.data); break;
            case InflateStatus::too_large:
                return refuse_and_close(413, "body over " + std::to_string(limits_.max_body_bytes) + " bytes once decoded");
            case InflateStatus::corrupt: return refuse_and_close(400, "body does not decode as its Content-Encoding");
            case InflateStatus::unsupported: return refuse_and_close(415, "unsupported Content-Encoding");
        }

        try {
            route->handler(req, res);
        } catch (const std::exception& e) {
            spdlog::error("HTTP handler {} failed: {}", route->pattern, e.what());
            res = Response{};
            res.status = 500;
            res.set_content("internal error\n", "text/plain; charset=utf-8");
        }
        answer(res, req.method == "HEAD");
        if (close_after) break;
    }
    conn.close_notify();
}

}  // namespace cargomon::web
