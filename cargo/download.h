#pragma once
// Reading the file behind a signed download URL (runs/download, runs/download-outputs,
// a batch's or a segment's download). Such a URL carries its own authorization, like a
// presigned object-store URL: the API token is never sent with it, whatever its host.
#include <functional>
#include <string>
#include <string_view>

#include "cargo/options.h"

namespace cargomon::cargo {

// Receives the file chunk by chunk, as it arrives; what it throws ends the download.
using ChunkSink = std::function<void(std::string_view chunk)>;

// GETs `url` (http or https only; redirects are not followed) and hands its body to
// `sink` without holding it in memory. `options` gives the connect timeout and, as the
// longest wait for the next bytes, its timeout; a download that keeps moving has no
// overall limit. A 2xx answer is the file; anything else throws the ApiError of
// errors.h with the answer's errorMessage and reason (e.g. urlExpired). Messages name
// the URL's host and path, never its query (the signature).
void fetch_signed_url(const std::string& url, const ClientOptions& options, const ChunkSink& sink);

// Inflates a gzip stream chunk by chunk (runs/download answers a gzipped CSV). Bytes that
// do not start with the gzip magic pass through unchanged, so a file some proxy already
// decompressed is still right. Throws std::runtime_error on a corrupt or cut stream.
class Gunzip {
public:
    explicit Gunzip(ChunkSink sink);
    ~Gunzip();
    Gunzip(const Gunzip&) = delete;
    Gunzip& operator=(const Gunzip&) = delete;

    void write(std::string_view chunk);
    void finish();  // throws when the stream ended before its end

private:
    struct State;
    ChunkSink sink_;
    State* state_ = nullptr;
    std::string head_;  // the first bytes, until the magic can be told
    enum class Mode { unknown, gzip, plain } mode_ = Mode::unknown;
    bool ended_ = false;
};

}  // namespace cargomon::cargo
