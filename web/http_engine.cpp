#include "web/http_engine.h"

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
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "common/net.h"
#include "common/text.h"
#include "common/inflate.h"
#include "web/request_parser.h"

namespace cargomon::web {

using SteadyClock = std::chrono::steady_clock;

namespace {

std::string http_date() {
    char buf[64];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

// The peer's address for logs ("ip:port") and the client the per-client limits count it
// against: an IPv4 address (IPv4-mapped IPv6 included), or an IPv6 /64.
void describe_peer(const sockaddr_storage& peer, std::string& remote, std::string& client) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    client = "?";
    if (peer.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        client = host;
    } else if (peer.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            char v4[INET_ADDRSTRLEN] = "?";
            ::inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], v4, sizeof v4);
            client = v4;
        } else {
            in6_addr prefix = in6->sin6_addr;
            std::memset(&prefix.s6_addr[8], 0, 8);
            char text[INET6_ADDRSTRLEN] = "?";
            ::inet_ntop(AF_INET6, &prefix, text, sizeof text);
            client = std::string(text) + "/64";
        }
    }
    remote = std::string(host) + ":" + std::to_string(port);
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

class HttpEngine::Connection {
public:
    Connection(int fd, SSL* ssl, std::uint64_t generation) : fd_(fd), ssl_(ssl), generation_(generation) {}
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

    // Reads more into buffer(): > 0 bytes read, else read()'s code.
    long fill(Deadline until) {
        long n = read(chunk_, sizeof chunk_, until);
        if (n > 0) buffer_.append(chunk_, static_cast<std::size_t>(n));
        return n;
    }
    // Bytes read and not yet used: a pipelined next request starts here.
    std::string& buffer() { return buffer_; }

    // Half-closes, then discards what the peer still sends, briefly: closing with unread
    // input would reset the connection, and the client could lose the answer.
    void linger() {
        close_notify();
        ::shutdown(fd_, SHUT_WR);
        Deadline until = SteadyClock::now() + std::chrono::milliseconds(500);
        std::size_t discarded = 0;
        while (discarded < (1u << 20)) {
            long n = read(chunk_, sizeof chunk_, until);
            if (n <= 0) break;
            discarded += static_cast<std::size_t>(n);
        }
    }

    int fd() const { return fd_; }
    std::uint64_t generation() const { return generation_; }

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
    std::uint64_t generation_;  // the TLS generation it was accepted under
    std::string buffer_;
    char chunk_[16384];
};

// ---- HttpEngine ---------------------------------------------------------------------------

HttpEngine::HttpEngine(Limits limits) : limits_(limits) {
    // A peer that hangs up mid-answer must not kill the process (TLS writes use write(2)).
    ::signal(SIGPIPE, SIG_IGN);
}

HttpEngine::~HttpEngine() { stop(); }

void HttpEngine::route(std::string method, std::string pattern, Handler handler) {
    if (acceptor_.joinable()) throw std::logic_error("route after start: " + pattern);
    std::vector<std::string> segments;
    if (pattern.empty() || pattern[0] != '/' || !split_path_segments(pattern, segments))
        throw std::invalid_argument("route pattern must be a path starting with /: " + pattern);
    routes_.push_back({std::move(method), std::move(pattern), std::move(segments), std::move(handler)});
}

std::vector<HttpEngine::RouteInfo> HttpEngine::routes() const {
    std::vector<RouteInfo> out;
    for (const auto& r : routes_) out.push_back({r.method, r.pattern});
    return out;
}

void HttpEngine::set_extra_headers(std::vector<std::pair<std::string, std::string>> headers) {
    std::lock_guard lock(mu_);
    extra_headers_ = std::move(headers);
}

void HttpEngine::set_tls(std::shared_ptr<SSL_CTX> ctx, std::string client_policy) {
    std::lock_guard lock(mu_);
    std::string policy = ctx ? "tls:" + client_policy : "plain";
    tls_ = std::move(ctx);
    if (policy == tls_policy_) return;
    tls_policy_ = std::move(policy);
    ++tls_generation_;
    // Those waiting end now; a busy one sees the new generation before its next request.
    for (auto& [fd, open] : open_) {
        if (open.waiting && !open.evicted) ::shutdown(fd, SHUT_RDWR);
    }
}

