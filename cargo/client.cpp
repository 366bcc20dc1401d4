#include "cargo/client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "cargo/decode.h"
#include "cargo/query_errors.h"
#include "cargo/retry.h"
#include "common/text.h"
#include "common/timefmt.h"
#include "metrics/self_metrics.h"

namespace cargomon::cargo {
namespace {

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
    body.data_error_reason = redact(std::move(body.data_error_reason), token);
    if (!body.error_message.empty()) what += ": " + body.error_message;
    if (!body.reason.empty())
        what += " (reason " + body.reason + (body.data_error_reason.empty() ? "" : ": " + body.data_error_reason) + ")";
    int status = response.status;
    if (status == 401) throw AuthorizationError(what, status, body.error_message, body.reason, body.data_error_reason);
    if (status >= 400 && status < 500)
        throw RequestError(what, status, body.error_message, body.reason, body.data_error_reason);
    throw ServerError(what, status, body.error_message, body.reason, body.data_error_reason);
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
        // A query that failed on its own (ClickHouse's message under a 5xx: the contract
        // gives no status) fails the same way every time it is sent.
        if (status >= 500 && call.endpoint == "/orchestration/query" &&
            is_query_failure(status, decode::error_body(response->body).error_message))
            reason = nullptr;
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
    return decoded<QueryResult>(requests::execute_query(sql), decode::query_result);
}

std::int64_t ApiClient::count_runs(const RunFilter& f) {
    return decoded<std::int64_t>(requests::count_runs(f), decode::count);
}

std::vector<RunMetric> ApiClient::run_metrics(std::string_view workflow_uuid, const RunMetricsFilter& f) {
    return decoded<std::vector<RunMetric>>(requests::run_metrics(workflow_uuid, f), decode::run_metrics);
}

std::vector<Batch> ApiClient::list_batches(const BatchFilter& f) {
    return decoded<std::vector<Batch>>(requests::list_batches(f), decode::batches);
}

Batch ApiClient::get_batch(std::string_view uuid) { return decoded<Batch>(requests::get_batch(uuid), decode::batch); }

Release ApiClient::get_release(std::string_view uuid) {
    return decoded<Release>(requests::get_release(uuid), decode::release);
}

std::vector<Workflow> ApiClient::list_workflows() {
    return decoded<std::vector<Workflow>>(requests::list_workflows(), decode::workflows);
}

std::vector<Play> ApiClient::list_plays(std::optional<bool> is_enabled) {
    return decoded<std::vector<Play>>(requests::list_plays(is_enabled), decode::plays);
}

std::vector<Tool> ApiClient::list_tools() { return decoded<std::vector<Tool>>(requests::list_tools(), decode::tools); }

std::vector<UsageMetric> ApiClient::usage_metrics(const UsageQuery& q) {
    return decoded<std::vector<UsageMetric>>(requests::usage_metrics(q), decode::usage_metrics);
}

Subscription ApiClient::subscription() { return decoded<Subscription>(requests::subscription(), decode::subscription); }

RunPage ApiClient::list_runs(const RunFilter& f, int limit, int offset) {
    return decoded<RunPage>(requests::list_runs(f, limit, offset), decode::runs);
}

std::string ApiClient::download_runs(const RunFilter& f, const std::vector<std::string>& uuids) {
    return decoded<std::string>(requests::download_runs(f, uuids), decode::url);
}

std::string ApiClient::query_body(std::string_view sql) { return execute(requests::execute_query(sql)); }

std::string ApiClient::download_outputs(const RunFilter& f, const std::optional<std::string>& node_slug,
                                        std::string_view format, std::optional<int> limit, std::optional<int> offset) {
    return decoded<std::string>(requests::download_run_outputs(f, node_slug, format, limit, offset), decode::url);
}

std::string ApiClient::download_batch(std::string_view batch_uuid, const std::optional<std::string>& node_slug) {
    return decoded<std::string>(requests::download_batch(batch_uuid, node_slug), decode::url);
}

std::vector<std::string> ApiClient::download_segment(std::string_view model_uuid, std::string_view filter_json,
                                                     std::string_view sort_json, std::optional<int> limit) {
    return decoded<std::vector<std::string>>(requests::download_segment(model_uuid, filter_json, sort_json, limit),
                                             decode::urls);
}

Batch ApiClient::create_batch(std::string_view workflow_uuid, std::string_view data_json) {
    return decoded<Batch>(requests::create_batch(workflow_uuid, data_json), decode::batch);
}

}  // namespace cargomon::cargo
