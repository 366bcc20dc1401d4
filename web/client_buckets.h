#pragma once
// Token buckets (common/token_bucket.h) by client (Request::client), for the limits that
// must hold per client: the rate limit, and failed logins. Each client's bucket holds up
// to `burst` tokens and gains one per `interval`; a request that finds none is refused.
//
// The table is bounded (kMaxClients). A full bucket is the same as no bucket, so those are
// dropped first; when every entry is in use, clients not in the table share one overflow
// bucket, so many addresses at once are limited together, never forgotten.
//
// Thread-safe.
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/token_bucket.h"

namespace cargomon::web {

class ClientBuckets {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kMaxClients = 4096;

    // interval 0: no limit (take() always succeeds).
    ClientBuckets(int burst, std::chrono::milliseconds interval);

    // Takes a token of `client`'s bucket; false when it has none.
    bool take(const std::string& client, Clock::time_point now = Clock::now());
    // Returns a token taken for something that did not count (a login that passed).
    void give_back(const std::string& client, Clock::time_point now = Clock::now());
    // Whole seconds until `client` has a token again (at least 1).
    long retry_after_seconds(const std::string& client, Clock::time_point now = Clock::now());

    std::size_t clients() const;

private:
    TokenBucket& bucket_of(const std::string& client, Clock::time_point now);  // under mu_

    const double burst_;
    const std::chrono::duration<double> interval_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, TokenBucket> buckets_;
    TokenBucket overflow_;
};

}  // namespace cargomon::web