void HttpEngine::start(const std::string& listen_address) {
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

void HttpEngine::stop() {
    if (!acceptor_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        // Connections waiting for a request, or half-way through reading one, end now;
        // one whose handler runs answers first (serve() checks stopping_ before reading).
        for (const auto& [fd, open] : open_) ::shutdown(fd, SHUT_RD);
    }
    char byte = 0;
    [[maybe_unused]] auto n = ::write(wake_[1], &byte, 1);
    acceptor_.join();
    std::unique_lock lock(mu_);
    drained_.wait(lock, [this] { return threads_ == 0; });
    ::close(listener_);
    ::close(wake_[0]);
    ::close(wake_[1]);
    listener_ = wake_[0] = wake_[1] = -1;
}

bool HttpEngine::evict_waiting(const std::string& among) {
    auto victim = open_.end();
    for (auto it = open_.begin(); it != open_.end(); ++it) {
        const Open& o = it->second;
        if (!o.waiting || o.evicted || (!among.empty() && o.client != among)) continue;
        if (victim == open_.end() || o.waiting_since < victim->second.waiting_since) victim = it;
    }
    if (victim == open_.end()) return false;
    // Closing a kept-alive connection between requests is what HTTP allows any server to
    // do at any time; clients retry on a fresh one.
    ::shutdown(victim->first, SHUT_RDWR);
    victim->second.evicted = true;
    --counted_;
    if (--per_client_[victim->second.client] == 0) per_client_.erase(victim->second.client);
    return true;
}

bool HttpEngine::set_waiting(int fd, bool waiting) {
    std::lock_guard lock(mu_);
    auto it = open_.find(fd);
    if (it == open_.end() || it->second.evicted || stopping_ || it->second.generation != tls_generation_) return false;
    it->second.waiting = waiting;
    if (waiting) it->second.waiting_since = SteadyClock::now();
    return true;
}

void HttpEngine::accept_loop() {
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
        std::string remote, client;
        describe_peer(peer, remote, client);
        std::string_view refusal;
        std::uint64_t generation = 0;
        {
            std::lock_guard lock(mu_);
            // A client at its own cap makes room among its own connections only, so that
            // it can never close another client's.
            auto mine = per_client_.find(client);
            if (mine != per_client_.end() && mine->second >= limits_.max_connections_per_client &&
                !evict_waiting(client))
                refusal = "too many connections from your address";
            else if (counted_ >= limits_.max_connections && !evict_waiting(""))
                refusal = "too busy";
            if (refusal.empty()) {
                ++counted_;
                ++threads_;
                ++per_client_[client];
                generation = tls_generation_;
                open_[fd] = Open{.client = client, .generation = generation};
            }
        }
        if (!refusal.empty()) {
            // Best effort and never blocking: the listener must not wait on this client.
            const std::string body = "503 Service Unavailable: " + std::string(refusal) + "\n";
            const std::string busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                     "Content-Length: " + std::to_string(body.size()) +
                                     "\r\nConnection: close\r\n\r\n" + body;
            [[maybe_unused]] auto sent = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            ::close(fd);
            if (observer_) {
                Request req;
                req.remote_address = remote;
                req.client = client;
                Response res;
                res.status = 503;
                observer_(req, "", res);
            }
            continue;
        }
        std::thread([this, fd, remote = std::move(remote), client = std::move(client), generation]() mutable {
            serve(fd, std::move(remote), std::move(client), generation);
            std::lock_guard lock(mu_);
            auto it = open_.find(fd);
            if (!it->second.evicted) {
                --counted_;
                if (--per_client_[it->second.client] == 0) per_client_.erase(it->second.client);
            }
            open_.erase(it);
            ::close(fd);  // under mu_: no shutdown() can reach a reused descriptor
            --threads_;
            drained_.notify_all();
        }).detach();
    }
}

