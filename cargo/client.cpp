#include "cargo/client.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "cargo/decode.h"
#include "cargo/retry.h"
#include "common/text.h"
#include "common/timefmt.h"
#include "metrics/self_metrics.h"

namespace cargomon::cargo {
namespace {

// encodeURIComponent (which leaves "!*'()" too) with axios' exceptions (':', '$', ','
// stay literal). Space is sent as "%20" rather than axios' "+": the same to the API, and
// httplib servers (the sim) do not read "+" as a space.
std::string url_encode(std::string_view text) { return percent_encode(text, "!*'():$,"); }

// GET parameters, serialised like axios: absent values left out, lists as key[]=a&key[]=b.
class Params {
public:
    void add(std::string_view key, const std::optional<std::string>& value) {
        if (value) add(key, std::string_view(*value));
    }
    void add(std::string_view key, std::string_view value) {
        text_ += text_.empty() ? '?' : '&';
        text_ += url_encode(key) + "=" + url_encode(value);
    }
    void add(std::string_view key, std::optional<bool> value) {
        if (value) add(key, std::string_view(*value ? "true" : "false"));
    }
    void add(std::string_view key, std::optional<int> value) {
        if (value) add(key, std::string_view(std::to_string(*value)));
    }
    void add(std::string_view key, const std::vector<std::string>& values) {
        for (const auto& v : values) add(std::string(key) + "[]", std::string_view(v));
    }
    std::string str() && { return std::move(text_); }

private:
    std::string text_;
};

// A JSON object body; absent values are left out, as the official client does.
class Body {
public:
    Body() { writer_.StartObject(); }
    void add(const char* key, std::string_view value) {
        writer_.Key(key);
        writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    }
    void add(const char* key, const std::optional<std::string>& value) {
        if (value) add(key, std::string_view(*value));
    }
    void add(const char* key, std::optional<bool> value) {
        if (!value) return;
        writer_.Key(key);
        writer_.Bool(*value);
    }
    void add(const char* key, std::optional<SystemTime> value) {
        if (value) add(key, std::string_view(format_iso8601(*value)));
    }
    void add(const char* key, int value) {
        writer_.Key(key);
        writer_.Int(value);
    }
    void add(const char* key, std::optional<int> value) {
        if (value) add(key, *value);
    }
    // `json` is written as is: the caller built it with a JSON writer.
    void add_raw(const char* key, std::string_view json, rapidjson::Type type = rapidjson::kObjectType) {
        writer_.Key(key);
        writer_.RawValue(json.data(), json.size(), type);
    }
    void add(const char* key, const std::vector<std::string>& values) {
        if (values.empty()) return;
        writer_.Key(key);
        writer_.StartArray();
        for (const auto& v : values) writer_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
        writer_.EndArray();
    }
    std::string str() && {
        writer_.EndObject();
        return {buffer_.GetString(), buffer_.GetSize()};
    }

private:
    rapidjson::StringBuffer buffer_;
    rapidjson::Writer<rapidjson::StringBuffer> writer_{buffer_};
};

void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(what);
}

// The run filters runs/count, runs/list and runs/download share.
void add_run_filter(Body& body, const RunFilter& f) {
    body.add("workflowUuid", f.workflow_uuid);
    body.add("statuses", f.statuses);
    body.add("batchUuid", f.batch_uuid);
    body.add("releaseUuid", f.release_uuid);
    body.add("isFinished", f.is_finished);
    body.add("recordId", f.record_id);
    body.add("recordTitle", f.record_title);
    body.add("createdAfter", f.created_after);
    body.add("createdBefore", f.created_before);
    body.add("updatedAfter", f.updated_after);
    body.add("updatedBefore", f.updated_before);
}

const std::vector<double> kDurationBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

}  // namespace

