#pragma once
// The server's TLS context from the tls_server_config of a web config file
// (config/web_config.h): certificate chain and key, protocol versions, cipher suites,
// curves and client certificate checks, in one SSL_CTX a TLS server can use for every
// connection. Building one reads the files again, so a reload picks up renewed certificates.
//
// Thread-safety: make_server_tls_context may run on any thread; the context it returns is
// not changed afterwards and may back any number of connections (SSL_new) at once.
#include <openssl/ssl.h>

#include <memory>

#include "config/web_config.h"

namespace cargomon::web {

// Throws std::runtime_error naming the file or setting at fault (never key material).
// Client auth maps as Go's crypto/tls does:
//   NoClientCert               SSL_VERIFY_NONE
//   RequestClientCert          asks, accepts any certificate or none
//   RequireAnyClientCert       requires one, accepts any
//   VerifyClientCertIfGiven    asks, verifies against the client CAs if one is sent
//   RequireAndVerifyClientCert requires one and verifies it against the client CAs
// client_allowed_sans is checked on the leaf certificate during the handshake.
std::shared_ptr<SSL_CTX> make_server_tls_context(const config::TlsServerConfig& tls);

// Which client certificates a context from make_server_tls_context accepts, as text that
// changes whenever that does: the verify mode, a SHA-256 of each trusted client CA, the
// allowed SANs. A reload that changes it must not leave connections admitted under the
// old trust open (web::HttpEngine::set_tls closes them).
std::string client_policy(SSL_CTX* ctx);

}  // namespace cargomon::web
