#include "web/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <arpa/inet.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace cargomon::web {
namespace {

using config::ClientAuthType;
using config::TlsVersion;

// OpenSSL's reason for the last failure, then a clean queue; never key material.
std::string reason() {
    unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    const char* text = code ? ERR_reason_error_string(code) : nullptr;
    return text ? text : "unknown OpenSSL error";
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("TLS: " + what + ": " + reason()); }

int protocol(TlsVersion v) {
    switch (v) {
        case TlsVersion::tls10: return TLS1_VERSION;
        case TlsVersion::tls11: return TLS1_1_VERSION;
        case TlsVersion::tls12: return TLS1_2_VERSION;
        case TlsVersion::tls13: return TLS1_3_VERSION;
    }
    return TLS1_2_VERSION;
}

std::string join(const std::vector<std::string>& items, char sep) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : std::string(1, sep)) + item;
    return out;
}

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
Bio memory_bio(const std::string& pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

int no_passphrase(char*, int, int, void*) { return 0; }

// The leaf and any intermediates from inline PEM.
void use_certificate_chain_pem(SSL_CTX* ctx, const std::string& pem) {
    Bio bio = memory_bio(pem);
    X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr);
    if (!leaf) fail("cannot load cert");
    const int used = SSL_CTX_use_certificate(ctx, leaf);
    X509_free(leaf);
    if (used != 1) fail("cannot use cert");
    SSL_CTX_clear_chain_certs(ctx);
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
            X509_free(extra);
            fail("cannot use the chain in cert");
        }
    }
    ERR_clear_error();  // the end of the PEM stream
}

// Client CAs (one or many certificates) into the verify store and the list sent to clients.
void load_client_cas(SSL_CTX* ctx, const config::TlsServerConfig& tls) {
    const std::string where = tls.client_ca.empty() ? "client_ca_file \"" + tls.client_ca_file + "\"" : "client_ca";
    Bio bio = tls.client_ca.empty() ? Bio(BIO_new_file(tls.client_ca_file.c_str(), "r")) : memory_bio(tls.client_ca);
    if (!bio) fail("cannot read " + where);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    int count = 0;
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        ++count;
        X509_STORE_add_cert(store, ca);  // a duplicate is no error worth failing for
        if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca))) sk_X509_NAME_push(names, name);
        X509_free(ca);
    }
    ERR_clear_error();
    if (count == 0) {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
        throw std::runtime_error("TLS: no certificate in " + where);
    }
    SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
}

// The allowed SANs, kept with the context for the verify callback.
int sans_index() {
    static const int index = SSL_CTX_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
            delete static_cast<std::vector<std::string>*>(ptr);
        });
    return index;
}

bool leaf_has_allowed_san(X509* cert, const std::vector<std::string>& allowed) {
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (!names) return false;
    bool found = false;
    for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        std::string value;
        if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
            const ASN1_STRING* s = name->d.ia5;
            value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
        } else if (name->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* ip = name->d.iPAddress;
            char text[64] = {};
            if (ip->length == 4 || ip->length == 16) {
                int family = ip->length == 4 ? AF_INET : AF_INET6;
                if (inet_ntop(family, ip->data, text, sizeof text)) value = text;
            }
        }
        found = !value.empty() && std::find(allowed.begin(), allowed.end(), value) != allowed.end();
    }
    GENERAL_NAMES_free(names);
    return found;
}

// The chain verdict stands; at the leaf, a certificate must also carry an allowed SAN.
// (RequireAnyClientCert accepts any chain, as Go's does, but still checks the SANs.)
int verify_callback(int preverify_ok, X509_STORE_CTX* store, bool accept_any) {
    if (accept_any) preverify_ok = 1;
    if (!preverify_ok || X509_STORE_CTX_get_error_depth(store) != 0) return preverify_ok;
    SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (!ssl) return preverify_ok;
    auto* allowed = static_cast<std::vector<std::string>*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sans_index()));
    if (!allowed) return preverify_ok;
    if (leaf_has_allowed_san(X509_STORE_CTX_get_current_cert(store), *allowed)) return 1;
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
}

int verify_checked(int ok, X509_STORE_CTX* store) { return verify_callback(ok, store, false); }
int verify_any(int ok, X509_STORE_CTX* store) { return verify_callback(ok, store, true); }

}  // namespace