const HttpEngine::Route* HttpEngine::find_route(const Request& req, std::string& allowed,
                                        std::vector<std::string>& params) const {
    const auto& segments = req.path_segments;
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

void HttpEngine::serve(int fd, std::string remote, std::string client, std::uint64_t generation) {
    // The handshake and the first request share one read deadline, from the accept.
    const Deadline first_deadline = SteadyClock::now() + limits_.read_timeout;
    auto conn = open_connection(fd, generation, remote, first_deadline);
    if (!conn) return;
    for (bool first = true; !stopping_; first = false) {
        Next next = await_request(*conn, first, first_deadline);
        if (next == Next::step) next = serve_request(*conn, remote, client);
        if (next == Next::request) continue;
        if (next == Next::drop) return;
        break;
    }
    conn->close_notify();
}

std::unique_ptr<HttpEngine::Connection> HttpEngine::open_connection(int fd, std::uint64_t generation,
                                                                   const std::string& remote, Deadline deadline) {
    std::shared_ptr<SSL_CTX> ctx;
    {
        std::lock_guard lock(mu_);
        // A context replaced since the accept would admit this client under the old trust.
        if (generation != tls_generation_) return nullptr;
        ctx = tls_;
    }
    SSL* ssl = nullptr;
    if (ctx) {
        ssl = SSL_new(ctx.get());
        if (!ssl) return nullptr;
        SSL_set_fd(ssl, fd);
        SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }
    auto conn = std::make_unique<Connection>(fd, ssl, generation);
    if (stopping_) return nullptr;
    if (ssl && !conn->handshake(deadline)) {
        spdlog::debug("TLS handshake with {} failed: {}", remote, ERR_reason_error_string(ERR_peek_last_error())
                                                                     ? ERR_reason_error_string(ERR_peek_last_error())
                                                                     : "timeout or hang-up");
        return nullptr;
    }
    return conn;
}

HttpEngine::Next HttpEngine::await_request(Connection& conn, bool first, Deadline first_deadline) {
    // The wait for a request's first byte is the idle timeout (the read timeout for a new
    // connection); from there the whole request must arrive within read_timeout. Between
    // requests the connection is "waiting": the first to go when the caps are reached, and
    // ended when the TLS client policy changes.
    if (!conn.buffer().empty()) return first || set_waiting(conn.fd(), false) ? Next::step : Next::close;
    if (!first && !set_waiting(conn.fd(), true)) return Next::close;
    long n = conn.fill(first ? first_deadline : SteadyClock::now() + limits_.idle_timeout);
    if (!first && !set_waiting(conn.fd(), false)) return Next::close;
    return n > 0 ? Next::step : Next::drop;
}

HttpEngine::Next HttpEngine::serve_request(Connection& conn, const std::string& remote, const std::string& client) {
    const Deadline deadline = SteadyClock::now() + limits_.read_timeout;
    Exchange ex;
    ex.req.remote_address = remote;
    ex.req.client = client;
    Framing framing;
    const Route* found = nullptr;
    Next next = read_head(conn, ex, deadline, framing);
    if (next == Next::step) next = route_and_guard(conn, ex, framing, found);
    if (next == Next::step) next = admit_body(conn, ex, framing, deadline);
    if (next == Next::step) next = read_body(conn, ex, framing, deadline);
    if (next != Next::step) return next;
    handle(*found, ex);
    answer(conn, ex, ex.res, ex.req.method == "HEAD");
    return ex.close_after ? Next::close : Next::request;
}

// The request line and headers (web/request_parser.h).
HttpEngine::Next HttpEngine::read_head(Connection& conn, Exchange& ex, Deadline deadline, Framing& framing) {
    HeadResult head;
    std::size_t scanned = 0;
    while ((head = parse_request_head(conn.buffer(), limits_, ex.req, scanned)).state ==
           HeadResult::State::incomplete) {
        long n = conn.fill(deadline);
        if (n == -1) return refuse_and_close(conn, ex, 408, "request not received in time");
        if (n <= 0) return Next::drop;
    }
    if (head.state == HeadResult::State::refused) return refuse_and_close(conn, ex, head.status, head.why);
    conn.buffer().erase(0, head.consumed);
    ex.close_after = !head.keep_alive;
    framing = head.framing;
    // A GET or HEAD has no use for a body (RFC 9110 9.3.1): refused before a byte of it
    // is read, so stalled bodies cannot pile up in memory.
    if ((ex.req.method == "GET" || ex.req.method == "HEAD") && framing.has_body())
        return refuse_and_close(conn, ex, 400, ex.req.method + " requests take no body");
    return Next::step;
}

// The route, and the guard's verdict; a refusal or a miss is answered with the body, if
// any, left unread (the connection then closes).
HttpEngine::Next HttpEngine::route_and_guard(Connection& conn, Exchange& ex, const Framing& framing,
                                             const Route*& found) {
    std::string allowed;
    found = find_route(ex.req, allowed, ex.req.path_params);
    if (found) ex.matched = found->pattern;
    const bool refused = guard_ && !guard_(ex.req, ex.matched, ex.res);
    if (!refused && found) return Next::step;
    if (!refused && allowed.empty()) {
        refuse(ex.res, 404, "no such page");
        ex.res.body = "404 page not found\n";
    } else if (!refused) {
        refuse(ex.res, 405, "use " + allowed);
        ex.res.set_header("Allow", allowed);
    }
    if (framing.has_body()) ex.close_after = true;  // its body is never read
    answer(conn, ex, ex.res, ex.req.method == "HEAD");
    return ex.close_after ? Next::drop : Next::request;
}

// What the headers say of the body, before a byte of it is read: its size, its encoding,
// and Expect: 100-continue.
HttpEngine::Next HttpEngine::admit_body(Connection& conn, Exchange& ex, const Framing& framing, Deadline deadline) {
    if (framing.length > limits_.max_body_bytes)
        return refuse_and_close(conn, ex, 413, "body over " + std::to_string(limits_.max_body_bytes) + " bytes");
    std::string_view encoding = ex.req.header("Content-Encoding");
    if (!encoding.empty() && !iequals(encoding, "identity") && !iequals(encoding, "gzip") &&
        !iequals(encoding, "x-gzip") && !iequals(encoding, "deflate") && !iequals(encoding, "br"))
        return refuse_and_close(conn, ex, 415, "Content-Encoding must be gzip, deflate, br or identity");
    if (std::string_view expect = ex.req.header("Expect"); !expect.empty()) {
        if (!iequals(expect, "100-continue")) return refuse_and_close(conn, ex, 417, "only Expect: 100-continue");
        if (framing.has_body() && !conn.write_all("HTTP/1.1 100 Continue\r\n\r\n", deadline)) return Next::drop;
    }
    return Next::step;
}

// The body, within the deadline and the limit, then its Content-Encoding undone (bounded
// again: a small body may inflate to a huge one).
HttpEngine::Next HttpEngine::read_body(Connection& conn, Exchange& ex, const Framing& framing, Deadline deadline) {
    std::string& buf = conn.buffer();
    std::string raw;
    if (framing.chunked) {
        while (true) {
            ChunkStep step = decode_chunk(buf, raw.size(), limits_.max_body_bytes, limits_.max_header_bytes);
            if (step.state == ChunkStep::State::refused) return refuse_and_close(conn, ex, step.status, step.why);
            if (step.state == ChunkStep::State::incomplete) {
                long n = conn.fill(deadline);
                if (n == -1) return refuse_and_close(conn, ex, 408, "request body not received in time");
                if (n <= 0) return Next::drop;
                continue;
            }
            raw.append(step.data);
            buf.erase(0, step.consumed);
            if (step.state == ChunkStep::State::end) break;
        }
    } else if (framing.length > 0) {
        while (buf.size() < framing.length) {
            long n = conn.fill(deadline);
            if (n == -1) return refuse_and_close(conn, ex, 408, "request body not received in time");
            if (n <= 0) return Next::drop;
        }
        raw = buf.substr(0, framing.length);
        buf.erase(0, framing.length);
    }
    auto inflated = inflate_body(ex.req.header("Content-Encoding"), raw, limits_.max_body_bytes);
    switch (inflated.status) {
        case InflateStatus::ok: ex.req.body = std::move(inflated.data); return Next::step;
        case InflateStatus::too_large:
            return refuse_and_close(conn, ex, 413,
                                    "body over " + std::to_string(limits_.max_body_bytes) + " bytes once decoded");
        case InflateStatus::corrupt:
            return refuse_and_close(conn, ex, 400, "body does not decode as its Content-Encoding");
        case InflateStatus::unsupported: return refuse_and_close(conn, ex, 415, "unsupported Content-Encoding");
    }
    return Next::step;
}

void HttpEngine::handle(const Route& route, Exchange& ex) {
    try {
        route.handler(ex.req, ex.res);
    } catch (const std::exception& e) {
        spdlog::error("HTTP handler {} failed: {}", route.pattern, e.what());
        ex.res = Response{};
        ex.res.status = 500;
        ex.res.set_content("internal error\n", "text/plain; charset=utf-8");
    }
}

void HttpEngine::answer(Connection& conn, Exchange& ex, const Response& r, bool head) {
    std::vector<std::pair<std::string, std::string>> extra;
    {
        std::lock_guard lock(mu_);
        extra = extra_headers_;
        if (stopping_ || conn.generation() != tls_generation_) ex.close_after = true;
    }
    if (r.close_connection) ex.close_after = true;
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason_phrase(r.status)) + "\r\n";
    out += "Date: " + http_date() + "\r\n";
    for (const auto& [k, v] : extra) out += k + ": " + v + "\r\n";
    for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
    out += "Content-Length: " + std::to_string(r.body_size()) + "\r\n";
    out += ex.close_after ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n";
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
    if (observer_) observer_(ex.req, ex.matched, r);
    if (!ok) ex.close_after = true;
}

// What the client still sends (a body we refused) is discarded as it comes, never
// buffered.
HttpEngine::Next HttpEngine::refuse_and_close(Connection& conn, Exchange& ex, int status, std::string_view why) {
    refuse(ex.res, status, why);
    ex.close_after = true;
    answer(conn, ex, ex.res, false);
    conn.linger();
    return Next::drop;
}

}  // namespace cargomon::web
