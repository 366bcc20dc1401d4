#include "cargo/download.h"

#include <httplib.h>
#include <zlib.h>

#include <stdexcept>

#include "cargo/decode.h"
#include "cargo/errors.h"

namespace cargomon::cargo {
namespace {

// An error answer is read up to this size: enough for {"errorMessage", "reason"}.
constexpr std::size_t kMaxErrorBody = 64 * 1024;

struct SignedUrl {
    std::string origin;  // scheme://host[:port]
    std::string target;  // path and query
    std::string shown;   // origin and path: what messages may say
};

SignedUrl split(const std::string& url) {
    const std::size_t scheme_end = url.find("://");
    const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https")
        throw ParseError("the download URL the API gave is not http(s)", 200, "", "");
    const std::size_t path_start = url.find_first_of("/?#", scheme_end + 3);
    const std::string authority = url.substr(scheme_end + 3, path_start - scheme_end - 3);
    if (authority.empty() || authority.find_first_of("@ \r\n") != std::string::npos)
        throw ParseError("the download URL the API gave has no usable host", 200, "", "");
    std::string target = path_start == std::string::npos ? "/" : url.substr(path_start);
    if (target.find_first_of(" \r\n") != std::string::npos || target.front() == '#')
        throw ParseError("the download URL the API gave is malformed", 200, "", "");
    if (target.front() == '?') target.insert(0, "/");
    target = target.substr(0, target.find('#'));
    const std::string origin = url.substr(0, scheme_end + 3) + authority;
    return {origin, target, origin + target.substr(0, target.find('?'))};
}

}  // namespace

void fetch_signed_url(const std::string& url, const ClientOptions& options, const ChunkSink& sink) {
    const SignedUrl where = split(url);
    httplib::Client client(where.origin);
    client.set_connection_timeout(options.connect_timeout);
    client.set_read_timeout(options.timeout);
    client.set_follow_location(false);
    client.set_decompress(false);  // the file as stored: runs/download's gzip is inflated by the caller

    int status = 0;
    std::string error_body;
    std::exception_ptr failure;  // what the sink threw: httplib only sees "stop"
    httplib::Headers headers{{"user-agent", "cargomon/" CARGOMON_VERSION}};
    httplib::Result result = client.Get(
        where.target, headers,
        [&](const httplib::Response& response) {
            status = response.status;
            return true;
        },
        [&](const char* data, std::size_t size) {
            if (status < 200 || status >= 300) {
                error_body.append(data, std::min(size, kMaxErrorBody - std::min(kMaxErrorBody, error_body.size())));
                return true;
            }
            try {
                sink({data, size});
                return true;
            } catch (...) {
                failure = std::current_exception();
                return false;
            }
        });
    if (failure) std::rethrow_exception(failure);
    const std::string what = "GET " + where.shown;
    if (!result) throw NetworkError(what + ": the download stopped (" + httplib::to_string(result.error()) + ")");
    status = result->status;
    if (status >= 200 && status < 300) return;
    auto body = decode::error_body(error_body);
    std::string text = what + ": HTTP " + std::to_string(status);
    if (status >= 300 && status < 400) text += " (a redirect; not followed)";
    if (!body.error_message.empty()) text += ": " + body.error_message;
    if (!body.reason.empty()) text += " (reason " + body.reason + ")";
    if (status == 401) throw AuthorizationError(text, status, body.error_message, body.reason);
    if (status >= 400 && status < 500) throw RequestError(text, status, body.error_message, body.reason);
    throw ServerError(text, status, body.error_message, body.reason);
}

struct Gunzip::State {
    z_stream z{};
};

Gunzip::Gunzip(ChunkSink sink) : sink_(std::move(sink)) {}

Gunzip::~Gunzip() {
    if (state_) inflateEnd(&state_->z);
    delete state_;
}

void Gunzip::write(std::string_view chunk) {
    if (mode_ == Mode::unknown) {
        head_.append(chunk);
        if (head_.size() < 2) return;
        mode_ = static_cast<unsigned char>(head_[0]) == 0x1f && static_cast<unsigned char>(head_[1]) == 0x8b
                    ? Mode::gzip
                    : Mode::plain;
        if (mode_ == Mode::gzip) {
            state_ = new State;
            if (inflateInit2(&state_->z, 15 + 16) != Z_OK) throw std::runtime_error("gunzip: cannot start zlib");
        }
        std::string head = std::move(head_);
        head_.clear();
        return write(head);
    }
    if (mode_ == Mode::plain) return sink_(chunk);
    char out[64 * 1024];
    z_stream& z = state_->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    z.avail_in = static_cast<uInt>(chunk.size());
    do {
        if (ended_ && z.avail_in > 0) {  // another gzip member follows (concatenated files are one file)
            if (inflateReset(&z) != Z_OK) throw std::runtime_error("gunzip: cannot restart zlib");
            ended_ = false;
        }
        z.next_out = reinterpret_cast<Bytef*>(out);
        z.avail_out = sizeof out;
        const int rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            throw std::runtime_error(std::string("gunzip: the file is corrupt (") + (z.msg ? z.msg : "zlib error") + ")");
        if (const std::size_t n = sizeof out - z.avail_out; n > 0) sink_({out, n});
        if (rc == Z_STREAM_END) ended_ = true;
        if (rc == Z_BUF_ERROR) break;  // no progress possible: wait for more input
    } while (z.avail_in > 0 || z.avail_out == 0);  // input left, or output that did not fit
}

void Gunzip::finish() {
    if (mode_ == Mode::unknown && !head_.empty()) {
        mode_ = Mode::plain;
        sink_(head_);
        head_.clear();
    }
    if (mode_ == Mode::gzip && !ended_) throw std::runtime_error("gunzip: the file ends before its gzip stream does");
}

}  // namespace cargomon::cargo
