#include "sim/faults/faults.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <thread>

#include <spdlog/spdlog.h>

#include "sim/faults/request_stats.h"

namespace cargomon::sim {
namespace {

constexpr const char* kFieldNames =
    "latency, jitter, error_ratio, statuses, throttle_ratio, retry_after, truncate_ratio, "
    "malformed_ratio, reset_ratio, slow_ratio, slow_chunk, slow_interval";

[[noreturn]] void fail(std::string_view key, const std::string& why) {
    throw FaultSpecError(std::string(key) + ": " + why);
}

std::string quoted(std::string_view value) { return "\"" + std::string(value) + "\""; }

double parse_ratio(std::string_view key, std::string_view value) {
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(v)) {
        fail(key, quoted(value) + " is not a number");
    }
    if (v < 0 || v > 1) fail(key, quoted(value) + " is not a ratio in [0, 1]");
    return v;
}

int parse_int(std::string_view key, std::string_view value, int min, int max) {
    int v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size()) {
        fail(key, quoted(value) + " is not an integer");
    }
    if (v < min || v > max) {
        fail(key, quoted(value) + " is out of range [" + std::to_string(min) + ", " +
                      std::to_string(max) + "]");
    }
    return v;
}

Millis parse_dur(std::string_view key, std::string_view value) {
    std::string why;
    auto d = parse_duration(value, &why);
    if (!d) fail(key, quoted(value) + " is not a duration: " + why);
    return *d;
}

std::vector<int> parse_statuses(std::string_view key, std::string_view value) {
    std::vector<int> out;
    size_t pos = 0;
    while (true) {
        size_t bar = value.find('|', pos);
        std::string_view one = value.substr(pos, bar == std::string_view::npos ? bar : bar - pos);
        out.push_back(parse_int(key, one, 400, 599));
        if (bar == std::string_view::npos) return out;
        pos = bar + 1;
    }
}

double ratio_sum(const FaultSpec& s) {
    return s.error_ratio + s.throttle_ratio + s.truncate_ratio + s.malformed_ratio +
           s.reset_ratio + s.slow_ratio;
}

std::string numeric_host(const sockaddr_storage& addr, socklen_t len, int& port) {
    char host[NI_MAXHOST];
    char serv[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, serv,
                    sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        return "";
    }
    port = std::atoi(serv);
    return host;
}

// httplib 0.11 exposes no socket to handlers, so the request's socket is found among
// the process's descriptors by its two endpoints, the way httplib itself names them.
int find_socket(const httplib::Request& req) {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return -1;
    int found = -1;
    while (dirent* entry = readdir(dir)) {
        int fd = std::atoi(entry->d_name);
        if (fd <= 2 || fd == dirfd(dir)) continue;
        sockaddr_storage local{}, peer{};
        socklen_t local_len = sizeof local, peer_len = sizeof peer;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
            getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
            continue;
        }
        int local_port = -1, peer_port = -1;
        if (numeric_host(local, local_len, local_port) == req.local_addr &&
            local_port == req.local_port &&
            numeric_host(peer, peer_len, peer_port) == req.remote_addr &&
            peer_port == req.remote_port) {
            found = fd;
            break;
        }
    }
    closedir(dir);
    return found;
}

// Shutting the socket down (not closing it: httplib still owns the descriptor) makes
// the client read end-of-stream before any status line; lingering 0 turns httplib's
// later close into a reset.
void reset_socket(int fd) {
    linger no_linger{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
    shutdown(fd, SHUT_RDWR);
}

void replace_body(httplib::Response& res, int status, std::string body) {
    res.status = status;
    for (const char* h : {"Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding"}) {
        res.headers.erase(h);
    }
    res.body = std::move(body);
    res.set_header("Content-Type", "application/json");
    res.set_header("Content-Length", std::to_string(res.body.size()));
}

std::string error_body(const std::string& message, const std::string& reason) {
    return "{\"errorMessage\":\"" + message + "\",\"reason\":\"" + reason + "\"}";
}

void trickle(httplib::Response& res, int chunk_bytes, Millis interval) {
    auto body = std::make_shared<std::string>(std::move(res.body));
    res.body.clear();
    std::string content_type = res.get_header_value("Content-Type");
    res.headers.erase("Content-Type");
    res.headers.erase("Content-Length");
    res.set_content_provider(
        body->size(), content_type,
        [body, chunk_bytes, interval](size_t offset, size_t length, httplib::DataSink& sink) {
            std::this_thread::sleep_for(interval);
            size_t n = std::min(length, static_cast<size_t>(chunk_bytes));
            return sink.write(body->data() + offset, n);
        });
    // The length header is computed before post-routing handlers run.
    res.set_header("Content-Length", std::to_string(body->size()));
}

}  // namespace

