// The real transport over HTTP on 127.0.0.1 against an httplib::Server started here.
// HTTPS is not exercised: there are no certificates on the test machine. AnswerCaps: the
// client inflates answers itself and stops reading at its size caps (bombs, endless
// bodies, lying lengths).
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "cargo/client.h"
#include "common/net.h"
#include "tests/support/gzip.h"

namespace cargomon::cargo {
namespace {

using namespace std::chrono_literals;

class HttpTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        server_ = new httplib::Server;
        server_->Post("/v1/orchestration/runs/count", [](const httplib::Request& req, httplib::Response& res) {
            {
                std::lock_guard lock(mu_);
                ports_.insert(req.remote_port);
                last_ = req;
            }
            res.set_content(R"({"count": "41"})", "application/json");
        });
        server_->Get("/v1/orchestration/batches/list", [](const httplib::Request& req, httplib::Response& res) {
            std::string workflows;
            for (std::size_t i = 0; i < req.get_param_value_count("workflowUuids[]"); ++i)
                workflows += req.get_param_value("workflowUuids[]", i) + ",";
            res.set_content(R"({"batches": [{"uuid": ")" + workflows + R"(", "status": "running"}]})",
                            "application/json");
        });
        server_->Get("/v1/orchestration/batches/missing", [](const httplib::Request&, httplib::Response& res) {
            res.status = 404;
            res.set_content(R"({"errorMessage": "Batch not found", "reason": "batchNotFound"})", "application/json");
        });
        server_->Get("/v1/orchestration/plays/list", [](const httplib::Request&, httplib::Response& res) {
            // Each read gets a few bytes in time, the whole body takes 4 s: only a limit on
            // the whole answer stops it.
            auto body = std::make_shared<std::string>(R"({"plays": [)" + std::string(400, ' ') + "]}");
            res.set_content_provider(body->size(), "application/json",
                                     [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                         std::this_thread::sleep_for(40ms);
                                         return sink.write(body->data() + offset, std::min<std::size_t>(4, body->size() - offset));
                                     });
        });
        server_->Get("/v1/orchestration/tools/list", [](const httplib::Request&, httplib::Response& res) {
            std::this_thread::sleep_for(1500ms);  // slower than the client's timeout
            res.set_content(R"({"tools": []})", "application/json");
        });
        port_ = server_->bind_to_any_port("127.0.0.1");
        ASSERT_GT(port_, 0);
        thread_ = new std::thread([] { server_->listen_after_bind(); });
        while (!server_->is_running()) std::this_thread::sleep_for(1ms);
    }

    static void TearDownTestSuite() {
        server_->stop();
        thread_->join();
        delete thread_;
        delete server_;
    }

    static ClientOptions options(int port = port_) {
        return ClientOptions{.base_url = "http://127.0.0.1:" + std::to_string(port),
                             .token = "tok-abc",
                             .workspace_uuid = "ws-9",
                             .timeout = 300ms,
                             .connect_timeout = 1000ms,
                             .rate_limit_per_s = 0,
                             .retry = {.max_attempts = 1, .budget = 5s}};
    }

    SystemClock clock;
    ClockSleeper sleeper{clock};
    prometheus::Registry registry;

    static inline httplib::Server* server_ = nullptr;
    static inline std::thread* thread_ = nullptr;
    static inline int port_ = 0;
    static inline std::mutex mu_;
    static inline std::set<int> ports_;
    static inline httplib::Request last_;
};

TEST_F(HttpTest, SequentialRequestsReuseOneKeepAliveConnection) {
    auto transport = make_http_transport(options());
    ApiClient client(options(), *transport, registry, clock, sleeper);
    {
        std::lock_guard lock(mu_);
        ports_.clear();
    }
    for (int i = 0; i < 5; ++i) EXPECT_EQ(client.count_runs({.workflow_uuid = "wf"}), 41);
    std::lock_guard lock(mu_);
    EXPECT_EQ(ports_.size(), 1u);
    EXPECT_EQ(last_.get_header_value("authorization"), "Bearer tok-abc");
    EXPECT_EQ(last_.get_header_value("selected-workspace-uuid"), "ws-9");
    EXPECT_EQ(last_.get_header_value("content-type"), "application/json");
    EXPECT_EQ(last_.get_header_value("x-cargo-origin"), "cargomon");
    EXPECT_EQ(last_.body, R"({"workflowUuid":"wf"})");
}

