#pragma once
// Undoing a Content-Encoding without letting a small body grow into a large allocation:
// output is bounded, so a "zip bomb" costs at most `limit` bytes of memory (or disk).
// One decoder for both directions: the server's request bodies (whole) and the Cargo
// client's answers and downloads (streamed, as the bytes arrive).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace cargomon {

enum class InflateStatus { ok, too_large, corrupt, unsupported };

// True for the codings Inflater undoes: "", "identity", "gzip", "x-gzip", "deflate",
// "br" (case-insensitive, spaces around ignored). A list of codings is not one of them.
bool inflate_supported(std::string_view encoding);

// A body decoded as it arrives. write() hands what it decodes to the sink and stops at
// the first problem: past `limit` decoded bytes (too_large: the sink got none of the
// chunk that passed it), a stream zlib or brotli cannot read (corrupt), bytes after the
// end of a deflate or brotli stream (corrupt). A gzip body may hold several members
// (concatenated files are one file, as gunzip reads them). After a status other than ok
// every call answers that status. What the sink throws goes through to the caller.
class Inflater {
public:
    using Sink = std::function<void(std::string_view decoded)>;
    // Throws std::invalid_argument when !inflate_supported(encoding).
    Inflater(std::string_view encoding, std::uint64_t limit, Sink sink);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    InflateStatus write(std::string_view encoded);
    // corrupt when the stream stopped before its end (a cut body).
    InflateStatus finish();
    std::uint64_t decoded_bytes() const { return produced_; }

private:
    struct Zlib;
    struct Brotli;
    InflateStatus emit(const char* data, std::size_t size);
    InflateStatus fail(InflateStatus status) { return status_ = status; }

    enum class Kind { identity, zlib, brotli } kind_;
    std::uint64_t limit_;
    Sink sink_;
    std::uint64_t produced_ = 0;
    InflateStatus status_ = InflateStatus::ok;
    std::unique_ptr<Zlib> zlib_;
    std::unique_ptr<Brotli> brotli_;
};

struct Inflated {
    InflateStatus status = InflateStatus::ok;
    std::string data;  // the decoded body when ok
};

// A whole body: `encoding` as for Inflater (anything else is unsupported). Stops and
// answers too_large as soon as the output would pass `limit`.
Inflated inflate_body(std::string_view encoding, std::string_view body, std::size_t limit);

}  // namespace cargomon
