#include "cargo/download.h"

#include <httplib.h>

#include <charconv>
#include <stdexcept>

#include "cargo/decode.h"
#include "cargo/errors.h"
#include "common/http_client.h"
#include "common/text.h"

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

void fetch_signed_url(const std::string& url, const ClientOptions& options, const ChunkSink& sink, FileCoding coding) {
    const SignedUrl where = split(url);
    const std::string what = "GET " + where.shown;
    const bool gzip = coding == FileCoding::gzip;
    const std::uint64_t cap = gzip ? options.downloads.max_compressed_bytes : options.downloads.max_bytes;
    const char* setting = gzip ? "client.max_compressed_download_bytes" : "client.max_download_bytes";
    auto too_large = [&](int status) {
        return std::make_exception_ptr(TooLargeError(what + ": the file is over " + setting + " (" +
                                                         format_byte_size(cap) + "), not read further",
                                                     status, setting, cap));
    };

    // The file as stored (runs/download's gzip is inflated by the caller), no redirect
    // followed: make_http_client's clients do neither.
    std::unique_ptr<httplib::Client> client;
    try {
        client = make_http_client(where.origin, http_client_config(options));
    } catch (const std::invalid_argument&) {
        throw ParseError("the download URL the API gave has no usable host", 200, "", "");
    }

    int status = 0;
    std::uint64_t received = 0;
    std::string error_body;
    std::exception_ptr failure;  // what the sink threw, or the cap: httplib only sees "stop"
    httplib::Headers headers{{"user-agent", "cargomon/" CARGOMON_VERSION}};
    httplib::Result result = client->Get(
        where.target, headers,
        [&](const httplib::Response& response) {
            status = response.status;
            if (status < 200 || status >= 300 || !response.has_header("Content-Length")) return true;
            const std::string text = response.get_header_value("Content-Length");
            std::uint64_t length = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
            if (ec == std::errc{} && end == text.data() + text.size() && length > cap) {
                failure = too_large(status);
                return false;
            }
            return true;
        },
        [&](const char* data, std::size_t size) {
            if (status < 200 || status >= 300) {
                error_body.append(data, std::min(size, kMaxErrorBody - std::min(kMaxErrorBody, error_body.size())));
                return error_body.size() < kMaxErrorBody;
            }
            received += size;
            if (received > cap) {
                failure = too_large(status);
                return false;
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
    if (!result && error_body.size() < kMaxErrorBody)
        throw NetworkError(what + ": the download stopped (" + httplib::to_string(result.error()) + ")");
    if (result) status = result->status;
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

Gunzip::Gunzip(ChunkSink sink, const ClientOptions& options)
    : sink_(std::move(sink)), max_bytes_(options.downloads.max_bytes) {}

Gunzip::~Gunzip() = default;

void Gunzip::check(InflateStatus status) {
    switch (status) {
        case InflateStatus::ok:
            return;
        case InflateStatus::too_large:
            throw TooLargeError("gunzip: the file is over client.max_download_bytes (" + format_byte_size(max_bytes_) +
                                    ") once decompressed, not read further",
                                200, "client.max_download_bytes", max_bytes_);
        default:
            throw std::runtime_error("gunzip: the file is corrupt or ends before its gzip stream does");
    }
}

void Gunzip::write(std::string_view chunk) {
    if (!inflater_) {
        head_.append(chunk);
        if (head_.size() < 2) return;
        const bool gzip = static_cast<unsigned char>(head_[0]) == 0x1f && static_cast<unsigned char>(head_[1]) == 0x8b;
        inflater_ = std::make_unique<Inflater>(gzip ? "gzip" : "identity", max_bytes_, sink_);
        chunk = head_;
    }
    check(inflater_->write(chunk));
    head_.clear();
}

void Gunzip::finish() {
    if (!inflater_) {
        if (head_.empty()) return;
        inflater_ = std::make_unique<Inflater>("identity", max_bytes_, sink_);
        check(inflater_->write(head_));
        head_.clear();
    }
    check(inflater_->finish());
}

}  // namespace cargomon::cargo