ApiClient::ApiClient(ClientOptions options, Transport& transport, prometheus::Registry& registry, const Clock& clock,
                     Sleeper& sleeper, std::shared_ptr<Pacer> pacer, std::uint64_t jitter_seed)
    : options_((validate(options), std::move(options))),
      prefix_(split_base_url(options_.base_url).prefix),
      transport_(transport),
      clock_(clock),
      sleeper_(sleeper),
      pacer_(pacer ? std::move(pacer)
                   : std::make_shared<Pacer>(options_.rate_limit_per_s, options_.max_in_flight, clock)),
      rng_(jitter_seed),
      requests_(metrics::counter_family(
          registry, "cargomon_api_requests_total",
          "Requests sent to the Cargo API, by endpoint and HTTP status (\"error\": no answer).")),
      durations_(metrics::histogram_family(registry, "cargomon_api_request_duration_seconds",
                                           "Time from sending a request to the Cargo API to its answer or failure.")),
      retries_(metrics::counter_family(registry, "cargomon_api_retries_total",
                                       "Retried Cargo API requests, by endpoint and reason (network, 5xx, 429).")),
      network_errors_(metrics::counter_family(
          registry, "cargomon_api_network_errors_total",
          "Cargo API requests that got no answer, by endpoint and kind (connect, timeout, closed, other).")) {}

namespace {

// A server or proxy may echo the authorization header back; it must go no further.
std::string redact(std::string text, const std::string& token) {
    for (std::size_t at = text.find(token); at != std::string::npos; at = text.find(token, at))
        text.replace(at, token.size(), "<redacted>");
    return text;
}

[[noreturn]] void throw_http_error(std::string what, const Response& response, const std::string& token) {
    auto body = decode::error_body(response.body);
    body.error_message = redact(std::move(body.error_message), token);
    body.reason = redact(std::move(body.reason), token);
    if (!body.error_message.empty()) what += ": " + body.error_message;
    if (!body.reason.empty()) what += " (reason " + body.reason + ")";
    int status = response.status;
    if (status == 401) throw AuthorizationError(what, status, body.error_message, body.reason);
    if (status >= 400 && status < 500) throw RequestError(what, status, body.error_message, body.reason);
    throw ServerError(what, status, body.error_message, body.reason);
}

}  // namespace

std::string ApiClient::execute(const Call& call) {
    const SteadyTime deadline = clock_.monotonic() + options_.retry.budget;
    const std::string where = std::string(call.method) + " " + prefix_ + call.path;
    Request request{.method = call.method, .target = prefix_ + call.path + call.query};
    request.headers = {{"authorization", "Bearer " + options_.token},
                       {"accept", "application/json"},
                       {"user-agent", "cargomon/" CARGOMON_VERSION},
                       {"x-cargo-origin", "cargomon"},
                       {"x-cargo-origin-version", CARGOMON_VERSION}};
    if (!options_.workspace_uuid.empty()) request.headers.emplace_back("selected-workspace-uuid", options_.workspace_uuid);
    if (!call.body.empty()) {
        request.headers.emplace_back("content-type", "application/json");
        request.body = call.body;
    }

    for (int attempt = 1;; ++attempt) {
        wait_turn(where, deadline);
        if (clock_.monotonic() >= deadline || !pacer_->in_flight().try_acquire_for(deadline - clock_.monotonic()))
            throw NetworkError(where + ": the " + std::to_string(options_.retry.budget.count()) +
                               "ms budget ran out waiting for the rate limit or a free request slot");
        std::optional<Response> response;
        std::string network_failure;
        std::string network_kind = "other";
        try {
            response = this->attempt(call, request, deadline);
        } catch (const NetworkError& e) {
            network_failure = redact(e.what(), options_.token);
            network_kind = e.kind();
        } catch (const ApiError& e) {
            // An answer came but was not read whole (over a size cap, undecodable): asking
            // again would only get it again.
            pacer_->in_flight().release();
            if (dynamic_cast<const TooLargeError*>(&e)) spdlog::warn("cargo api: {}", redact(e.what(), options_.token));
            throw;
        } catch (const std::exception& e) {
            network_failure = redact(e.what(), options_.token);
        }
        pacer_->in_flight().release();

        if (response && response->status >= 200 && response->status < 300) return std::move(response->body);
        auto fail = [&]() -> std::string {
            if (!response) throw NetworkError(network_failure, network_kind);
            throw_http_error(where + ": HTTP " + std::to_string(response->status), *response, options_.token);
        };
        const int status = response ? response->status : 0;
        // The server's Retry-After holds every call of every client sharing the pacer, not
        // only this one's retry: the limit is the token's (the workspace's), and the other
        // collectors or the actions sending meanwhile would ask again before the server said to.
        std::optional<Millis> asked;
        if (status == 429 || status == 503)
            if (auto value = response->header("retry-after")) asked = parse_retry_after(*value, clock_.now());
        if (asked) pacer_->pause_until(clock_.monotonic() + std::min(*asked, kMaxPause));
        const char* reason = !response ? "network" : status == 429 ? "429" : status >= 500 ? "5xx" : nullptr;
        if (!reason || !call.retry || attempt >= options_.retry.max_attempts) return fail();

        std::optional<Millis> delay = asked;
        if (!delay) {
            std::lock_guard lock(rng_mu_);
            delay = backoff_delay(options_.retry, attempt - 1, rng_);
        }
        // A wait that ends past the budget would only delay the same failure.
        if (clock_.monotonic() + *delay >= deadline) return fail();
        retries_.Add({{"endpoint", std::string(call.endpoint)}, {"reason", reason}}).Increment();
        spdlog::warn("cargo api {}: {}, retry {}/{} in {}ms", where,
                     response ? "HTTP " + std::to_string(status) : network_failure, attempt,
                     options_.retry.max_attempts - 1, delay->count());
        sleeper_.sleep_until(clock_.monotonic() + *delay);
    }
}

