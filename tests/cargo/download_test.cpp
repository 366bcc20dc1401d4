// Reading a signed download URL (cargo/download.h) from a real HTTP server on loopback:
// streamed to the sink, no token sent, errors with the answer's reason and without the
// signature, cut off at its size cap; and the gzip stream of runs/download inflated chunk
// by chunk, cut off at the cap on what comes out.
#include "cargo/download.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>
#include <string>
#include <thread>

#include "cargo/errors.h"
#include "common/net.h"
#include "tests/support/gzip.h"

namespace cargomon::cargo {
namespace {

using testing::gzip;

// A file server standing in for an object store: /file streams 1 MiB in 64 KiB chunks.
class FileServer {
public:
    FileServer() : port_(free_loopback_port()) {
        server_.Get("/file", [this](const httplib::Request& req, httplib::Response& res) {
            {
                std::lock_guard lock(mu_);
                authorization_ = req.get_header_value("authorization");
            }
            res.set_chunked_content_provider("text/csv", [](std::size_t offset, httplib::DataSink& sink) {
                if (offset >= (1u << 20)) {
                    sink.done();
                    return true;
                }
                const std::string chunk(64 * 1024, static_cast<char>('a' + offset / (64 * 1024) % 26));
                return sink.write(chunk.data(), chunk.size());
            });
        });
        // Declares 8 GiB and would produce them, slowly: only the header may be read.
        server_.Get("/huge", [](const httplib::Request&, httplib::Response& res) {
            res.set_content_provider(std::uint64_t{8} << 30, "text/csv",
                                     [](std::size_t, std::size_t, httplib::DataSink& sink) {
                                         const std::string chunk(64 * 1024, 'h');
                                         return sink.write(chunk.data(), chunk.size());
                                     });
        });
        server_.Get("/expired", [](const httplib::Request&, httplib::Response& res) {
            res.status = 403;
            res.set_content(R"({"errorMessage":"this download URL has expired","reason":"urlExpired"})", "application/json");
        });
        server_.Get("/moved", [this](const httplib::Request&, httplib::Response& res) {
            res.set_redirect(url("/file"));
        });
        // Bound (and listening) before the thread serves: no request can race the start.
        if (!server_.bind_to_port("127.0.0.1", port_)) throw std::runtime_error("cannot listen");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    ~FileServer() {
        server_.stop();
        thread_.join();
    }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    std::string authorization() const {
        std::lock_guard lock(mu_);
        return authorization_;
    }

private:
    int port_;
    httplib::Server server_;
    std::thread thread_;
    mutable std::mutex mu_;
    std::string authorization_ = "(no request)";
};

ClientOptions options() {
    ClientOptions o;
    o.token = "secret-token-0123";
    o.timeout = Millis{5000};
    o.connect_timeout = Millis{2000};
    return o;
}

TEST(SignedUrl, StreamsTheFileInChunksWithoutTheToken) {
    FileServer server;
    std::size_t bytes = 0, chunks = 0;
    fetch_signed_url(server.url("/file?expires=1&signature=abc"), options(), [&](std::string_view chunk) {
        bytes += chunk.size();
        ++chunks;
    });
    EXPECT_EQ(bytes, 1u << 20);
    EXPECT_GT(chunks, 1u) << "handed over as it arrives, not as one buffer";
    EXPECT_EQ(server.authorization(), "") << "a signed URL carries its own authorization";
}

TEST(SignedUrl, AnErrorAnswerSaysItsReasonAndNotTheSignature) {
    FileServer server;
    try {
        fetch_signed_url(server.url("/expired?expires=1&signature=s3cr3t"), options(), [](std::string_view) {
            ADD_FAILURE() << "an error body is not the file";
        });
        FAIL() << "no error";
    } catch (const RequestError& e) {
        EXPECT_EQ(e.status(), 403);
        EXPECT_EQ(e.reason(), "urlExpired");
        EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("/expired"), std::string::npos) << e.what();
    }
}

TEST(SignedUrl, RedirectsAndOtherSchemesAreRefused) {
    FileServer server;
    std::size_t bytes = 0;
    EXPECT_THROW(fetch_signed_url(server.url("/moved"), options(), [&](std::string_view c) { bytes += c.size(); }),
                 ApiError);
    EXPECT_EQ(bytes, 0u);
    EXPECT_THROW(fetch_signed_url("file:///etc/passwd", options(), [](std::string_view) {}), ParseError);
    EXPECT_THROW(fetch_signed_url("http://user@127.0.0.1/x", options(), [](std::string_view) {}), ParseError);
}

TEST(SignedUrl, WhatTheSinkThrowsStopsTheDownload) {
    FileServer server;
    std::size_t calls = 0;
    EXPECT_THROW(fetch_signed_url(server.url("/file"), options(),
                                  [&](std::string_view) {
                                      ++calls;
                                      throw std::runtime_error("disk full");
                                  }),
                 std::runtime_error);
    EXPECT_EQ(calls, 1u);
}

TEST(Gunzip, InflatesAByteAtATimeAndConcatenatedMembers) {
    const std::string a = "uuid,status\n" + std::string(100'000, 'x') + "\n", b = "second,member\n";
    const std::string packed = gzip(a) + gzip(b);
    std::string out;
    Gunzip gunzip([&](std::string_view chunk) { out.append(chunk); }, options());
    for (char c : packed) gunzip.write(std::string_view(&c, 1));
    gunzip.finish();
    EXPECT_EQ(out, a + b);
}

TEST(Gunzip, PlainTextPassesThroughAndACutStreamIsAnError) {
    std::string out;
    Gunzip plain([&](std::string_view chunk) { out.append(chunk); }, options());
    plain.write("uuid,status\n");
    plain.finish();
    EXPECT_EQ(out, "uuid,status\n");

    const std::string packed = gzip(std::string(50'000, 'y'));
    Gunzip cut([](std::string_view) {}, options());
    cut.write(std::string_view(packed).substr(0, packed.size() / 2));
    EXPECT_THROW(cut.finish(), std::runtime_error);

    Gunzip corrupt([](std::string_view) {}, options());
    EXPECT_THROW(corrupt.write(std::string("\x1f\x8b\x08\x00garbage-garbage-garbage", 28)), std::runtime_error);
}

// /file streams 1 MiB without a Content-Length: the cap stops it as the bytes arrive.
TEST(SignedUrl, AFileOverItsCapIsCutOffWhileItArrives) {
    FileServer server;
    ClientOptions o = options();
    o.downloads = {.max_bytes = 256 * 1024, .max_compressed_bytes = kGiB};
    std::size_t bytes = 0;
    try {
        fetch_signed_url(server.url("/file?signature=s3cr3t"), o, [&](std::string_view c) { bytes += c.size(); });
        FAIL() << "the whole file was read";
    } catch (const TooLargeError& e) {
        EXPECT_EQ(e.setting(), "client.max_download_bytes");
        EXPECT_EQ(e.limit(), 256u * 1024);
        EXPECT_NE(std::string(e.what()).find("/file: the file is over client.max_download_bytes (256KiB)"),
                  std::string::npos)
            << e.what();
        EXPECT_EQ(std::string(e.what()).find("s3cr3t"), std::string::npos) << e.what();
    }
    EXPECT_LE(bytes, 256u * 1024) << "the sink got bytes past the cap";

    // runs/download's gzip counts what arrives against the compressed cap instead.
    o.downloads = {.max_bytes = kGiB, .max_compressed_bytes = 128 * 1024};
    try {
        fetch_signed_url(server.url("/file"), o, [](std::string_view) {}, FileCoding::gzip);
        FAIL() << "the whole file was read";
    } catch (const TooLargeError& e) {
        EXPECT_EQ(e.setting(), "client.max_compressed_download_bytes");
    }
}

TEST(SignedUrl, ADeclaredLengthOverTheCapIsRefusedBeforeTheBody) {
    FileServer server;
    std::size_t bytes = 0;
    EXPECT_THROW(fetch_signed_url(server.url("/huge"), options(), [&](std::string_view c) { bytes += c.size(); }),
                 TooLargeError);
    EXPECT_EQ(bytes, 0u);
}

// 64 MiB of zeros in 64 KB of gzip, against a 1 MiB cap on what comes out.
TEST(Gunzip, ABombStopsAtMaxDownloadBytes) {
    ClientOptions o = options();
    o.downloads.max_bytes = kMiB;
    const std::string bomb = testing::gzip_bomb(64 * kMiB);
    std::uint64_t out = 0;
    Gunzip gunzip([&](std::string_view chunk) { out += chunk.size(); }, o);
    try {
        for (std::size_t at = 0; at < bomb.size(); at += 4096) gunzip.write(std::string_view(bomb).substr(at, 4096));
        gunzip.finish();
        FAIL() << "inflated " << out << " bytes";
    } catch (const TooLargeError& e) {
        EXPECT_EQ(e.setting(), "client.max_download_bytes");
        EXPECT_NE(std::string(e.what()).find("over client.max_download_bytes (1MiB) once decompressed"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_LE(out, kMiB);

    // A file that is not gzip counts against the same cap.
    Gunzip plain([](std::string_view) {}, o);
    EXPECT_THROW(plain.write(std::string(kMiB + 1, 'p')), TooLargeError);
}

}  // namespace
}  // namespace cargomon::cargo