TEST_F(HttpTest, ArrayParametersArriveAsRepeatedBracketKeys) {
    auto transport = make_http_transport(options());
    ApiClient client(options(), *transport, registry, clock, sleeper);
    auto batches = client.list_batches({.workflow_uuids = {"a b", "c:d"}});
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].uuid, "a b,c:d,");
}

TEST_F(HttpTest, ErrorAnswersAreTyped) {
    auto transport = make_http_transport(options());
    ApiClient client(options(), *transport, registry, clock, sleeper);
    try {
        client.get_batch("missing");
        FAIL() << "no error";
    } catch (const RequestError& e) {
        EXPECT_EQ(e.status(), 404);
        EXPECT_EQ(e.reason(), "batchNotFound");
        EXPECT_EQ(e.error_message(), "Batch not found");
    }
}

TEST_F(HttpTest, ASlowAnswerHitsTheTimeout) {
    auto transport = make_http_transport(options());
    ApiClient client(options(), *transport, registry, clock, sleeper);
    try {
        client.list_tools();
        FAIL() << "no error";
    } catch (const NetworkError& e) {
        EXPECT_EQ(e.kind(), "timeout") << e.what();
    }
    // The connection that timed out is dropped; the next request still works.
    EXPECT_EQ(client.count_runs({}), 41);
}

TEST_F(HttpTest, ATricklingBodyHitsTheTimeoutOfTheWholeAnswer) {
    auto transport = make_http_transport(options());
    ApiClient client(options(), *transport, registry, clock, sleeper);
    const auto start = std::chrono::steady_clock::now();
    try {
        client.list_plays();
        FAIL() << "no error";
    } catch (const NetworkError& e) {
        EXPECT_EQ(e.kind(), "timeout") << e.what();
    }
    // 300 ms timeout; the body alone would take 4 s. Generous for a loaded machine.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(client.count_runs({}), 41);
}

TEST_F(HttpTest, NothingListeningIsANetworkErrorRetriedThenReported) {
    auto opts = options(free_loopback_port());
    opts.retry = {.max_attempts = 2, .initial_backoff = 10ms, .max_backoff = 10ms, .budget = 5s};
    auto transport = make_http_transport(opts);
    ApiClient client(opts, *transport, registry, clock, sleeper);
    try {
        client.count_runs({});
        FAIL() << "no error";
    } catch (const NetworkError& e) {
        EXPECT_EQ(e.status(), 0);
        EXPECT_NE(std::string(e.what()).find("/v1/orchestration/runs/count"), std::string::npos) << e.what();
        EXPECT_EQ(e.kind(), "connect");
    }
    // Retried once (max_attempts 2) as a network failure: two attempts, neither answered.
    double retries = 0, unanswered = 0;
    for (const auto& family : registry.Collect())
        for (const auto& m : family.metric) {
            std::map<std::string, std::string> labels;
            for (const auto& l : m.label) labels[l.name] = l.value;
            if (family.name == "cargomon_api_retries_total" && labels["reason"] == "network") retries += m.counter.value;
            if (family.name == "cargomon_api_requests_total" && labels["code"] == "error") unanswered += m.counter.value;
        }
    EXPECT_EQ(retries, 1);
    EXPECT_EQ(unanswered, 2);
    double refused = 0;
    for (const auto& family : registry.Collect())
        for (const auto& m : family.metric)
            if (family.name == "cargomon_api_network_errors_total")
                for (const auto& l : m.label)
                    if (l.name == "kind" && l.value == "connect") refused += m.counter.value;
    EXPECT_EQ(refused, 2);
}

double counter(prometheus::Registry& registry, const std::string& name, const std::string& label,
               const std::string& value) {
    double total = 0;
    for (const auto& family : registry.Collect())
        if (family.name == name)
            for (const auto& m : family.metric)
                for (const auto& l : m.label)
                    if (l.name == label && l.value == value) total += m.counter.value;
    return total;
}