void ApiClient::wait_turn(const std::string& where, SteadyTime deadline) {
    for (;;) {
        const SteadyTime until = pacer_->paused_until();
        const SteadyTime now = clock_.monotonic();
        if (until > now) {
            // Waiting past the budget would only end in the same failure, later.
            if (until >= deadline)
                throw RequestError(where + ": not sent: the API asked (Retry-After) for no requests for another " +
                                       std::to_string(std::chrono::ceil<std::chrono::seconds>(until - now).count()) +
                                       "s, beyond this call's budget",
                                   429, "", "");
            sleeper_.sleep_until(until);
        }
        sleeper_.sleep_until(pacer_->reserve());
        // A 429 answered to another call while this one waited for its token holds it too.
        if (pacer_->paused_until() <= clock_.monotonic()) return;
    }
}

Response ApiClient::attempt(const Call& call, const Request& request, SteadyTime deadline) {
    const SteadyTime start = clock_.monotonic();
    const Millis timeout = std::min(options_.timeout, std::chrono::ceil<Millis>(deadline - start));
    auto observe = [&](const std::string& code) {
        std::chrono::duration<double> took = clock_.monotonic() - start;
        requests_.Add({{"endpoint", std::string(call.endpoint)}, {"code", code}}).Increment();
        durations_.Add({{"endpoint", std::string(call.endpoint)}}, kDurationBuckets).Observe(took.count());
        spdlog::debug("cargo api {} {}{} -> {} in {:.3f}s", call.method, prefix_, call.path, code, took.count());
    };
    try {
        Response response = transport_.send(request, timeout);
        observe(std::to_string(response.status));
        return response;
    } catch (const NetworkError& e) {
        observe("error");
        network_errors_.Add({{"endpoint", std::string(call.endpoint)}, {"kind", e.kind()}}).Increment();
        throw;
    } catch (const ApiError& e) {
        observe(std::to_string(e.status()));  // answered, though not read whole
        throw;
    } catch (...) {
        observe("error");
        throw;
    }
}

template <class T, class Decode>
T ApiClient::decoded(const Call& call, Decode&& decode) {
    std::string body = execute(call);
    try {
        return decode(body);
    } catch (const decode::DecodeError& e) {
        throw ParseError(
            redact(std::string(call.method) + " " + prefix_ + call.path + ": malformed answer: " + e.what(), options_.token),
            200, "", "");
    }
}

QueryResult ApiClient::query(std::string_view sql) {
    Body body;
    body.add("query", sql);
    return decoded<QueryResult>({"POST", "/orchestration/query", "/orchestration/query", "", std::move(body).str()},
                                decode::query_result);
}

