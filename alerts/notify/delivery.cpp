#include "alerts/notify/delivery.h"

#include <spdlog/spdlog.h>

#include <functional>

#include "metrics/self_metrics.h"

namespace cargomon::alerts::notify {
namespace {

constexpr std::size_t kBatch = 256;

// Real time between checks for due retries when nothing wakes a worker.
constexpr auto kIdlePoll = std::chrono::milliseconds{500};
// While stopping, how often a worker's request is cancelled again until the worker is done
// (one started just before it saw the stop).
constexpr auto kCancelRepeat = std::chrono::milliseconds{20};

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Delivery::Delivery(Outbox& outbox, const Receivers& receivers, const Clock& clock, prometheus::Registry& registry)
    : outbox_(outbox),
      receivers_(receivers),
      clock_(clock),
      notifications_(metrics::counter_family(
          registry, "cargomon_notifications_total",
          "Notification delivery outcomes by receiver and integration (delivered, retried, failed, dropped).")),
      outbox_length_(metrics::gauge_family(registry, "cargomon_notification_outbox_length",
                                           "Notifications in the outbox not yet delivered, failed or dropped.")
                         .Add({})),
      oldest_age_(metrics::gauge_family(registry, "cargomon_notification_outbox_oldest_age_seconds",
                                        "Age of the oldest undelivered notification (0 when there is none).")
                      .Add({})),
      redelivered_(
          metrics::counter_family(registry, "cargomon_notifications_redelivered_total",
                                  "Notifications sent again after a process stopped between sending them and recording "
                                  "the answer: the receiver may have got them twice (same Idempotency-Key).")),
      latency_(
          metrics::histogram_family(registry, "cargomon_notification_delivery_latency_seconds",
                                    "From the decision to notify to the receiver's acceptance, retries included.")) {}

Delivery::~Delivery() { stop(); }

void Delivery::count(const std::string& receiver, std::string_view kind, std::string_view outcome) {
    notifications_.Add({{"receiver", receiver}, {"integration", std::string(kind)}, {"outcome", std::string(outcome)}})
        .Increment();
}

void Delivery::update_gauges() {
    outbox_length_.Set(static_cast<double>(outbox_.pending_count()));
    std::optional<Millis> oldest = outbox_.oldest_pending_age();
    oldest_age_.Set(oldest ? seconds(*oldest) : 0);
}

void Delivery::housekeeping() {
    if (!last_prune_ || clock_.monotonic() - *last_prune_ >= std::chrono::hours{1}) {
        outbox_.prune();
        last_prune_ = clock_.monotonic();
    }
    for (const OutboxItem& item : outbox_.expired()) {
        outbox_.mark(item.id, OutboxState::dropped, "older than the maximum age");
        Integration* integration = receivers_.find(item.receiver, item.integration);
        count(item.receiver, integration ? integration->kind() : "unknown", "dropped");
        spdlog::warn("notification {} to receiver {} dropped after {} attempts: older than the maximum age",
                     item.idempotency_key, item.receiver, item.attempts);
    }
    for (const OutboxTarget& target : outbox_.pending_targets()) {
        if (receivers_.find(target.first, target.second)) continue;
        // The configuration changed under a queued notification: no worker sends for it.
        for (const OutboxItem& item : outbox_.due(kBatch, &target)) {
            outbox_.mark(item.id, OutboxState::failed, "receiver no longer configured");
            count(item.receiver, "unknown", "failed");
            spdlog::error("notification {} failed: receiver {} integration {} is no longer configured",
                          item.idempotency_key, item.receiver, item.integration);
        }
    }
    update_gauges();
}

std::size_t Delivery::send_due(const OutboxTarget& target, Integration& integration) {
    std::size_t tried = 0;
    for (;;) {
        std::vector<OutboxItem> due = outbox_.due(kBatch, &target);
        if (due.empty()) return tried;
        for (const OutboxItem& item : due) {
            if (stopping_) return tried;
            ++tried;
            if (outbox_.begin_send(item.id)) {
                redelivered_.Add({{"receiver", item.receiver}, {"integration", std::string(integration.kind())}})
                    .Increment();
                spdlog::warn("notification {} to receiver {} ({}) sent again: the process that sent it before "
                             "stopped before the answer was recorded, so the receiver may get it twice",
                             item.idempotency_key, item.receiver, integration.kind());
            }
            const SendResult result = integration.send(item.body, item.idempotency_key, clock_.now());
            // Cut short by stop(): the item stays pending, due at once, for the next start.
            if (stopping_ && result.outcome != SendResult::Outcome::delivered) return tried;
            switch (result.outcome) {
                case SendResult::Outcome::delivered:
                    outbox_.mark(item.id, OutboxState::delivered);
                    count(item.receiver, integration.kind(), "delivered");
                    latency_.Add({{"receiver", item.receiver}}, prometheus::Histogram::BucketBoundaries{
                                                                   0.01, 0.05, 0.25, 1, 5, 30, 120, 600, 3600})
                        .Observe(seconds(clock_.monotonic() - item.enqueued));
                    break;
                case SendResult::Outcome::retry:
                    outbox_.retry_later(item, result.error);
                    count(item.receiver, integration.kind(), "retried");
                    spdlog::warn("notification {} to receiver {} ({}) will be retried: {}", item.idempotency_key,
                                 item.receiver, integration.kind(), result.error);
                    // The items behind it wait for its retry (Outbox::due keeps them in order).
                    return tried;
                case SendResult::Outcome::failed:
                    outbox_.mark(item.id, OutboxState::failed, result.error);
                    count(item.receiver, integration.kind(), "failed");
                    spdlog::error("notification {} to receiver {} ({}) failed, not retried: {}",
                                  item.idempotency_key, item.receiver, integration.kind(), result.error);
                    break;
            }
        }
    }
}

std::size_t Delivery::run_due() {
    housekeeping();
    std::size_t tried = 0;
    for (const auto& [name, integrations] : receivers_.all())
        for (std::size_t i = 0; i < integrations.size(); ++i) tried += send_due({name, i}, *integrations[i]);
    update_gauges();
    return tried;
}

void Delivery::run_worker(Worker& worker, const std::function<void()>& step) {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        const std::uint64_t seen = wakes_;
        lock.unlock();
        try {
            step();
        } catch (const std::exception& e) {
            spdlog::error("notification delivery: {}", e.what());
        }
        lock.lock();
        cv_.wait_for(lock, kIdlePoll, [&] { return stopping_ || wakes_ != seen; });
    }
    worker.done = true;
    cv_.notify_all();
}

void Delivery::start() {
    std::lock_guard lock(mu_);
    if (!workers_.empty()) return;
    stopping_ = false;
    auto add = [&](Integration* integration, std::function<void()> step) {
        auto& worker = *workers_.emplace_back(std::make_unique<Worker>());
        worker.integration = integration;
        worker.thread = std::thread([this, &worker, step = std::move(step)] { run_worker(worker, step); });
    };
    add(nullptr, [this] { housekeeping(); });
    for (const auto& [name, integrations] : receivers_.all())
        for (std::size_t i = 0; i < integrations.size(); ++i) {
            Integration* integration = integrations[i].get();
            add(integration, [this, target = OutboxTarget{name, i}, integration] { send_due(target, *integration); });
        }
}

void Delivery::stop() {
    std::unique_lock lock(mu_);
    stopping_ = true;
    cv_.notify_all();
    for (auto& worker : workers_) {
        while (!worker->done) {
            if (worker->integration) {
                lock.unlock();
                worker->integration->cancel();
                lock.lock();
            }
            cv_.wait_for(lock, kCancelRepeat, [&] { return worker->done; });
        }
    }
    std::vector<std::unique_ptr<Worker>> workers = std::move(workers_);
    workers_.clear();
    lock.unlock();
    for (auto& worker : workers) worker->thread.join();
}

void Delivery::wake() {
    {
        std::lock_guard lock(mu_);
        ++wakes_;
    }
    cv_.notify_all();
}

}  // namespace cargomon::alerts::notify