// Caps of 1 MiB decoded and 256 KiB compressed. Each route answers one way a hostile or
// broken API (or anything on the path of an http:// api_url) could.
class AnswerCaps : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        server_ = new httplib::Server;
        // 64 MiB of zeros in 64 KB of gzip: before, httplib inflated it whole.
        bomb_ = new std::string(testing::gzip_bomb(64 * kMiB));
        server_->Get("/v1/orchestration/workflows/list", [](const httplib::Request&, httplib::Response& res) {
            res.set_header("Content-Encoding", "gzip");
            res.set_content(*bomb_, "application/json");
        });
        // A plain body that never ends, chunk after chunk.
        server_->Get("/v1/orchestration/plays/list", [](const httplib::Request&, httplib::Response& res) {
            res.set_chunked_content_provider("application/json", [](std::size_t, httplib::DataSink& sink) {
                static const std::string chunk(64 * 1024, ' ');
                endless_bytes_ += chunk.size();
                return sink.write(chunk.data(), chunk.size());
            });
        });
        // 512 KiB that do not compress: under the decoded cap, over the compressed one.
        server_->Get("/v1/orchestration/tools/list", [](const httplib::Request&, httplib::Response& res) {
            std::mt19937_64 random(7);
            std::string noise(512 * 1024, '\0');
            for (char& c : noise) c = static_cast<char>(random());
            res.set_header("Content-Encoding", "gzip");
            res.set_content(testing::gzip(noise), "application/json");
        });
        // Declares 8 GiB.
        server_->Get("/v1/orchestration/batches/list", [](const httplib::Request&, httplib::Response& res) {
            res.set_content_provider(std::uint64_t{8} << 30, "application/json",
                                     [](std::size_t, std::size_t, httplib::DataSink& sink) {
                                         static const std::string chunk(64 * 1024, ' ');
                                         return sink.write(chunk.data(), chunk.size());
                                     });
        });
        // Content-Length says 1000; the whole gzip (100 KB of it) follows on the connection.
        server_->Post("/v1/orchestration/query", [](const httplib::Request&, httplib::Response& res) {
            std::mt19937_64 random(11);
            std::string hex(200'000, '0');
            for (char& c : hex) c = "0123456789abcdef"[random() % 16];
            auto body = std::make_shared<std::string>(testing::gzip(R"({"rows": [{"id": ")" + hex + R"("}]})"));
            res.set_header("Content-Encoding", "gzip");
            res.set_content_provider(1000, "application/json",
                                     [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                         return offset > 0 || sink.write(body->data(), body->size());
                                     });
        });
        server_->Post("/v1/orchestration/runs/count", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"count": 41})", "application/json");
        });
        // An error answer whose body never ends: its status is what counts.
        server_->Get("/v1/billing/usage/metrics", [](const httplib::Request&, httplib::Response& res) {
            res.status = 503;
            res.set_chunked_content_provider("text/html", [](std::size_t, httplib::DataSink& sink) {
                static const std::string chunk = R"({"errorMessage": "overloaded", "reason": "busy"})" + std::string(65536, ' ');
                return sink.write(chunk.data(), chunk.size());
            });
        });
        port_ = server_->bind_to_any_port("127.0.0.1");
        ASSERT_GT(port_, 0);
        thread_ = new std::thread([] { server_->listen_after_bind(); });
        while (!server_->is_running()) std::this_thread::sleep_for(1ms);
    }

    static void TearDownTestSuite() {
        server_->stop();
        thread_->join();
        delete thread_;
        delete server_;
        delete bomb_;
    }

    static ClientOptions options() {
        return ClientOptions{.base_url = "http://127.0.0.1:" + std::to_string(port_),
                             .token = "tok-secret-abc",
                             .timeout = 20s,  // only a hang would reach it
                             .connect_timeout = 5s,
                             .rate_limit_per_s = 0,
                             .retry = {.max_attempts = 3, .initial_backoff = 1ms, .max_backoff = 1ms, .budget = 60s},
                             .answers = {.max_bytes = kMiB, .max_compressed_bytes = 256 * 1024}};
    }

    // The refusal of an answer, checked for what every one must say.
    static void expect_refused(const TooLargeError& e, const std::string& endpoint, const std::string& setting) {
        const std::string what = e.what();
        EXPECT_EQ(e.setting(), setting);
        EXPECT_EQ(e.status(), 200);
        EXPECT_NE(what.find(endpoint), std::string::npos) << what;
        EXPECT_NE(what.find(setting), std::string::npos) << what;
        EXPECT_EQ(what.find("tok-secret-abc"), std::string::npos) << what;
    }

    SystemClock clock;
    ClockSleeper sleeper{clock};
    prometheus::Registry registry;
    std::unique_ptr<Transport> transport = make_http_transport(options());
    ApiClient client{options(), *transport, registry, clock, sleeper};

    static inline httplib::Server* server_ = nullptr;
    static inline std::thread* thread_ = nullptr;
    static inline std::string* bomb_ = nullptr;
    static inline int port_ = 0;
    static inline std::atomic<std::uint64_t> endless_bytes_{0};
};