void set_fault_field(FaultSpec& spec, std::string_view key, std::string_view value) {
    if (key == "latency") {
        spec.latency = parse_dur(key, value);
    } else if (key == "jitter") {
        spec.jitter = parse_dur(key, value);
    } else if (key == "error_ratio") {
        spec.error_ratio = parse_ratio(key, value);
    } else if (key == "statuses") {
        spec.statuses = parse_statuses(key, value);
    } else if (key == "throttle_ratio") {
        spec.throttle_ratio = parse_ratio(key, value);
    } else if (key == "retry_after") {
        // Whole seconds, as the header carries them: a bare integer is seconds (`3`), a
        // duration must come to whole seconds (`3s`, `2m`).
        const bool bare_seconds = !value.empty() && value.size() <= 9 &&
                                  value.find_first_not_of("0123456789") == std::string_view::npos;
        Millis d = bare_seconds ? Millis{std::stoll(std::string(value)) * 1000} : parse_dur(key, value);
        if (d.count() % 1000 != 0) fail(key, quoted(value) + " is not a whole number of seconds");
        spec.retry_after = d;
    } else if (key == "truncate_ratio") {
        spec.truncate_ratio = parse_ratio(key, value);
    } else if (key == "malformed_ratio") {
        spec.malformed_ratio = parse_ratio(key, value);
    } else if (key == "reset_ratio") {
        spec.reset_ratio = parse_ratio(key, value);
    } else if (key == "slow_ratio") {
        spec.slow_ratio = parse_ratio(key, value);
    } else if (key == "slow_chunk") {
        spec.slow_chunk_bytes = parse_int(key, value, 1, 1 << 20);
    } else if (key == "slow_interval") {
        spec.slow_interval = parse_dur(key, value);
    } else {
        throw FaultSpecError("unknown fault field " + quoted(key) + " (one of " + kFieldNames + ")");
    }
}

void validate(const FaultSpec& spec) {
    double sum = ratio_sum(spec);
    if (sum > 1 + 1e-9) {
        throw FaultSpecError("the ratios add up to " + std::to_string(sum) + ", more than 1");
    }
}

void validate_endpoint(std::string_view endpoint) {
    if (endpoint != "*" && !endpoint.starts_with("/v1/")) {
        throw FaultSpecError("endpoint " + quoted(endpoint) +
                             " is neither a /v1/ path nor \"*\" (every /v1 path)");
    }
}

std::pair<std::string, FaultSpec> parse_fault_flag(std::string_view text) {
    std::string endpoint;
    FaultSpec spec;
    try {
        size_t pos = 0;
        while (pos <= text.size()) {
            size_t comma = std::min(text.find(',', pos), text.size());
            std::string_view part = text.substr(pos, comma - pos);
            size_t eq = part.find('=');
            if (eq == std::string_view::npos) {
                throw FaultSpecError(quoted(part) + " is not key=value");
            }
            std::string_view key = part.substr(0, eq), value = part.substr(eq + 1);
            if (key == "endpoint") {
                validate_endpoint(value);
                endpoint = value;
            } else {
                set_fault_field(spec, key, value);
            }
            pos = comma + 1;
        }
        if (endpoint.empty()) throw FaultSpecError("missing endpoint=<path or *>");
        validate(spec);
    } catch (const FaultSpecError& e) {
        throw FaultSpecError("--fault " + quoted(text) + ": " + e.what());
    }
    return {endpoint, spec};
}

FaultInjector::FaultInjector(const Clock& clock, std::uint64_t seed) : clock_(clock), rng_(seed) {}

void FaultInjector::install(httplib::Server& server, Observer observer) {
    server.set_post_routing_handler(
        [this, observer](const httplib::Request& req, httplib::Response& res) {
            std::optional<int> reset = apply(req, res);
            if (observer) observer(req, res);
            if (reset) reset_socket(*reset);
        });
}

void FaultInjector::set(const std::string& endpoint, const FaultSpec& spec,
                        std::optional<SystemTime> until) {
    validate_endpoint(endpoint);
    validate(spec);
    std::lock_guard lock(mu_);
    entries_[endpoint] = {spec, until};
}

