#include "web/auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "web/request_parser.h"

namespace cargomon::web {
namespace {

// crypt_data is 32 KiB: too big for a thread's stack to be comfortable, so on the heap.
// An error yields nullptr or a string starting with '*'.
std::string bcrypt(const std::string& password, const std::string& setting) {
    auto data = std::make_unique<crypt_data>();
    std::memset(data.get(), 0, sizeof(crypt_data));
    const char* out = crypt_r(password.c_str(), setting.c_str(), data.get());
    std::string result = out && out[0] != '*' ? out : "";
    OPENSSL_cleanse(data.get(), sizeof(crypt_data));
    return result;
}

// A setting with the highest cost of the configured hashes, so an unknown user costs what
// a known one does.
std::string dummy_setting(const std::map<std::string, std::string>& users) {
    std::string cost = "10";
    for (const auto& [user, hash] : users)
        if (hash.size() >= 7 && hash.substr(4, 2) > cost) cost = hash.substr(4, 2);
    return "$2b$" + cost + "$" + "cargomonDummySaltForU.";  // 22 characters of bcrypt's alphabet
}

}  // namespace

std::size_t BasicAuth::KeyHash::operator()(const Key& k) const {
    std::size_t h;
    std::memcpy(&h, k.data(), sizeof h);  // a SHA-256 prefix is as good a hash as any
    return h;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {
    dummy_ = dummy_setting(users_);
}

AuthVerdict BasicAuth::verify(std::string_view authorization_header, const std::function<bool()>& may_run_bcrypt) const {
    std::string user, password;
    if (!parse_basic_authorization(authorization_header, user, password)) return AuthVerdict::fail;
    const AuthVerdict verdict = verify(user, password, may_run_bcrypt);
    OPENSSL_cleanse(password.data(), password.size());
    return verdict;
}

AuthVerdict BasicAuth::verify(const std::string& user, const std::string& password,
                              const std::function<bool()>& may_run_bcrypt) const {
    // What bcrypt would not read whole never matches (see the header).
    if (password.size() > kMaxPasswordBytes || password.find('\0') != std::string::npos) return AuthVerdict::fail;
    auto found = users_.find(user);
    if (found == users_.end()) {
        // Same work as a known user's first check; the result cannot matter.
        if (may_run_bcrypt && !may_run_bcrypt()) return AuthVerdict::limited;
        return bcrypt_matches(password, dummy_) ? AuthVerdict::fail : AuthVerdict::busy;
    }
    const std::string& hash = found->second;

    // The key: SHA-256 over the three, each with its length so that no two triples collide.
    Key key{};
    {
        std::string material;
        for (const std::string* part : {&user, &password, &hash}) {
            material += std::to_string(part->size()) + ":";
            material += *part;
        }
        unsigned int size = 0;
        EVP_Digest(material.data(), material.size(), key.data(), &size, EVP_sha256(), nullptr);
        OPENSSL_cleanse(material.data(), material.size());
    }
    {
        std::lock_guard lock(cache_mutex_);
        if (cache_.contains(key)) return AuthVerdict::pass;
    }
    if (may_run_bcrypt && !may_run_bcrypt()) return AuthVerdict::limited;
    const auto matches = bcrypt_matches(password, hash);
    if (!matches) return AuthVerdict::busy;
    if (!*matches) return AuthVerdict::fail;
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kCacheSize) {
        // Make room for a while: drop a tenth; the order of hashed keys is arbitrary enough.
        std::size_t drop = std::max<std::size_t>(1, cache_.size() / 10);
        for (auto it = cache_.begin(); it != cache_.end() && drop > 0; --drop) it = cache_.erase(it);
    }
    cache_.emplace(key, true);
    return AuthVerdict::pass;
}

std::optional<bool> BasicAuth::bcrypt_matches(const std::string& password, const std::string& hash) const {
    {
        std::lock_guard lock(queue_mutex_);
        if (queued_ >= kMaxBcryptQueue) return std::nullopt;
        ++queued_;
    }
    struct Dequeue {
        const BasicAuth& auth;
        ~Dequeue() {
            std::lock_guard lock(auth.queue_mutex_);
            --auth.queued_;
        }
    } dequeue{*this};
    std::string computed;
    {
        std::lock_guard lock(bcrypt_mutex_);
        ++bcrypt_runs_;
        computed = bcrypt(password, hash);
    }
    // libcrypt hashes $2y$ and $2a$ as given and echoes the prefix, so equal text is a match.
    return !computed.empty() && computed.size() == hash.size() &&
           CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

std::size_t BasicAuth::cached() const {
    std::lock_guard lock(cache_mutex_);
    return cache_.size();
}

std::size_t BasicAuth::bcrypt_runs() const {
    std::lock_guard lock(bcrypt_mutex_);
    return bcrypt_runs_;
}

std::size_t BasicAuth::bcrypt_queued() const {
    std::lock_guard lock(queue_mutex_);
    return queued_;
}

}  // namespace cargomon::web