TEST_F(AnswerCaps, AGzipBombIsCutOffAtMaxAnswerBytesAndNotRetried) {
    try {
        client.list_workflows();
        FAIL() << "no error";
    } catch (const TooLargeError& e) {
        expect_refused(e, "GET /v1/orchestration/workflows/list", "client.max_answer_bytes");
        EXPECT_NE(std::string(e.what()).find("(1MiB once decoded)"), std::string::npos) << e.what();
    }
    // Answered (200), once: the same request would get the same bomb.
    EXPECT_EQ(counter(registry, "cargomon_api_requests_total", "code", "200"), 1);
    EXPECT_EQ(counter(registry, "cargomon_api_retries_total", "endpoint", "/orchestration/workflows/list"), 0);
}

TEST_F(AnswerCaps, AnEndlessPlainBodyIsCutOffWhileItArrives) {
    endless_bytes_ = 0;
    try {
        client.list_plays();
        FAIL() << "no error";
    } catch (const TooLargeError& e) {
        expect_refused(e, "GET /v1/orchestration/plays/list", "client.max_answer_bytes");
    }
    // What the server managed to send before the client hung up: the cap and what the
    // socket buffers hold, nothing like a whole body.
    EXPECT_LT(endless_bytes_.load(), 32 * kMiB);
}

TEST_F(AnswerCaps, ACompressedAnswerOverItsCompressedCapIsCutOff) {
    try {
        client.list_tools();
        FAIL() << "no error";
    } catch (const TooLargeError& e) {
        expect_refused(e, "GET /v1/orchestration/tools/list", "client.max_compressed_answer_bytes");
    }
}

TEST_F(AnswerCaps, ADeclaredLengthOverTheCapIsRefusedBeforeTheBody) {
    try {
        client.list_batches();
        FAIL() << "no error";
    } catch (const TooLargeError& e) {
        expect_refused(e, "GET /v1/orchestration/batches/list", "client.max_answer_bytes");
    }
}

TEST_F(AnswerCaps, AGzipBodyCutByALyingContentLengthIsRefusedAndItsConnectionDropped) {
    try {
        client.query("SELECT 1");
        FAIL() << "no error";
    } catch (const ParseError& e) {
        EXPECT_NE(std::string(e.what()).find("POST /v1/orchestration/query: HTTP 200 answer: its gzip body cannot be "
                                             "decoded"),
                  std::string::npos)
            << e.what();
    }
    // The rest of that gzip waits on the old connection; the next request must not read it.
    EXPECT_EQ(client.count_runs({}), 41);
}

TEST_F(AnswerCaps, AnErrorAnswerTooLongKeepsItsStatusAndReason) {
    try {
        client.usage_metrics({});
        FAIL() << "no error";
    } catch (const ServerError& e) {
        EXPECT_EQ(e.status(), 503);
        EXPECT_EQ(e.reason(), "busy");
    }
    EXPECT_EQ(counter(registry, "cargomon_api_retries_total", "reason", "5xx"), 2);
}

TEST(HttpTransport, RejectsBadBaseUrls) {
    for (const char* bad : {"", "api.getcargo.io", "ftp://api.getcargo.io", "https://", "https://h/x?y=1"}) {
        ClientOptions o{.base_url = bad};
        EXPECT_THROW(make_http_transport(o), std::invalid_argument) << bad;
    }
}

}  // namespace
}  // namespace cargomon::cargo