std::int64_t ApiClient::count_runs(const RunFilter& f) {
    Body body;
    add_run_filter(body, f);
    return decoded<std::int64_t>(
        {"POST", "/orchestration/runs/count", "/orchestration/runs/count", "", std::move(body).str()},
        decode::count);
}

std::vector<RunMetric> ApiClient::run_metrics(std::string_view workflow_uuid, const RunMetricsFilter& f) {
    require(!workflow_uuid.empty(), "run_metrics needs a workflow uuid");
    Body body;
    body.add("workflowUuid", workflow_uuid);
    body.add("releaseUuid", f.release_uuid);
    body.add("batchUuid", f.batch_uuid);
    body.add("createdAfter", f.created_after);
    body.add("createdBefore", f.created_before);
    return decoded<std::vector<RunMetric>>(
        {"POST", "/orchestration/runs/metrics", "/orchestration/runs/metrics", "", std::move(body).str()},
        decode::run_metrics);
}

std::vector<Batch> ApiClient::list_batches(const BatchFilter& f) {
    Params params;
    params.add("workflowUuids", f.workflow_uuids);
    params.add("releaseUuid", f.release_uuid);
    params.add("statuses", f.statuses);
    params.add("isFinished", f.is_finished);
    params.add("hasRuns", f.has_runs);
    params.add("limit", f.limit);
    params.add("offset", f.offset);
    return decoded<std::vector<Batch>>(
        {"GET", "/orchestration/batches/list", "/orchestration/batches/list", std::move(params).str(), ""},
        decode::batches);
}

Batch ApiClient::get_batch(std::string_view uuid) {
    require(!uuid.empty(), "get_batch needs a batch uuid");
    return decoded<Batch>(
        {"GET", "/orchestration/batches/{uuid}", "/orchestration/batches/" + url_encode(uuid), "", ""},
        decode::batch);
}

Release ApiClient::get_release(std::string_view uuid) {
    require(!uuid.empty(), "get_release needs a release uuid");
    return decoded<Release>(
        {"GET", "/orchestration/releases/{uuid}", "/orchestration/releases/" + url_encode(uuid), "", ""},
        decode::release);
}

std::vector<Workflow> ApiClient::list_workflows() {
    return decoded<std::vector<Workflow>>(
        {"GET", "/orchestration/workflows/list", "/orchestration/workflows/list", "", ""}, decode::workflows);
}

std::vector<Play> ApiClient::list_plays(std::optional<bool> is_enabled) {
    Params params;
    params.add("isEnabled", is_enabled);
    return decoded<std::vector<Play>>(
        {"GET", "/orchestration/plays/list", "/orchestration/plays/list", std::move(params).str(), ""},
        decode::plays);
}

std::vector<Tool> ApiClient::list_tools() {
    return decoded<std::vector<Tool>>({"GET", "/orchestration/tools/list", "/orchestration/tools/list", "", ""},
                                      decode::tools);
}

std::int64_t ApiClient::count_spans(const SpanFilter& f) {
    Body body;
    body.add("executionStartedAfter", std::optional{f.execution_started_after});
    body.add("executionStartedBefore", f.execution_started_before);
    body.add("workflowUuid", f.workflow_uuid);
    body.add("nodeSlug", f.node_slug);
    body.add("nodeKind", f.node_kind);
    body.add("executionStatuses", f.execution_statuses);
    return decoded<std::int64_t>(
        {"POST", "/orchestration/spans/count", "/orchestration/spans/count", "", std::move(body).str()},
        decode::count);
}

std::vector<UsageMetric> ApiClient::usage_metrics(const UsageQuery& q) {
    require(q.from <= q.to, "usage_metrics needs from <= to");
    Params params;
    params.add("from", std::string_view(format_iso8601(q.from)));
    params.add("to", std::string_view(format_iso8601(q.to)));
    params.add("workflowUuid", q.workflow_uuid);
    params.add("groupBy", q.group_by);
    params.add("unit", q.unit);
    return decoded<std::vector<UsageMetric>>(
        {"GET", "/billing/usage/metrics", "/billing/usage/metrics", std::move(params).str(), ""},
        decode::usage_metrics);
}

