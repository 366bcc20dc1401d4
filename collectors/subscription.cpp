#include "collectors/subscription.h"

#include <cmath>
#include <limits>

#include "collectors/families.h"
#include "collectors/series.h"
#include "common/clock.h"

namespace cargomon::collectors {

namespace {

constexpr const char* kAvailable = "cargo_credits_available";
constexpr const char* kAdditional = "cargo_credits_additional_available";
// Not cargo_credits_used: the credits collector's family of that name is per workflow and
// period, and a workspace-wide series in it would be summed with them.
constexpr const char* kUsed = "cargo_credits_period_used";
constexpr const char* kReset = "cargo_credits_period_reset_timestamp_seconds";
// PromQL in rules has no time(): "before the period resets" compares with this.
constexpr const char* kRemaining = "cargo_credits_period_remaining_seconds";
constexpr const char* kDenied = "cargo_credits_overage_denied";
constexpr const char* kBurned = "cargo_credits_burned";
constexpr const char* kForecast = "cargo_credits_exhaustion_forecast_seconds";

const FamilyTable& families() {
    static const FamilyTable table({
        {.name = kAvailable, .help = "Credits left in the subscription's current period (subscriptionAvailableCreditsCount)"},
        {.name = kAdditional, .help = "Additional credits left beside the plan's (additionalAvailableCreditsCount)"},
        {.name = kUsed, .help = "Credits used in the subscription's current period (subscriptionCreditsUsedCount)"},
        {.name = kReset, .help = "When the subscription's credits reset (resetAt), as a Unix timestamp"},
        {.name = kRemaining, .help = "Seconds until the subscription's credits reset"},
        {.name = kDenied,
         .help = "1 when work is refused once the unit's balance is spent (overage behaviour deny), 0 when allowed",
         .labels = {"unit"}},
        {.name = kBurned, .help = "Credits used in the burn window, from billing usage", .labels = {"window"}},
        {.name = kForecast,
         .help = "Seconds until the credits left (available + additional) are spent at the burn window's rate; "
                 "+Inf when nothing is burning"},
    });
    return table;
}

}  // namespace

double exhaustion_forecast_seconds(double balance, double burned, Millis window) {
    constexpr double kNever = std::numeric_limits<double>::infinity();
    if (!std::isfinite(balance) || !std::isfinite(burned)) return kNever;
    if (balance <= 0) return 0;
    const double seconds = std::chrono::duration<double>(window).count();
    if (burned <= 0 || seconds <= 0) return kNever;
    return balance / (burned / seconds);
}

SubscriptionCollector::SubscriptionCollector(std::string name, config::SubscriptionSpec spec,
                                             cargo::ApiClient& client, const Clock& clock)
    : name_(std::move(name)), spec_(spec), client_(client), clock_(clock) {}

std::vector<std::string> SubscriptionCollector::metric_names() const { return families().names(); }

metrics::Snapshot SubscriptionCollector::collect(const CollectContext& context) {
    const auto now = whole_seconds(clock_.now());
    check_time_left(context, clock_);
    const cargo::Subscription s = client_.subscription();
    check_time_left(context, clock_);
    double burned = 0;
    for (const auto& day : client_.usage_metrics({.from = now - spec_.burn_window, .to = now, .unit = "billing.credits"}))
        for (const auto& item : day.items) burned += item.count;

    auto gauge = [&](const char* name, double value, metrics::Labels labels = {}) {
        auto family = families().family(name);
        family.add(std::move(labels), value);
        return std::move(family).take();
    };
    const double reset = unix_seconds(s.reset_at);
    metrics::Snapshot snapshot;
    snapshot.families.push_back(gauge(kAvailable, s.available_credits));
    snapshot.families.push_back(gauge(kAdditional, s.additional_credits));
    snapshot.families.push_back(gauge(kUsed, s.used_credits));
    snapshot.families.push_back(gauge(kReset, reset));
    snapshot.families.push_back(
        gauge(kRemaining, std::chrono::duration<double>(s.reset_at - clock_.now()).count()));
    auto denied = families().family(kDenied);
    for (const auto& b : s.overage) denied.add({{"unit", b.unit}}, b.denied ? 1 : 0);
    snapshot.families.push_back(std::move(denied).take());
    snapshot.families.push_back(gauge(kBurned, burned, {{"window", window_label(spec_.burn_window)}}));
    snapshot.families.push_back(gauge(
        kForecast, exhaustion_forecast_seconds(s.available_credits + s.additional_credits, burned, spec_.burn_window)));
    return snapshot;
}

}  // namespace cargomon::collectors
