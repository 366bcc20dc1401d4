#include "web/client_buckets.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace cargomon::web {

ClientBuckets::ClientBuckets(int burst, std::chrono::milliseconds interval)
    : burst_(std::max(1, burst)), interval_(interval), overflow_(burst_, interval_, Clock::now()) {}

TokenBucket& ClientBuckets::bucket_of(const std::string& client, Clock::time_point now) {
    auto it = buckets_.find(client);
    if (it == buckets_.end()) {
        if (buckets_.size() >= kMaxClients) {
            for (auto e = buckets_.begin(); e != buckets_.end();)
                e = e->second.full(now) ? buckets_.erase(e) : std::next(e);
        }
        if (buckets_.size() >= kMaxClients) return overflow_;
        it = buckets_.emplace(client, TokenBucket(burst_, interval_, now)).first;
    }
    return it->second;
}

bool ClientBuckets::take(const std::string& client, Clock::time_point now) {
    if (interval_.count() <= 0) return true;
    std::lock_guard lock(mu_);
    return bucket_of(client, now).try_take(now);
}

void ClientBuckets::give_back(const std::string& client, Clock::time_point now) {
    if (interval_.count() <= 0) return;
    std::lock_guard lock(mu_);
    bucket_of(client, now).give_back(now);
}

long ClientBuckets::retry_after_seconds(const std::string& client, Clock::time_point now) {
    if (interval_.count() <= 0) return 1;
    std::lock_guard lock(mu_);
    const double wait = bucket_of(client, now).wait(now).count();
    return std::max(1L, static_cast<long>(std::ceil(wait)));
}

std::size_t ClientBuckets::clients() const {
    std::lock_guard lock(mu_);
    return buckets_.size();
}

}  // namespace cargomon::web
