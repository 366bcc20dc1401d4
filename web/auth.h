#pragma once
// HTTP basic authentication against the bcrypt hashes of a web config's
// basic_auth_users, as exporter-toolkit does it: hashes are checked with libcrypt's
// crypt_r(), compared in constant time, and successful checks are remembered (keyed by
// a SHA-256 of user, password and hash, at most kCacheSize of them) so that a scraper
// sending the same credentials every few seconds pays bcrypt's cost once. An unknown user
// costs a bcrypt check against a fixed hash, so timing does not tell which users exist.
//
// Passwords are compared whole. bcrypt reads at most 72 bytes, and crypt_r() stops at a
// NUL, so a password longer than 72 bytes or holding a NUL would match a hash of a part
// of it: such a password fails at once, without bcrypt. (exporter-toolkit's Go bcrypt
// hashes every byte but reads 72 too, and refuses to make a hash of a longer password.)
//
// Thread-safe: one BasicAuth serves concurrent requests. Bcrypt checks run one at a time
// (a burst of bad logins takes one core, not all of them) and at most kMaxBcryptQueue
// run or wait at once: more are answered AuthVerdict::busy at once, so a flood of wrong
// passwords cannot queue up behind which a valid login would wait. Remembered successes
// never wait for bcrypt.
#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "web/http.h"

namespace cargomon::web {

// verify() from any connection thread: bcrypt_mutex_ guards crypt_r and bcrypt_runs_,
// cache_mutex_ guards cache_, queue_mutex_ queued_.
class BasicAuth {
public:
    static constexpr std::size_t kCacheSize = 100;
    static constexpr std::size_t kMaxBcryptQueue = 4;     // bcrypt checks running or waiting
    static constexpr std::size_t kMaxPasswordBytes = 72;  // what bcrypt reads

    // user -> bcrypt hash ($2a$/$2b$/$2y$, checked by config::load_web_config).
    explicit BasicAuth(std::map<std::string, std::string> users);

    // No users: every request passes.
    bool enabled() const { return !users_.empty(); }

    // The value of a request's Authorization header ("Basic dXNlcjpwYXNz"): pass only for
    // a known user with the right password; missing or malformed headers fail.
    // `may_run_bcrypt`, when given, is asked just before a bcrypt check would be queued
    // (never for a remembered success, nor for what fails without bcrypt): false makes
    // the verdict `limited`, with no check run.
    AuthVerdict verify(std::string_view authorization_header, const std::function<bool()>& may_run_bcrypt = {}) const;
    // The same on credentials already decoded.
    AuthVerdict verify(const std::string& user, const std::string& password,
                       const std::function<bool()>& may_run_bcrypt = {}) const;
    bool check(std::string_view authorization_header) const { return verify(authorization_header) == AuthVerdict::pass; }
    bool check(const std::string& user, const std::string& password) const {
        return verify(user, password) == AuthVerdict::pass;
    }

    // For tests and metrics: successful checks remembered, bcrypt computations done, and
    // those running or waiting now.
    std::size_t cached() const;
    std::size_t bcrypt_runs() const;
    std::size_t bcrypt_queued() const;

private:
    using Key = std::array<unsigned char, 32>;
    struct KeyHash {
        std::size_t operator()(const Key& k) const;
    };

    // nullopt: not run, the queue is full.
    std::optional<bool> bcrypt_matches(const std::string& password, const std::string& hash) const;

    std::map<std::string, std::string> users_;
    std::string dummy_;  // bcrypt setting hashed for unknown users
    mutable std::mutex bcrypt_mutex_;  // one crypt_r at a time
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<Key, bool, KeyHash> cache_;  // successes only
    mutable std::size_t bcrypt_runs_ = 0;                   // under bcrypt_mutex_
    mutable std::mutex queue_mutex_;
    mutable std::size_t queued_ = 0;  // bcrypt checks running or waiting for bcrypt_mutex_
};

}  // namespace cargomon::web