std::shared_ptr<SSL_CTX> make_server_tls_context(const config::TlsServerConfig& tls) {
    ERR_clear_error();
    std::shared_ptr<SSL_CTX> holder(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    SSL_CTX* ctx = holder.get();
    if (!ctx) fail("cannot create a context");

    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION |
                                 SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_min_proto_version(ctx, protocol(tls.min_version)) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, protocol(tls.max_version)) != 1)
        fail("cannot set min_version " + std::string(config::tls_version_name(tls.min_version)) + " / max_version " +
             std::string(config::tls_version_name(tls.max_version)));
    // TLS 1.0 and 1.1 need OpenSSL's security level 0 on Debian 12, where the default forbids them.
    if (tls.min_version < TlsVersion::tls12) SSL_CTX_set_security_level(ctx, 0);
    if (tls.prefer_server_cipher_suites) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (!tls.cipher_suites_tls12.empty() && SSL_CTX_set_cipher_list(ctx, join(tls.cipher_suites_tls12, ':').c_str()) != 1)
        fail("none of cipher_suites " + join(tls.cipher_suites_tls12, ',') + " is available");
    if (!tls.cipher_suites_tls13.empty() &&
        SSL_CTX_set_ciphersuites(ctx, join(tls.cipher_suites_tls13, ':').c_str()) != 1)
        fail("cannot use the TLS 1.3 cipher_suites " + join(tls.cipher_suites_tls13, ','));
    if (!tls.curve_preferences.empty() && SSL_CTX_set1_groups_list(ctx, join(tls.curve_preferences, ':').c_str()) != 1)
        fail("cannot use curve_preferences " + join(tls.curve_preferences, ','));

    if (!tls.cert.empty())
        use_certificate_chain_pem(ctx, tls.cert);
    else if (tls.cert_file.empty())
        throw std::runtime_error("TLS: missing one of cert or cert_file");
    else if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1)
        fail("cannot load cert_file \"" + tls.cert_file + "\"");

    if (!tls.key.empty()) {
        Bio bio = memory_bio(tls.key);
        EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
        if (!key) fail("cannot load key");
        const int used = SSL_CTX_use_PrivateKey(ctx, key);
        EVP_PKEY_free(key);
        if (used != 1) fail("cannot use key");
    } else if (tls.key_file.empty()) {
        throw std::runtime_error("TLS: missing one of key or key_file");
    } else {
        SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);  // an encrypted key fails, never prompts
        if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
            fail("cannot load key_file \"" + tls.key_file + "\"");
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        fail("key_file \"" + tls.key_file + "\" does not match cert_file \"" + tls.cert_file + "\"");

    const bool has_ca = !tls.client_ca_file.empty() || !tls.client_ca.empty();
    if (has_ca) load_client_cas(ctx, tls);
    int mode = SSL_VERIFY_NONE;
    bool accept_any = false;
    switch (tls.client_auth) {
        case ClientAuthType::no_client_cert: break;
        case ClientAuthType::request_client_cert: mode = SSL_VERIFY_PEER; accept_any = true; break;
        case ClientAuthType::require_any_client_cert:
            mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
            accept_any = true;
            break;
        case ClientAuthType::verify_client_cert_if_given: mode = SSL_VERIFY_PEER; break;
        case ClientAuthType::require_and_verify_client_cert:
            mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
            break;
    }
    const bool verifies = tls.client_auth == ClientAuthType::verify_client_cert_if_given ||
                          tls.client_auth == ClientAuthType::require_and_verify_client_cert;
    if (verifies && !has_ca)
        throw std::runtime_error("TLS: client_auth_type " + std::string(config::client_auth_name(tls.client_auth)) +
                                 " needs client_ca_file");
    if (!tls.client_allowed_sans.empty())
        SSL_CTX_set_ex_data(ctx, sans_index(), new std::vector<std::string>(tls.client_allowed_sans));
    SSL_CTX_set_verify(ctx, mode, accept_any ? verify_any : verify_checked);
    // Sessions resumed across contexts would skip the client checks of a newer config.
    static const unsigned char kSessionContext[] = "cargomon";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
    ERR_clear_error();
    return holder;
}

std::string client_policy(SSL_CTX* ctx) {
    std::string policy = "verify=" + std::to_string(SSL_CTX_get_verify_mode(ctx));
    if (X509_STORE* store = SSL_CTX_get_cert_store(ctx)) {
        std::vector<std::string> digests;
        STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
        for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
            X509* cert = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
            unsigned char md[EVP_MAX_MD_SIZE];
            unsigned int size = 0;
            if (!cert || X509_digest(cert, EVP_sha256(), md, &size) != 1) continue;
            static const char* hex = "0123456789abcdef";
            std::string text;
            for (unsigned int j = 0; j < size; ++j) {
                text += hex[md[j] >> 4];
                text += hex[md[j] & 15];
            }
            digests.push_back(std::move(text));
        }
        std::sort(digests.begin(), digests.end());
        policy += " cas=" + join(digests, ',');
    }
    if (auto* allowed = static_cast<std::vector<std::string>*>(SSL_CTX_get_ex_data(ctx, sans_index())))
        policy += " sans=" + join(*allowed, ',');
    return policy;
}

}  // namespace cargomon::web
