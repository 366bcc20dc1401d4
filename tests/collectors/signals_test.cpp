// The subscription and durations collectors against the real sim (ClickHouse behind it):
// every figure they publish equals what the sim's own tables say, computed here another
// way (sums of raw rows, quantiles picked from sorted arrays), and each costs O(1) calls.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "cargo/client.h"
#include "cargo/sleeper.h"
#include "collectors/discovery.h"
#include "collectors/durations.h"
#include "collectors/grouped_sql.h"
#include "collectors/series.h"
#include "collectors/subscription.h"
#include "common/timefmt.h"
#include "tests/collectors/sim_client_env.h"
#include "tests/support/environment_main.h"
#include "tests/support/sim_process.h"

namespace cargomon::collectors {
namespace {

using namespace std::chrono_literals;

constexpr double kPlanCredits = 5'000'000, kAdditional = 1234;


SimClientEnv* env = nullptr;

double requests() { return env->requests(); }

// "name{label=value,...}" (sorted labels, the part's suffix on the name) -> value.
using Series = std::map<std::string, double>;
Series series_of(const metrics::Snapshot& snapshot) {
    Series out;
    for (const auto& family : snapshot.families)
        for (const auto& sample : family.samples) {
            auto labels = sample.labels;
            std::sort(labels.begin(), labels.end());
            std::string key = family.name + std::string(metrics::part_suffix(sample.part)) + "{";
            for (const auto& [name, value] : labels) key += name + "=" + value + ",";
            out[key + "}"] = sample.value;
        }
    return out;
}

double single(const cargo::QueryResult& result, const char* column) { return cell_number(result, 0, column, "test"); }

// The value quantileExact(q) picks: the element at floor(q * n) of the sorted values.
double exact_quantile(std::vector<double> sorted, double q) {
    const auto at = std::min(sorted.size() - 1, static_cast<std::size_t>(q * static_cast<double>(sorted.size())));
    return sorted[at];
}

std::vector<double> numbers(const std::string& json_array) {
    rapidjson::Document doc;
    doc.Parse(json_array.c_str());
    std::vector<double> out;
    for (const auto& v : doc.GetArray()) out.push_back(v.GetDouble());
    std::sort(out.begin(), out.end());
    return out;
}

// key -> sorted durations, from `sql` selecting `key` and `d` (an array of seconds).
std::map<std::string, std::vector<double>> durations(const std::string& sql) {
    auto result = env->client->query(sql);
    std::map<std::string, std::vector<double>> out;
    for (std::size_t r = 0; r < result.row_count(); ++r)
        out[cell_text(result, r, "k", "test")] = numbers(cell_text(result, r, "d", "test"));
    return out;
}

TEST(ExhaustionForecast, BalanceOverTheBurnRateInfinityWhenIdleZeroWhenSpent) {
    // 480 credits burned in 24 h: 20 an hour; 100 left last 5 hours.
    EXPECT_DOUBLE_EQ(exhaustion_forecast_seconds(100, 480, 24h), 5 * 3600.0);
    EXPECT_DOUBLE_EQ(exhaustion_forecast_seconds(1, 86400, 24h), 1.0);
    EXPECT_EQ(exhaustion_forecast_seconds(100, 0, 24h), std::numeric_limits<double>::infinity());
    EXPECT_EQ(exhaustion_forecast_seconds(100, -5, 24h), std::numeric_limits<double>::infinity());
    EXPECT_EQ(exhaustion_forecast_seconds(0, 480, 24h), 0);
    EXPECT_EQ(exhaustion_forecast_seconds(-3, 0, 24h), 0);  // overdrawn, idle: already out
    EXPECT_EQ(exhaustion_forecast_seconds(std::nan(""), 480, 24h), std::numeric_limits<double>::infinity());
}

TEST(Subscription, FiguresAreTheSimsBalanceFromItsSpans) {
    FakeClock frozen(whole_seconds(env->clock.now()));
    SubscriptionCollector collector("subscription", {.burn_window = 24h}, *env->client, frozen);
    const double before = requests();
    const Series got = series_of(collector.collect({.deadline = frozen.monotonic() + 1min}));
    EXPECT_EQ(requests() - before, 2);

    const auto now = frozen.now();
    const std::chrono::year_month_day today{std::chrono::floor<std::chrono::days>(now)};
    const SystemTime month = std::chrono::sys_days{today.year() / today.month() / 1};
    const SystemTime reset = std::chrono::sys_days{(today.year() / today.month() / 1) + std::chrono::months{1}};
    const double used = single(env->client->query("SELECT sum(execution_credits_used_count) AS c FROM spans WHERE "
                                                  "execution_started_at >= " + sql_datetime(month)), "c");
    const double burned = single(env->client->query("SELECT sum(execution_credits_used_count) AS c FROM spans WHERE "
                                                    "execution_started_at >= " + sql_datetime(now - 24h) +
                                                    " AND execution_started_at < " + sql_datetime(now)), "c");
    ASSERT_GT(burned, 0);
    const double plan_left = std::max(0.0, kPlanCredits - used);
    const double additional_left = std::max(0.0, kAdditional - std::max(0.0, used - kPlanCredits));
    const double reset_unix = std::chrono::duration<double>(reset.time_since_epoch()).count();
    EXPECT_NEAR(got.at("cargo_credits_available{}"), plan_left, 1e-6);
    EXPECT_NEAR(got.at("cargo_credits_additional_available{}"), additional_left, 1e-6);
    EXPECT_NEAR(got.at("cargo_credits_period_used{}"), used, 1e-6);
    EXPECT_EQ(got.at("cargo_credits_period_reset_timestamp_seconds{}"), reset_unix);
    EXPECT_EQ(got.at("cargo_credits_period_remaining_seconds{}"),
              reset_unix - std::chrono::duration<double>(now.time_since_epoch()).count());
    EXPECT_EQ(got.at("cargo_credits_overage_denied{unit=billing.credits,}"), 1);  // --credits: deny
    EXPECT_NEAR(got.at("cargo_credits_burned{window=1d,}"), burned, 1e-6);
    EXPECT_NEAR(got.at("cargo_credits_exhaustion_forecast_seconds{}"),
                (plan_left + additional_left) / (burned / 86400.0), 1e-3);
}

TEST(Durations, EveryFigureMatchesTheSimsTables) {
    FakeClock frozen(whole_seconds(env->clock.now()));
    const auto workflows = env->catalog.require();
    // A created batch never runs in the sim: it stays pending, unfinished, for good.
    const auto& wf = workflows->covered.front();
    const auto batch = cell_text(env->client->query("SELECT uuid FROM batches WHERE workflow_uuid = " +
                                                    sql_string(wf.uuid) + " LIMIT 1"),
                                 0, "uuid", "test");
    const auto created = env->client->create_batch(
        wf.uuid, R"({"kind": "runs", "filter": {"kind": "runs", "batchUuid": ")" + batch +
                     R"(", "statuses": ["error"]}, "reset": {"from": "firstNode"}})");
    frozen.advance(90s);

    DurationsCollector collector("durations", {.window = 6h, .baseline = 48h, .limit = 20}, *env->client, env->catalog,
                                 frozen);
    const double before = requests();
    const Series got = series_of(collector.collect({.deadline = frozen.monotonic() + 1min}));
    EXPECT_EQ(requests() - before, 5);  // one query per figure, whatever the workflows

    const auto now = frozen.now();
    const std::string from = sql_datetime(now - 6h), to = sql_datetime(now), baseline = sql_datetime(now - 48h);
    Series want;
    auto summary = [&](const std::string& name, const std::string& labels, const std::vector<double>& d) {
        double sum = 0;
        for (double v : d) sum += v;
        want[name + "_count{" + labels + "}"] = static_cast<double>(d.size());
        want[name + "_sum{" + labels + "}"] = sum;
        for (const auto& [q, text] : {std::pair{0.5, "0.5"}, std::pair{0.9, "0.9"}, std::pair{0.99, "0.99"}}) {
            // quantile sorts between node_uuid/node_slug and window, as Labels do.
            std::string with = labels;
            with.insert(with.find("window="), std::string("quantile=") + text + ",");
            want[name + "{" + with + "}"] = exact_quantile(d, q);
        }
    };
    auto info = [&](const std::string& uuid) {
        return std::find_if(workflows->covered.begin(), workflows->covered.end(),
                            [&](const WorkflowInfo& w) { return w.uuid == uuid; });
    };
    auto wf_labels = [&](const WorkflowInfo& w) { return "workflow_name=" + w.name + ",workflow_uuid=" + w.uuid + ","; };

    for (const auto& [uuid, d] : durations(
             "SELECT workflow_uuid AS k, groupArray(toUnixTimestamp(finished_at) - toUnixTimestamp(created_at)) AS d "
             "FROM runs WHERE finished_at >= " + from + " AND finished_at < " + to + " GROUP BY workflow_uuid"))
        summary("cargo_workflow_run_duration_seconds", "window=6h," + wf_labels(*info(uuid)), d);
    for (const auto& [key, d] : durations(
             "SELECT concat(workflow_uuid, ' ', node_uuid) AS k, groupArray(toUnixTimestamp(execution_finished_at) - "
             "toUnixTimestamp(execution_started_at)) AS d FROM spans WHERE execution_finished_at >= " + from +
             " AND execution_finished_at < " + to + " GROUP BY workflow_uuid, node_uuid")) {
        const auto& w = *info(key.substr(0, key.find(' ')));
        const auto node = key.substr(key.find(' ') + 1);
        summary("cargo_node_execution_duration_seconds",
                "node_slug=" + w.node_slug(node) + ",node_uuid=" + node + ",window=6h," + wf_labels(w), d);
    }
    for (const auto& [uuid, d] : durations(
             "SELECT workflow_uuid AS k, groupArray(toUnixTimestamp(finished_at) - toUnixTimestamp(created_at)) AS d "
             "FROM batches WHERE finished_at >= " + baseline + " AND finished_at < " + to + " GROUP BY workflow_uuid"))
        want["cargo_workflow_batch_duration_p90_seconds{window=2d," + wf_labels(*info(uuid)) + "}"] = exact_quantile(d, 0.9);
    auto open = env->client->query("SELECT workflow_uuid, uuid, runs_count, executed_runs_count, "
                                   "toUnixTimestamp(created_at) AS t FROM batches WHERE isNull(finished_at)");
    ASSERT_GE(open.row_count(), 1u);
    for (std::size_t r = 0; r < open.row_count(); ++r) {
        const auto t = static_cast<std::int64_t>(cell_number(open, r, "t", "test"));
        const auto labels = "batch_uuid=" + cell_text(open, r, "uuid", "test") +
                            ",created_at=" + format_iso8601(SystemTime{std::chrono::seconds{t}}) + "," +
                            wf_labels(*info(cell_text(open, r, "workflow_uuid", "test")));
        const double total = cell_number(open, r, "runs_count", "test");
        want["cargo_batch_running_seconds{" + labels + "}"] =
            std::chrono::duration<double>(now.time_since_epoch()).count() - static_cast<double>(t);
        want["cargo_batch_progress_ratio{" + labels + "}"] =
            total > 0 ? cell_number(open, r, "executed_runs_count", "test") / total : 0;
    }
    for (const auto& w : workflows->covered)
        want["cargo_workflow_runs_pending{window=2d," + wf_labels(w) + "}"] = single(
            env->client->query("SELECT countIf(status = 'pending' AND created_at >= " + baseline +
                               ") AS n FROM runs WHERE workflow_uuid = " + sql_string(w.uuid)), "n");

    EXPECT_EQ(got, want);
    // Runs and nodes were summarised; the created batch is among the unfinished, 90 s old.
    std::size_t summaries = 0;
    for (const auto& [key, value] : got)
        summaries += key.starts_with("cargo_workflow_run_duration_seconds_count{") ||
                     key.starts_with("cargo_node_execution_duration_seconds_count{");
    EXPECT_GE(summaries, 2u);
    bool seen = false;
    for (const auto& [key, value] : got)
        if (key.starts_with("cargo_batch_running_seconds{batch_uuid=" + created.uuid + ",")) {
            seen = true;
            EXPECT_NEAR(value, 90, 2);
        }
    EXPECT_TRUE(seen) << "the created batch is not among the unfinished ones";
}

}  // namespace
}  // namespace cargomon::collectors

int main(int argc, char** argv) {
    namespace cm = cargomon;
    return cm::testing::run_with_environment(
        argc, argv, cm::collectors::env,
        new cm::collectors::SimClientEnv(cm::testing::SimOptions{
            .workflows = 6,
            .history = "2d",
            .seed = 11,
            .extra_args = {"--credits", "5000000", "--additional-credits", "1234"}}));
}
