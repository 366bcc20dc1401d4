#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cargo/errors.h"
#include "cargo/transport.h"
#include "common/http_client.h"
#include "common/inflate.h"
#include "common/text.h"

namespace cargomon::cargo {

namespace {

// An error answer's body is read up to this size: enough for {"errorMessage", "reason"}.
constexpr std::uint64_t kMaxErrorBody = 64 * 1024;

// NetworkError's kinds. A failed read or write is a timeout when the attempt used up its
// time (httplib reports both a reset and a read timeout as Read); a receiver that stopped
// the body (Canceled) did so at the deadline.
std::string failure_kind(httplib::Error error, bool late) {
    switch (error) {
    case httplib::Error::Connection:
        return late ? "timeout" : "connect";
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::Canceled:
        return "timeout";
    case httplib::Error::Read:
    case httplib::Error::Write:
        return late ? "timeout" : "closed";
    default:
        return "other";
    }
}

// An answer's body as it arrives: inflated here (httplib's own inflater has no cap) and
// counted, as received and as decoded, against client.max_compressed_answer_bytes and
// client.max_answer_bytes. Past either, reading stops: a 2xx answer is refused
// (TooLargeError); an error answer keeps its status and what of its body fit in
// kMaxErrorBody, which is all an errorMessage and a reason need.
class Body {
public:
    explicit Body(SizeLimits limits) : limits_(limits) {}

    // The status and headers are in: false stops before the body.
    bool start(const httplib::Response& head) {
        success_ = head.status >= 200 && head.status < 300;
        coding_ = head.get_header_value("Content-Encoding");
        if (!inflate_supported(coding_)) return stop(Stop::unreadable);
        const std::string coding = to_lower(trim(coding_));
        encoded_ = !coding.empty() && coding != "identity";
        // A declared length past a cap is refused before a byte of the body is read.
        if (success_ && head.has_header("Content-Length")) {
            const std::string text = head.get_header_value("Content-Length");
            std::uint64_t length = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
            if (ec == std::errc{} && end == text.data() + text.size()) {
                if (encoded_ && length > limits_.max_compressed_bytes) return stop(Stop::too_large_compressed);
                if (!encoded_ && length > limits_.max_bytes) return stop(Stop::too_large);
            }
        }
        inflater_ = std::make_unique<Inflater>(coding_, limits_.max_bytes, [this](std::string_view decoded) {
            // An error answer keeps its first kMaxErrorBody bytes (write() stops there).
            if (!success_) decoded = decoded.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, data_.size()));
            // Grown by hand so the buffer never reserves past the cap (append doubles).
            if (data_.size() + decoded.size() > data_.capacity())
                data_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(
                    limits_.max_bytes, std::max<std::uint64_t>(2 * data_.capacity(), data_.size() + decoded.size()))));
            data_.append(decoded);
        });
        return true;
    }

    bool write(std::string_view chunk) {
        received_ += chunk.size();
        if (encoded_ && received_ > limits_.max_compressed_bytes) return stop(Stop::too_large_compressed);
        switch (inflater_->write(chunk)) {
            case InflateStatus::ok: return success_ || data_.size() < kMaxErrorBody || stop(Stop::too_large);
            case InflateStatus::too_large: return stop(Stop::too_large);
            default: return stop(Stop::unreadable);
        }
    }

    // The whole body arrived: false when it stops before its compressed stream does.
    bool finish() { return !inflater_ || inflater_->finish() == InflateStatus::ok || stop(Stop::unreadable); }

    bool stopped() const { return stop_ != Stop::none; }
    bool success() const { return success_; }
    std::string take() { return std::move(data_); }

    [[noreturn]] void throw_refusal(const std::string& where, int status) const {
        const std::string answer = where + ": HTTP " + std::to_string(status) + " answer";
        switch (stop_) {
            case Stop::too_large:
                throw TooLargeError(answer + " over client.max_answer_bytes (" + format_byte_size(limits_.max_bytes) +
                                        (encoded_ ? " once decoded" : "") + "), not read further",
                                    status, "client.max_answer_bytes", limits_.max_bytes);
            case Stop::too_large_compressed:
                throw TooLargeError(answer + " over client.max_compressed_answer_bytes (" +
                                        format_byte_size(limits_.max_compressed_bytes) + " as received), not read further",
                                    status, "client.max_compressed_answer_bytes", limits_.max_compressed_bytes);
            default:
                throw ParseError(answer + ": its " + printable(coding_.empty() ? "identity" : coding_, 32) +
                                     " body cannot be decoded (unknown coding, corrupt or cut short)",
                                 status, "", "");
        }
    }

