#include "alerts/notify/delivery.h"

#include <spdlog/spdlog.h>

namespace cargomon::alerts {
namespace {

constexpr std::size_t kBatch = 256;

// Real time between checks for due retries when nothing wakes the thread.
constexpr auto kIdlePoll = std::chrono::milliseconds{500};

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Delivery::Delivery(Outbox& outbox, const Receivers& receivers, const Clock& clock, prometheus::Registry& registry)
    : outbox_(outbox),
      receivers_(receivers),
      clock_(clock),
      notifications_(prometheus::BuildCounter()
                         .Name("cargomon_notifications_total")
                         .Help("Notification delivery outcomes by receiver and integration "
                               "(delivered, retried, failed, dropped).")
                         .Register(registry)),
      outbox_length_(prometheus::BuildGauge()
                         .Name("cargomon_notification_outbox_length")
                         .Help("Notifications in the outbox not yet delivered, failed or dropped.")
                         .Register(registry)
                         .Add({})),
      oldest_age_(prometheus::BuildGauge()
                      .Name("cargomon_notification_outbox_oldest_age_seconds")
                      .Help("Age of the oldest undelivered notification (0 when there is none).")
                      .Register(registry)
                      .Add({})),
      latency_(prometheus::BuildHistogram()
                   .Name("cargomon_notification_delivery_latency_seconds")
                   .Help("From the decision to notify to the receiver's acceptance, retries included.")
                   .Register(registry)) {}

Delivery::~Delivery() { stop(); }

void Delivery::count(const std::string& receiver, std::string_view kind, std::string_view outcome) {
    notifications_.Add({{"receiver", receiver}, {"integration", std::string(kind)}, {"outcome", std::string(outcome)}})
        .Increment();
}

void Delivery::update_gauges() {
    outbox_length_.Set(static_cast<double>(outbox_.pending_count()));
    std::optional<SystemTime> oldest = outbox_.oldest_pending();
    oldest_age_.Set(oldest ? seconds(clock_.now() - *oldest) : 0);
}

std::size_t Delivery::run_due() {
    if (!last_prune_ || clock_.now() - *last_prune_ >= std::chrono::hours{1}) {
        outbox_.prune();
        last_prune_ = clock_.now();
    }
    for (const OutboxItem& item : outbox_.expired()) {
        outbox_.mark(item.id, OutboxState::dropped, "older than the maximum age");
        Integration* integration = receivers_.find(item.receiver, item.integration);
        count(item.receiver, integration ? integration->kind() : "unknown", "dropped");
        spdlog::warn("notification {} to receiver {} dropped after {} attempts: older than the maximum age",
                     item.idempotency_key, item.receiver, item.attempts);
    }
    std::size_t tried = 0;
    for (;;) {
        std::vector<OutboxItem> due = outbox_.due(kBatch);
        if (due.empty()) break;
        for (const OutboxItem& item : due) {
            Integration* integration = receivers_.find(item.receiver, item.integration);
            if (!integration) {
                // The configuration changed under a queued notification.
                outbox_.mark(item.id, OutboxState::failed, "receiver no longer configured");
                count(item.receiver, "unknown", "failed");
                spdlog::error("notification {} failed: receiver {} integration {} is no longer configured",
                              item.idempotency_key, item.receiver, item.integration);
                continue;
            }
            ++tried;
            const SendResult result = integration->send(item.body, item.idempotency_key, clock_.now());
            switch (result.outcome) {
                case SendResult::Outcome::delivered:
                    outbox_.mark(item.id, OutboxState::delivered);
                    count(item.receiver, integration->kind(), "delivered");
                    latency_.Add({{"receiver", item.receiver}}, prometheus::Histogram::BucketBoundaries{
                                                                   0.01, 0.05, 0.25, 1, 5, 30, 120, 600, 3600})
                        .Observe(seconds(clock_.now() - item.created_at));
                    break;
                case SendResult::Outcome::retry:
                    outbox_.retry_later(item, result.error);
                    count(item.receiver, integration->kind(), "retried");
                    spdlog::warn("notification {} to receiver {} ({}) will be retried: {}", item.idempotency_key,
                                 item.receiver, integration->kind(), result.error);
                    break;
                case SendResult::Outcome::failed:
                    outbox_.mark(item.id, OutboxState::failed, result.error);
                    count(item.receiver, integration->kind(), "failed");
                    spdlog::error("notification {} to receiver {} ({}) failed, not retried: {}",
                                  item.idempotency_key, item.receiver, integration->kind(), result.error);
                    break;
            }
        }
    }
    update_gauges();
    return tried;
}

void Delivery::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] {
        std::unique_lock lock(mu_);
        while (!stopping_) {
            woken_ = false;
            lock.unlock();
            try {
                run_due();
            } catch (const std::exception& e) {
                spdlog::error("notification delivery: {}", e.what());
            }
            lock.lock();
            cv_.wait_for(lock, kIdlePoll, [this] { return stopping_ || woken_; });
        }
    });
}

void Delivery::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Delivery::wake() {
    {
        std::lock_guard lock(mu_);
        woken_ = true;
    }
    cv_.notify_all();
}

}  // namespace cargomon::alerts
