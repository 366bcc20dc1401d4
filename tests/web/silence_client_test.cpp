// `cargomon silence --http.config.file`: the credentials and TLS settings reach a peer
// (an httplib server on 127.0.0.1 standing in for the daemon), and secrets stay out of
// what the command prints.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "daemon/cli/silence.h"
#include "tests/web/certs.h"

namespace cargomon::daemon {
namespace {

using cli::silence_main;

using test::test_certs;
using test::write_file;

// A peer answering GET /api/v1/silences with an empty list, 401 when `required` is set and
// the Authorization header differs; it records the last Authorization header.
class Peer {
public:
    explicit Peer(std::unique_ptr<httplib::Server> server, std::string required = "")
        : server_(std::move(server)), required_(std::move(required)) {
        server_->Get("/api/v1/silences", [this](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard lock(mutex_);
            authorization_ = req.get_header_value("Authorization");
            if (!required_.empty() && authorization_ != required_) {
                res.status = 401;
                res.set_content(R"({"error":"unauthorized"})", "application/json");
                return;
            }
            res.set_content("[]", "application/json");
        });
        port_ = server_->bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_->listen_after_bind(); });
        while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    ~Peer() {
        server_->stop();
        thread_.join();
    }
    int port() const { return port_; }
    std::string authorization() {
        std::lock_guard lock(mutex_);
        return authorization_;
    }

private:
    std::unique_ptr<httplib::Server> server_;
    std::string required_;
    int port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::string authorization_;
};

struct Outcome {
    int status;
    std::string out, err;
};

Outcome silence(std::vector<std::string> words) {
    std::ostringstream out, err;
    int status = silence_main(words, out, err);
    return {status, out.str(), err.str()};
}

class SilenceClientTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = test_certs().dir + "/silence-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
        std::filesystem::create_directories(dir_);
    }
    std::string config(const std::string& yaml) { return write_file(dir_, "http.yml", yaml); }
    std::string dir_;
};

TEST_F(SilenceClientTest, BasicAuthFromPasswordFileIsSent) {
    Peer peer(std::make_unique<httplib::Server>(), "Basic YWxpY2U6czNjcmV0");  // alice:s3cret
    write_file(dir_, "password", "s3cret\n");
    const std::string file = config("basic_auth:\n  username: alice\n  password_file: password\n");
    Outcome run = silence({"list", "--url=http://127.0.0.1:" + std::to_string(peer.port()), "--http.config.file=" + file});
    EXPECT_EQ(run.status, 0) << run.err;
    EXPECT_EQ(peer.authorization(), "Basic YWxpY2U6czNjcmV0");
    EXPECT_TRUE(run.out.starts_with("ID ")) << run.out;
}

TEST_F(SilenceClientTest, AuthorizationCredentialsAreSent) {
    Peer peer(std::make_unique<httplib::Server>());
    const std::string file = config("authorization:\n  credentials: tok-123\n");
    Outcome run = silence({"list", "--url", "http://127.0.0.1:" + std::to_string(peer.port()), "--http.config.file", file});
    EXPECT_EQ(run.status, 0) << run.err;
    EXPECT_EQ(peer.authorization(), "Bearer tok-123");
}

TEST_F(SilenceClientTest, RefusedCredentialsAreReportedWithoutTheSecret) {
    Peer peer(std::make_unique<httplib::Server>(), "Basic YWxpY2U6czNjcmV0");
    const std::string url = "--url=http://127.0.0.1:" + std::to_string(peer.port());
    Outcome run = silence({"list", url, "--http.config.file=" + config("basic_auth: {username: alice, password: wrong-pw}\n")});
    EXPECT_EQ(run.status, 1);
    EXPECT_NE(run.err.find("wants credentials and refused the ones given"), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("wrong-pw"), std::string::npos) << run.err;
    EXPECT_EQ(peer.authorization(), "Basic YWxpY2U6d3JvbmctcHc=");

    run = silence({"list", url});
    EXPECT_EQ(run.status, 1);
    EXPECT_NE(run.err.find("wants credentials (basic_auth in --http.config.file)"), std::string::npos) << run.err;
}

