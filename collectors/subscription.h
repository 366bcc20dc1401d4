#pragma once
// The subscription collector: the credits left in the workspace's subscription
// (/billing/subscriptions) and when they run out at the burn rate of the last
// `burn_window` of billing usage (/billing/usage/metrics, unit billing.credits): two API
// calls a cycle, whatever the workspace's size.
#include "cargo/client.h"
#include "collectors/collector.h"
#include "config/config.h"

namespace cargomon::collectors {

// Seconds until a balance of `balance` credits is spent when `burned` credits went in
// the last `window`: balance / (burned / window). 0 when nothing is left, +Inf when
// nothing is burning (or the figures are not numbers a forecast can use).
double exhaustion_forecast_seconds(double balance, double burned, Millis window);

class SubscriptionCollector final : public Collector {
public:
    SubscriptionCollector(std::string name, config::SubscriptionSpec spec, cargo::ApiClient& client,
                          const Clock& clock);

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "subscription"; }
    std::vector<std::string> metric_names() const override;
    metrics::Snapshot collect(const CollectContext& context) override;

private:
    std::string name_;
    config::SubscriptionSpec spec_;
    cargo::ApiClient& client_;
    const Clock& clock_;
};

}  // namespace cargomon::collectors
