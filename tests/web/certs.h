#pragma once
// Certificates for the web tests, made once per process with the openssl CLI in a
// private temporary folder: a CA, a server certificate and a client certificate it
// signed, and a self-signed certificate whose key matches none of the others.
#include <string>

namespace cargomon::test {

struct TestCerts {
    std::string dir;
    std::string ca_crt, ca_key;
    std::string server_crt, server_key;  // SAN DNS:cargomon.test only, signed by the CA
    std::string client_crt, client_key;  // SAN DNS:client.test, signed by the CA
    std::string other_crt, other_key;    // self-signed, CN other
};

// Fails the calling test (via an exception) if openssl cannot make them.
const TestCerts& test_certs();

// Writes `text` to `dir/name` and returns the path.
std::string write_file(const std::string& dir, const std::string& name, const std::string& text);
std::string read_text(const std::string& path);

}  // namespace cargomon::test
