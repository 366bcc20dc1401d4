#pragma once
// Reading the file behind a signed download URL (runs/download, runs/download-outputs,
// a batch's or a segment's download). Such a URL carries its own authorization, like a
// presigned object-store URL: the API token is never sent with it, whatever its host.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cargo/options.h"
#include "common/inflate.h"

namespace cargomon::cargo {

// Receives the file chunk by chunk, as it arrives; what it throws ends the download.
using ChunkSink = std::function<void(std::string_view chunk)>;

// How the API documents a downloaded file: as it is, or gzipped (runs/download). It
// picks the cap on the bytes received: client.max_download_bytes for a file as it is,
// client.max_compressed_download_bytes for one documented as gzip (a Gunzip holds what
// comes out of any file to client.max_download_bytes).
enum class FileCoding { plain, gzip };

// GETs `url` (http or https only; redirects are not followed) and hands its body to
// `sink` without holding it in memory. `options` gives the connect timeout and, as the
// longest wait for the next bytes, its timeout; a download that keeps moving has no
// overall limit but its size: past its cap (see FileCoding; a declared Content-Length
// past it stops it before the body) it throws TooLargeError. A 2xx answer is the file;
// anything else throws the ApiError of errors.h with the answer's errorMessage and
// reason (e.g. urlExpired). Messages name the URL's host and path, never its query (the
// signature).
void fetch_signed_url(const std::string& url, const ClientOptions& options, const ChunkSink& sink,
                      FileCoding coding = FileCoding::plain);

// Inflates a gzip stream chunk by chunk (cargomon export passes every download through
// one), several members as one file. Bytes that do not start with the gzip magic pass through
// unchanged, so a file some proxy already decompressed is still right. Throws
// std::runtime_error on a corrupt or cut stream, TooLargeError once what comes out passes
// `options.downloads.max_bytes` (client.max_download_bytes).
class Gunzip {
public:
    Gunzip(ChunkSink sink, const ClientOptions& options);
    ~Gunzip();
    Gunzip(const Gunzip&) = delete;
    Gunzip& operator=(const Gunzip&) = delete;

    void write(std::string_view chunk);
    void finish();  // throws when the stream ended before its end

private:
    void check(InflateStatus status);  // throws unless ok

    ChunkSink sink_;
    std::uint64_t max_bytes_;
    std::unique_ptr<Inflater> inflater_;  // gzip, or identity for a file that is not
    std::string head_;  // the first bytes, until the magic can be told
};

}  // namespace cargomon::cargo
