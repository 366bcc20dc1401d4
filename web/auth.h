#pragma once
// HTTP basic authentication against the bcrypt hashes of a web config's
// basic_auth_users, as exporter-toolkit does it: hashes are checked with libcrypt's
// crypt_r(), compared in constant time, and successful checks are remembered (keyed by
// a SHA-256 of user, password and hash, at most kCacheSize of them) so that a scraper
// sending the same credentials every few seconds pays bcrypt's cost once. An unknown user
// costs a bcrypt check against a fixed hash, so timing does not tell which users exist.
//
// Thread-safe: one BasicAuth serves concurrent requests. Bcrypt checks run one at a time
// (a burst of bad logins takes one core, not all of them); cache hits never wait for them.
#include <array>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "web/request_parser.h"  // parse_basic_authorization

namespace cargomon::web {

// check() from any connection thread: bcrypt_mutex_ guards crypt_r and bcrypt_runs_,
// cache_mutex_ guards cache_.
class BasicAuth {
public:
    static constexpr std::size_t kCacheSize = 100;

    // user -> bcrypt hash ($2a$/$2b$/$2y$, checked by config::load_web_config).
    explicit BasicAuth(std::map<std::string, std::string> users);

    // No users: every request passes.
    bool enabled() const { return !users_.empty(); }

    // The value of a request's Authorization header ("Basic dXNlcjpwYXNz"); true only for
    // a known user with the right password. Missing or malformed headers are false.
    bool check(std::string_view authorization_header) const;
    // The same on credentials already decoded.
    bool check(const std::string& user, const std::string& password) const;

    // For tests and metrics: successful checks remembered, and bcrypt computations done.
    std::size_t cached() const;
    std::size_t bcrypt_runs() const;

private:
    using Key = std::array<unsigned char, 32>;
    struct KeyHash {
        std::size_t operator()(const Key& k) const;
    };

    bool bcrypt_matches(const std::string& password, const std::string& hash) const;

    std::map<std::string, std::string> users_;
    std::string dummy_;  // bcrypt setting hashed for unknown users
    mutable std::mutex bcrypt_mutex_;  // one crypt_r at a time
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<Key, bool, KeyHash> cache_;  // successes only
    mutable std::size_t bcrypt_runs_ = 0;                   // under bcrypt_mutex_
};

}  // namespace cargomon::web
