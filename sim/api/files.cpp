#include <random>

#include "sim/api/internal.h"

namespace cargomon::sim {
namespace {

// Like a presigned object-store URL: usable without the API token, for a short while.
constexpr std::chrono::minutes kLifetime{15};
// Downloads are small in the sim; the bound keeps a busy bench from eating the memory.
constexpr size_t kMaxBytes = 256u << 20;

std::string random_hex(size_t chars) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(chars, '0');
    for (char& c : out) c = kHex[rng() & 15];
    return out;
}

int64_t unix_seconds(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void file_error(httplib::Response& res, int status, const char* reason, const char* message) {
    res.status = status;
    res.set_content(std::string(R"({"errorMessage":")") + message + R"(","reason":")" + reason + R"("})",
                    "application/json");
}

}  // namespace

FileStore::FileStore(std::string public_base_url, const Clock& clock)
    : base_url_(std::move(public_base_url)), clock_(clock) {}

void FileStore::evict_locked(int64_t now) {
    for (auto it = files_.begin(); it != files_.end();) {
        if (it->second.expires <= now) {
            bytes_ -= it->second.content.size();
            it = files_.erase(it);
        } else {
            ++it;
        }
    }
    // Still too big: drop the files closest to expiry (the oldest) first.
    while (bytes_ > kMaxBytes && !files_.empty()) {
        auto oldest = files_.begin();
        for (auto it = files_.begin(); it != files_.end(); ++it)
            if (it->second.expires < oldest->second.expires) oldest = it;
        bytes_ -= oldest->second.content.size();
        files_.erase(oldest);
    }
}

std::string FileStore::put(std::string content, std::string content_type) {
    const int64_t now = unix_seconds(clock_.now());
    const int64_t expires = now + std::chrono::duration_cast<std::chrono::seconds>(kLifetime).count();
    std::string id = random_hex(32);
    std::string signature = random_hex(64);
    std::string url = base_url_ + "/_files/" + id + "?expires=" + std::to_string(expires) + "&signature=" + signature;
    std::lock_guard lock(mu_);
    bytes_ += content.size();
    files_[id] = File{std::move(content), std::move(content_type), std::move(signature), expires};
    evict_locked(now);
    return url;
}

void FileStore::serve(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1];
    const std::string expires = req.get_param_value("expires");
    std::lock_guard lock(mu_);
    auto it = files_.find(id);
    // The expiry is checked on the URL itself, so a file already evicted still reads as expired.
    if (expires.empty() || expires.find_first_not_of("0123456789") != std::string::npos || expires.size() > 18)
        return file_error(res, 403, "invalidSignature", "the download URL is malformed");
    if (std::stoll(expires) <= unix_seconds(clock_.now()))
        return file_error(res, 403, "urlExpired", "this download URL has expired");
    if (it == files_.end() || req.get_param_value("signature") != it->second.signature ||
        expires != std::to_string(it->second.expires))
        return file_error(res, 403, "invalidSignature", "unknown file or bad signature");
    res.set_content(it->second.content, it->second.content_type);
}

}  // namespace cargomon::sim