Subscription ApiClient::subscription() {
    return decoded<Subscription>({"GET", "/billing/subscriptions", "/billing/subscriptions", "", ""},
                                 decode::subscription);
}

RunPage ApiClient::list_runs(const RunFilter& f, int limit, int offset) {
    require(limit >= 1 && limit <= 1000 && offset >= 0, "list_runs needs 1 <= limit <= 1000 and offset >= 0");
    Body body;
    add_run_filter(body, f);
    body.add("limit", limit);
    body.add("offset", offset);
    return decoded<RunPage>({"POST", "/orchestration/runs/list", "/orchestration/runs/list", "", std::move(body).str()},
                            decode::runs);
}

std::string ApiClient::download_runs(const RunFilter& f, const std::vector<std::string>& uuids) {
    require(f.workflow_uuid && !f.workflow_uuid->empty(), "download_runs needs a workflow uuid");
    Body body;
    add_run_filter(body, f);
    body.add("uuids", uuids);
    return decoded<std::string>(
        {"POST", "/orchestration/runs/download", "/orchestration/runs/download", "", std::move(body).str()},
        decode::url);
}

std::string ApiClient::query_body(std::string_view sql) {
    Body body;
    body.add("query", sql);
    return execute({"POST", "/orchestration/query", "/orchestration/query", "", std::move(body).str()});
}

std::string ApiClient::download_outputs(const RunFilter& f, const std::optional<std::string>& node_slug,
                                        std::string_view format, std::optional<int> limit, std::optional<int> offset) {
    require(f.workflow_uuid && !f.workflow_uuid->empty(), "download_outputs needs a workflow uuid");
    require(format == "csv" || format == "json", "download_outputs needs format csv or json");
    Body body;
    add_run_filter(body, f);
    body.add("outputNodeSlug", node_slug);
    body.add("format", format);
    body.add("limit", limit);
    body.add("offset", offset);
    return decoded<std::string>({"POST", "/orchestration/runs/download-outputs", "/orchestration/runs/download-outputs",
                                 "", std::move(body).str()},
                                decode::url);
}

std::string ApiClient::download_batch(std::string_view batch_uuid, const std::optional<std::string>& node_slug) {
    require(!batch_uuid.empty(), "download_batch needs a batch uuid");
    Body body;
    body.add("outputNodeSlug", node_slug);
    return decoded<std::string>({"POST", "/orchestration/batches/{uuid}/download",
                                 "/orchestration/batches/" + url_encode(batch_uuid) + "/download", "",
                                 std::move(body).str()},
                                decode::url);
}

std::vector<std::string> ApiClient::download_segment(std::string_view model_uuid, std::string_view filter_json,
                                                     std::string_view sort_json, std::optional<int> limit) {
    require(!model_uuid.empty(), "download_segment needs a model uuid");
    require(!filter_json.empty() && filter_json.front() == '{', "download_segment needs a filter as a JSON object");
    require(sort_json.empty() || sort_json.front() == '[', "download_segment needs sort as a JSON array");
    Body body;
    body.add("modelUuid", model_uuid);
    body.add_raw("filter", filter_json);
    if (!sort_json.empty()) body.add_raw("sort", sort_json, rapidjson::kArrayType);
    body.add("limit", limit);
    return decoded<std::vector<std::string>>(
        {"POST", "/segmentation/segments/download", "/segmentation/segments/download", "", std::move(body).str()},
        decode::urls);
}

Batch ApiClient::create_batch(std::string_view workflow_uuid, std::string_view data_json) {
    require(!workflow_uuid.empty(), "create_batch needs a workflow uuid");
    require(!data_json.empty() && data_json.front() == '{', "create_batch needs data as a JSON object");
    Body body;
    body.add("workflowUuid", workflow_uuid);
    body.add_raw("data", data_json);
    return decoded<Batch>({.method = "POST",
                           .endpoint = "/orchestration/batches",
                           .path = "/orchestration/batches",
                           .query = "",
                           .body = std::move(body).str(),
                           .retry = false},
                          decode::batch);
}

}  // namespace cargomon::cargo