void FaultInjector::clear(const std::string& endpoint) {
    std::lock_guard lock(mu_);
    entries_.erase(endpoint);
}

void FaultInjector::clear_all() {
    std::lock_guard lock(mu_);
    entries_.clear();
}

std::map<std::string, FaultInjector::Entry> FaultInjector::snapshot() const {
    SystemTime now = clock_.now();
    std::lock_guard lock(mu_);
    std::map<std::string, Entry> out;
    for (const auto& [endpoint, entry] : entries_) {
        if (!entry.until || *entry.until > now) out.emplace(endpoint, entry);
    }
    return out;
}

std::optional<FaultInjector::Decision> FaultInjector::decide(const std::string& path) {
    SystemTime now = clock_.now();
    std::lock_guard lock(mu_);
    const Entry* entry = nullptr;
    for (const std::string& key : {path, endpoint_pattern(path), std::string("*")}) {
        auto it = entries_.find(key);
        if (it == entries_.end()) continue;
        if (it->second.until && *it->second.until <= now) {
            entries_.erase(it);
            continue;
        }
        entry = &it->second;
        break;
    }
    if (entry == nullptr) return std::nullopt;

    Decision d;
    d.spec = entry->spec;
    const FaultSpec& s = d.spec;
    d.delay = s.latency;
    if (s.jitter.count() > 0) {
        d.delay += Millis{std::uniform_int_distribution<long>(0, s.jitter.count())(rng_)};
    }
    double roll = std::uniform_real_distribution<double>(0, 1)(rng_);
    std::pair<double, Kind> ladder[] = {
        {s.reset_ratio, Kind::reset},         {s.error_ratio, Kind::error},
        {s.throttle_ratio, Kind::throttle},   {s.truncate_ratio, Kind::truncate},
        {s.malformed_ratio, Kind::malformed}, {s.slow_ratio, Kind::slow},
    };
    for (const auto& [ratio, kind] : ladder) {
        if (roll < ratio) {
            d.kind = kind;
            break;
        }
        roll -= ratio;
    }
    if (d.kind == Kind::error) {
        d.status = s.statuses[std::uniform_int_distribution<size_t>(0, s.statuses.size() - 1)(rng_)];
    }
    return d;
}

std::optional<int> FaultInjector::apply(const httplib::Request& req, httplib::Response& res) {
    if (!req.path.starts_with("/v1/")) return std::nullopt;
    auto d = decide(req.path);
    if (!d) return std::nullopt;
    if (d->delay.count() > 0) std::this_thread::sleep_for(d->delay);

    switch (d->kind) {
    case Kind::none:
        break;
    case Kind::error:
        replace_body(res, d->status,
                     error_body("Simulated server error " + std::to_string(d->status),
                                "simulatedServerError"));
        res.set_header(kFaultHeader, "error");
        break;
    case Kind::throttle:
        replace_body(res, 429, error_body("Too many requests", "rateLimited"));
        res.set_header("Retry-After", std::to_string(d->spec.retry_after.count() / 1000));
        res.set_header(kFaultHeader, "throttle");
        break;
    case Kind::truncate:
        // Bodies streamed by a content provider have nothing to cut and pass unchanged.
        if (res.body.empty()) break;
        replace_body(res, res.status, res.body.substr(0, std::max<size_t>(1, res.body.size() / 2)));
        res.set_header(kFaultHeader, "truncate");
        break;
    case Kind::malformed:
        replace_body(res, res.status, "{\"rows\": [{\"count\": 1,, }");
        res.set_header(kFaultHeader, "malformed");
        break;
    case Kind::slow:
        if (res.body.empty()) break;
        trickle(res, d->spec.slow_chunk_bytes, d->spec.slow_interval);
        res.set_header(kFaultHeader, "slow");
        break;
    case Kind::reset:
        if (int fd = find_socket(req); fd >= 0) {
            // The header never leaves the process; it tells the observer what happened.
            res.set_header(kFaultHeader, "reset");
            return fd;
        }
        spdlog::warn("fault injection: socket of {}:{} not found, answering 503 instead of a reset",
                     req.remote_addr, req.remote_port);
        replace_body(res, 503, error_body("Simulated connection reset", "simulatedServerError"));
        res.set_header(kFaultHeader, "error");
        break;
    }
    return std::nullopt;
}

}  // namespace cargomon::sim
