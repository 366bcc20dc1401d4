#include "tests/web/certs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cargomon::test {
namespace {

void run(const std::string& command) {
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
        throw std::runtime_error("test setup failed: " + command);
}

TestCerts make() {
    char pattern[] = "/tmp/cargomon-web-test-XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    TestCerts c;
    c.dir = pattern;
    auto path = [&](const char* name) { return c.dir + "/" + name; };
    c.ca_crt = path("ca.crt");
    c.ca_key = path("ca.key");
    c.server_crt = path("server.crt");
    c.server_key = path("server.key");
    c.client_crt = path("client.crt");
    c.client_key = path("client.key");
    c.other_crt = path("other.crt");
    c.other_key = path("other.key");
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    run("openssl req -x509" + ec + " -keyout " + c.ca_key + " -out " + c.ca_crt +
        " -days 2 -subj /CN=cargomon-test-ca");
    auto signed_cert = [&](const std::string& crt, const std::string& key, const std::string& cn,
                           const std::string& san, const std::string& usage) {
        const std::string csr = crt + ".csr", ext = crt + ".ext";
        write_file(c.dir, std::filesystem::path(ext).filename().string(), "subjectAltName=" + san + "\nextendedKeyUsage=" + usage + "\n");
        run("openssl req" + ec + " -keyout " + key + " -out " + csr + " -subj /CN=" + cn);
        run("openssl x509 -req -in " + csr + " -CA " + c.ca_crt + " -CAkey " + c.ca_key + " -CAcreateserial -out " +
            crt + " -days 2 -extfile " + ext);
    };
    signed_cert(c.server_crt, c.server_key, "cargomon.test", "DNS:cargomon.test", "serverAuth");
    signed_cert(c.client_crt, c.client_key, "client", "DNS:client.test", "clientAuth");
    run("openssl req -x509" + ec + " -keyout " + c.other_key + " -out " + c.other_crt + " -days 2 -subj /CN=other");
    return c;
}

}  // namespace

const TestCerts& test_certs() {
    // The folder goes with the process.
    struct Holder {
        TestCerts certs = make();
        ~Holder() {
            std::error_code ignored;
            std::filesystem::remove_all(certs.dir, ignored);
        }
    };
    static const Holder holder;
    return holder.certs;
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace cargomon::test
