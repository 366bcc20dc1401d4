#pragma once
// The Cargo API as cargomon uses it (docs/cargo-api.md). Every call is safe to make from
// several threads at once; each is paced by a token bucket, bounded in flight, retried
// on network errors, 5xx and 429 with full-jitter backoff (or the server's Retry-After,
// which then holds every call of the clients sharing its pacer) inside a total time
// budget, and counted in self-metrics. Failures throw the ApiError subclasses of
// errors.h; an answer past the transport's size caps (ClientOptions::answers) is cut off
// unread and never retried (TooLargeError). The token never appears in errors, logs or
// metrics.
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "cargo/errors.h"
#include "cargo/limits.h"
#include "cargo/options.h"
#include "cargo/requests.h"
#include "cargo/sleeper.h"
#include "cargo/transport.h"
#include "cargo/types.h"
#include "common/clock.h"

namespace cargomon::cargo {

// Thread-safe: every collector thread calls it at once (the pacer locks itself); rng_mu_
// guards rng_, the backoff jitter.
class ApiClient {
public:
    // Throws std::invalid_argument on bad options (see validate). The references must
    // outlive the client. `pacer`, when given, is shared with other clients of the same
    // token (its rate and slots are its maker's); otherwise the client makes its own from
    // `options`. `jitter_seed` makes backoff sleeps reproducible in tests.
    ApiClient(ClientOptions options, Transport& transport, prometheus::Registry& registry, const Clock& clock,
              Sleeper& sleeper, std::shared_ptr<Pacer> pacer = nullptr,
              std::uint64_t jitter_seed = std::random_device{}());

    // The brakes this client obeys, to hand to another client of the same token.
    const std::shared_ptr<Pacer>& pacer() const { return pacer_; }

    const ClientOptions& options() const { return options_; }  // collectors plan their calls with rate_limit_per_s

    QueryResult query(std::string_view sql);
    std::int64_t count_runs(const RunFilter& filter);
    std::vector<RunMetric> run_metrics(std::string_view workflow_uuid, const RunMetricsFilter& filter = {});
    std::vector<Batch> list_batches(const BatchFilter& filter = {});
    Batch get_batch(std::string_view uuid);
    // releases/{uuid}: a release and its node graph (a batch's own release, not the deployed one).
    Release get_release(std::string_view uuid);
    std::vector<Workflow> list_workflows();
    std::vector<Play> list_plays(std::optional<bool> is_enabled = std::nullopt);
    std::vector<Tool> list_tools();
    std::vector<UsageMetric> usage_metrics(const UsageQuery& query);
    // billing/subscriptions: the workspace's credits left and its period.
    Subscription subscription();
    // One page of runs/list, newest first; `limit` 1 to 1000 as the API allows.
    RunPage list_runs(const RunFilter& filter, int limit, int offset = 0);
    // runs/download: the signed URL of a file of the runs (`filter.workflow_uuid`
    // required; gzipped JSON Lines of full run records, by Cargo's docs), only those of
    // `uuids` when not empty.
    std::string download_runs(const RunFilter& filter, const std::vector<std::string>& uuids = {});
    // The query's 2xx answer as the API sent it ({"rows": [...]}), unparsed, for callers
    // that copy rows out unchanged (cargomon export query) rather than read numbers.
    std::string query_body(std::string_view sql);
    // runs/download-outputs: the signed URL of each run's output on `node_slug` (the API's
    // choice when absent), as "csv" or "json"; `filter.workflow_uuid` required.
    std::string download_outputs(const RunFilter& filter, const std::optional<std::string>& node_slug,
                                 std::string_view format, std::optional<int> limit = std::nullopt,
                                 std::optional<int> offset = std::nullopt);
    // batches/{uuid}/download: the signed URL of the batch's run outputs on `node_slug`.
    std::string download_batch(std::string_view batch_uuid, const std::optional<std::string>& node_slug);
    // segmentation/segments/download: signed URLs of the model's records. `filter_json` is
    // the API's {"conjonction": ..., "groups": [...]}; `sort_json` a JSON array or "".
    std::vector<std::string> download_segment(std::string_view model_uuid, std::string_view filter_json,
                                              std::string_view sort_json, std::optional<int> limit);
    // POST /orchestration/batches with `data_json`, a JSON object ({"kind": "runs", ...}).
    // Never retried: a request that got no answer may still have created the batch, and a
    // re-run must not run twice. The caller says so and lets the user decide.
    Batch create_batch(std::string_view workflow_uuid, std::string_view data_json);

private:
    // Built by cargo/requests.h: `endpoint` is the path template that labels metrics.
    using Call = ApiRequest;
    // The 2xx body of `call`, after retries; throws ApiError otherwise.
    std::string execute(const Call& call);
    Response attempt(const Call& call, const Request& request, SteadyTime deadline);
    // Sleeps until a request may go: after any Retry-After pause, then the rate limit.
    // Throws RequestError (429) when the pause outlasts `deadline`.
    void wait_turn(const std::string& where, SteadyTime deadline);

    // A Retry-After longer than this is taken as this: a server (or proxy) asking for
    // days would otherwise stop monitoring that long. An hour honours any real limit.
    static constexpr Millis kMaxPause{3'600'000};
    template <class T, class Decode>
    T decoded(const Call& call, Decode&& decode);

    ClientOptions options_;
    std::string prefix_;  // the base URL's path + "/v1"
    Transport& transport_;
    const Clock& clock_;
    Sleeper& sleeper_;
    std::shared_ptr<Pacer> pacer_;
    std::mutex rng_mu_;
    std::mt19937_64 rng_;
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Histogram>& durations_;
    prometheus::Family<prometheus::Counter>& retries_;
    prometheus::Family<prometheus::Counter>& network_errors_;
};

}  // namespace cargomon::cargo
