#include "web/client_buckets.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace cargomon::web {

ClientBuckets::ClientBuckets(int burst, std::chrono::milliseconds interval)
    : burst_(std::max(1, burst)), interval_(interval), overflow_{burst_, Clock::now()} {}

void ClientBuckets::refill(Bucket& b, Clock::time_point now) const {
    if (now > b.refilled) b.tokens = std::min(burst_, b.tokens + (now - b.refilled) / interval_);
    b.refilled = std::max(now, b.refilled);
}

ClientBuckets::Bucket& ClientBuckets::bucket_of(const std::string& client, Clock::time_point now) {
    auto it = buckets_.find(client);
    if (it == buckets_.end()) {
        if (buckets_.size() >= kMaxClients) {
            for (auto e = buckets_.begin(); e != buckets_.end();) {
                refill(e->second, now);
                e = e->second.tokens >= burst_ ? buckets_.erase(e) : std::next(e);
            }
        }
        if (buckets_.size() >= kMaxClients) {
            refill(overflow_, now);
            return overflow_;
        }
        it = buckets_.emplace(client, Bucket{burst_, now}).first;
    }
    refill(it->second, now);
    return it->second;
}

bool ClientBuckets::take(const std::string& client, Clock::time_point now) {
    if (interval_.count() <= 0) return true;
    std::lock_guard lock(mu_);
    Bucket& b = bucket_of(client, now);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
}

void ClientBuckets::give_back(const std::string& client, Clock::time_point now) {
    if (interval_.count() <= 0) return;
    std::lock_guard lock(mu_);
    Bucket& b = bucket_of(client, now);
    b.tokens = std::min(burst_, b.tokens + 1);
}

long ClientBuckets::retry_after_seconds(const std::string& client, Clock::time_point now) {
    if (interval_.count() <= 0) return 1;
    std::lock_guard lock(mu_);
    Bucket& b = bucket_of(client, now);
    const double wait = std::max(0.0, 1 - b.tokens) * interval_.count();
    return std::max(1L, static_cast<long>(std::ceil(wait)));
}

std::size_t ClientBuckets::clients() const {
    std::lock_guard lock(mu_);
    return buckets_.size();
}

}  // namespace cargomon::web
