// The workspace's subscription (GET /billing/subscriptions) and the credit check that
// creating a batch passes: one balance, consumed by what the spans of the period used.
#include <cmath>

#include "common/timefmt.h"
#include "sim/api/internal.h"

namespace cargomon::sim {
namespace {

SystemTime start_of_month(SystemTime t) {
    const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(t)};
    return std::chrono::sys_days{day.year() / day.month() / 1};
}

void write_behaviors(JsonWriter& w, std::string_view action) {
    w.StartArray();
    w.StartObject();
    w.Key("unit"), w.String("billing.credits");
    w.Key("action"), w.String(action.data(), static_cast<rapidjson::SizeType>(action.size()));
    w.EndObject();
    w.EndArray();
}

// Whole credits go out as integers, as the usage endpoint writes them.
void write_credits(JsonWriter& w, double credits) {
    if (credits == std::floor(credits) && std::abs(credits) < 9e15) w.Int64(static_cast<int64_t>(credits));
    else w.Double(credits);
}

}  // namespace

CreditPeriod credit_period(SystemTime now) {
    const SystemTime start = start_of_month(now);
    return {.start = start, .reset = start_of_month(start + std::chrono::days{32})};
}

CreditBalance credit_balance(const Call& call) {
    if (!call.ctx.subscription) throw ApiError(404, "subscriptionNotFound", "this workspace has no subscription");
    const SubscriptionPlan& plan = *call.ctx.subscription;
    const CreditPeriod period = credit_period(call.now());
    // The same spans, and the same instants, as /billing/usage/metrics counts for the period.
    rapidjson::Document used = call.select(
        "SELECT toFloat64(sum(execution_credits_used_count)) FROM spans WHERE execution_started_at >= " +
        sql_time(period.start) + " AND execution_started_at < " + sql_time(period.reset));
    const auto& cell = used["data"][0][0];
    CreditBalance b{.period = period, .used = cell.IsNumber() ? cell.GetDouble() : 0};
    // The plan's credits go first, then the additional ones.
    b.plan_left = std::max(0.0, plan.credits_per_month - b.used);
    b.additional_left = std::max(0.0, plan.additional_credits - std::max(0.0, b.used - plan.credits_per_month));
    return b;
}

void check_credits_left(const Call& call) {
    if (!call.ctx.subscription || !call.ctx.subscription->overage_denied) return;
    const CreditBalance b = credit_balance(call);
    if (b.plan_left + b.additional_left <= 0)
        throw ApiError(400, "notEnoughCredits",
                       "not enough credits: this workspace used " + std::to_string(static_cast<int64_t>(b.used)) +
                           " of its " +
                           std::to_string(static_cast<int64_t>(call.ctx.subscription->credits_per_month +
                                                               call.ctx.subscription->additional_credits)) +
                           " credits this month");
}

std::string handle_subscription(const Call& call) {
    const CreditBalance b = credit_balance(call);
    const SubscriptionPlan& plan = *call.ctx.subscription;
    const std::string& ws = call.workspace.uuid;
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("subscription");
    w.StartObject();
    // Every field of the typings' EnrichedSubscription; T | null ones present, as null.
    w.Key("uuid"), w.String("sub-" + ws);
    w.Key("workspaceUuid"), w.String(ws);
    w.Key("provider"), w.String("orb");
    w.Key("customerOrbId"), w.String("orb-customer-" + ws.substr(0, 8));
    w.Key("customerStripeId"), w.String("cus_" + ws.substr(0, 8));
    w.Key("subscriptionStatus"), w.String("active");
    w.Key("subscriptionStripeId"), w.Null();
    w.Key("subscriptionAvailableCreditsCount"), write_credits(w, b.plan_left);
    w.Key("subscriptionCreditsUsedCount"), write_credits(w, b.used);
    w.Key("additionalAvailableCreditsCount"), write_credits(w, b.additional_left);
    w.Key("creditsOverageBehaviors"), write_behaviors(w, plan.overage_denied ? "deny" : "allow");
    w.Key("creditsConsumptionBehaviors"), write_behaviors(w, "allow");
    w.Key("createdAt"), write_time(w, b.period.start - std::chrono::days{365});
    w.Key("updatedAt"), write_time(w, b.period.start);
    w.Key("plan"), w.String("enterprise");
    w.Key("cadence"), w.String("monthly");
    w.Key("fixedPrice"), w.Int(0);
    w.Key("conversionRate"), w.Int(1);
    w.Key("startAt"), write_time(w, b.period.start);
    w.Key("resetAt"), write_time(w, b.period.reset);
    w.Key("endAt"), w.Null();
    w.Key("hasPendingChange"), w.Bool(false);
    w.Key("hasCredits"), w.Bool(b.plan_left + b.additional_left > 0);
    w.Key("futureChange"), w.Null();
    w.Key("topup"), w.Null();
    w.EndObject();
    w.EndObject();
    return buf.GetString();
}

}  // namespace cargomon::sim