private:
    enum class Stop { none, too_large, too_large_compressed, unreadable };
    bool stop(Stop why) {
        stop_ = why;
        if (why == Stop::unreadable) data_.clear();  // an error answer keeps what fit, not an undecodable half
        return false;
    }

    SizeLimits limits_;
    bool success_ = false;
    bool encoded_ = false;
    std::string coding_;
    std::uint64_t received_ = 0;
    std::unique_ptr<Inflater> inflater_;
    std::string data_;
    Stop stop_ = Stop::none;
};

// httplib::Client serialises its requests, so concurrency needs one client (and one
// keep-alive connection) per request in flight; idle ones wait here to be reused.
class HttpTransport final : public Transport {
public:
    explicit HttpTransport(const ClientOptions& options)
        : origin_(split_base_url(options.base_url).origin),
          http_(http_client_config(options)),
          limits_(options.answers) {}

    Response send(const Request& request, Millis timeout) override {
        std::unique_ptr<httplib::Client> client = checkout();
        // httplib's read timeout bounds each read, not the answer: a body trickling a few
        // bytes at a time would keep a request going for ever. The receiver ends it once
        // the whole attempt has taken `timeout`.
        const auto started = std::chrono::steady_clock::now();
        const auto deadline = started + timeout;
        client->set_read_timeout(timeout);
        client->set_write_timeout(timeout);
        httplib::Request req;
        req.method = request.method;
        req.path = request.target;
        for (const auto& [key, value] : request.headers) req.headers.emplace(key, value);
        req.body = request.body;
        const std::string where = request.method + " " + request.target.substr(0, request.target.find('?'));

        Response response;
        Body body(limits_);
        req.response_handler = [&](const httplib::Response& head) {
            response.status = head.status;
            for (const auto& [key, value] : head.headers) response.headers.emplace_back(key, value);
            return body.start(head);
        };
        req.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            return body.write({data, size});
        };
        httplib::Result result = client->send(req);
        if (body.stopped()) {
            // Not read to its end: the connection is dropped with `client`.
            if (body.success()) body.throw_refusal(where, response.status);
            response.body = body.take();  // the status says it all; the body is what fit
            return response;
        }
        if (!result) {
            // The connection is in an unknown state: drop it rather than reuse it.
            const bool late = std::chrono::steady_clock::now() >= deadline;
            std::string kind = failure_kind(result.error(), late);
            std::string detail = kind == "timeout" ? ", timed out after " + std::to_string(timeout.count()) + "ms"
                                 : kind == "closed" ? ", connection closed before a whole answer"
                                                    : "";
            throw NetworkError(where + ": no answer (" + httplib::to_string(result.error()) + detail + ")",
                               std::move(kind));
        }
        if (!body.finish()) {
            // A compressed body cut short (a Content-Length that lies, say): whatever
            // follows on the connection cannot be trusted either.
            if (body.success()) body.throw_refusal(where, response.status);
            return response;
        }
        response.body = body.take();
        checkin(std::move(client));
        return response;
    }

private:
    std::unique_ptr<httplib::Client> checkout() {
        {
            std::lock_guard lock(mu_);
            if (!idle_.empty()) {
                auto client = std::move(idle_.back());
                idle_.pop_back();
                return client;
            }
        }
        // It does not inflate (Body does, within its caps) nor follow redirects.
        auto client = make_http_client(origin_, http_);
        client->set_keep_alive(true);
        return client;
    }

    void checkin(std::unique_ptr<httplib::Client> client) {
        std::lock_guard lock(mu_);
        idle_.push_back(std::move(client));
    }

    std::string origin_;
    HttpClientConfig http_;
    SizeLimits limits_;
    std::mutex mu_;
    std::vector<std::unique_ptr<httplib::Client>> idle_;
};

}  // namespace

std::unique_ptr<Transport> make_http_transport(const ClientOptions& options) {
    return std::make_unique<HttpTransport>(options);
}

}  // namespace cargomon::cargo