TEST_F(SilenceClientTest, BadConfigFileIsReportedAtItsPlaceWithoutSecrets) {
    const std::string file = config("basic_auth:\n  username: alice\n  password: hunter2\n  pasword_file: x\n"
                                    "authorization:\n  type: Basic\n  credentials: tok\n");
    Outcome run = silence({"list", "--url=http://127.0.0.1:1", "--http.config.file=" + file});
    EXPECT_EQ(run.status, 1);
    EXPECT_NE(run.err.find(file + ":4:3: unknown key \"pasword_file\" in basic_auth (did you mean \"password_file\"?)"),
              std::string::npos)
        << run.err;
    EXPECT_NE(run.err.find(file + ":5:1: at most one of basic_auth and authorization must be configured"),
              std::string::npos)
        << run.err;
    EXPECT_NE(run.err.find(file + ":6:9: authorization type cannot be set to \"basic\""), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("hunter2"), std::string::npos) << run.err;

    run = silence({"list", "--url=http://127.0.0.1:1", "--http.config.file=" + dir_ + "/none.yml"});
    EXPECT_EQ(run.status, 1);
    EXPECT_NE(run.err.find(dir_ + "/none.yml: cannot read HTTP client config file"), std::string::npos) << run.err;

    run = silence({"list", "--url=http://alice:hunter2@127.0.0.1:1"});
    EXPECT_EQ(run.status, 2);
    EXPECT_EQ(run.err.find("hunter2"), std::string::npos) << run.err;
}

class HttpsTest : public SilenceClientTest {
protected:
    std::unique_ptr<httplib::Server> tls_server() {
        return std::make_unique<httplib::SSLServer>(test_certs().server_crt.c_str(), test_certs().server_key.c_str());
    }
};

TEST_F(HttpsTest, CaFileAndServerNameVerifyTheDaemon) {
    Peer peer(tls_server());
    const std::string url = "--url=https://127.0.0.1:" + std::to_string(peer.port());
    // The certificate names cargomon.test only.
    Outcome run = silence({"list", url, "--http.config.file=" + config("tls_config:\n  ca_file: " + test_certs().ca_crt +
                                                                   "\n  server_name: cargomon.test\n")});
    EXPECT_EQ(run.status, 0) << run.err;

    run = silence({"list", url, "--http.config.file=" + config("tls_config:\n  ca_file: " + test_certs().ca_crt + "\n")});
    EXPECT_EQ(run.status, 1);
    EXPECT_NE(run.err.find("its TLS certificate did not verify"), std::string::npos) << run.err;

    run = silence({"list", url});  // the system's CAs do not know the test CA
    EXPECT_EQ(run.status, 1);
    EXPECT_NE(run.err.find("its TLS certificate did not verify"), std::string::npos) << run.err;

    run = silence({"list", url, "--http.config.file=" + config("tls_config:\n  insecure_skip_verify: true\n")});
    EXPECT_EQ(run.status, 0) << run.err;
}

TEST_F(HttpsTest, ClientCertificateIsPresented) {
    auto server = std::make_unique<httplib::SSLServer>(test_certs().server_crt.c_str(), test_certs().server_key.c_str(),
                                                       test_certs().ca_crt.c_str());
    Peer peer(std::move(server));
    const std::string url = "--url=https://127.0.0.1:" + std::to_string(peer.port());
    const std::string base = "tls_config:\n  ca_file: " + test_certs().ca_crt + "\n  server_name: cargomon.test\n";
    Outcome run = silence({"list", url, "--http.config.file=" + config(base)});
    EXPECT_EQ(run.status, 1) << "the server requires a client certificate";
    run = silence({"list", url, "--http.config.file=" + config(base + "  cert_file: " + test_certs().client_crt +
                                                               "\n  key_file: " + test_certs().client_key + "\n")});
    EXPECT_EQ(run.status, 0) << run.err;
}

TEST(SilenceHelp, NamesTheNewFlag) {
    Outcome run = silence({"--help"});
    EXPECT_EQ(run.status, 0);
    EXPECT_NE(run.out.find("--http.config.file=FILE"), std::string::npos);
}

}  // namespace
}  // namespace cargomon::daemon
