#include "cargo/requests.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <stdexcept>

#include "common/text.h"
#include "common/timefmt.h"

namespace cargomon::cargo {
namespace {

constexpr std::string_view kQuery = "/orchestration/query";
constexpr std::string_view kRunsCount = "/orchestration/runs/count";
constexpr std::string_view kRunsList = "/orchestration/runs/list";
constexpr std::string_view kRunsDownload = "/orchestration/runs/download";
constexpr std::string_view kRunsDownloadOutputs = "/orchestration/runs/download-outputs";
constexpr std::string_view kRunsMetrics = "/orchestration/runs/metrics";
constexpr std::string_view kBatchesList = "/orchestration/batches/list";
constexpr std::string_view kBatch = "/orchestration/batches/{uuid}";
constexpr std::string_view kBatchDownload = "/orchestration/batches/{uuid}/download";
constexpr std::string_view kBatches = "/orchestration/batches";
constexpr std::string_view kWorkflowsList = "/orchestration/workflows/list";
constexpr std::string_view kRelease = "/orchestration/releases/{uuid}";
constexpr std::string_view kPlaysList = "/orchestration/plays/list";
constexpr std::string_view kToolsList = "/orchestration/tools/list";
constexpr std::string_view kUsageMetrics = "/billing/usage/metrics";
constexpr std::string_view kSubscriptions = "/billing/subscriptions";
constexpr std::string_view kSegmentsDownload = "/segmentation/segments/download";

// The run filters of RunFilter, in the typings' names.
#define CARGOMON_RUN_FILTER_KEYS                                                                              \
    "workflowUuid", "statuses", "batchUuid", "releaseUuid", "isFinished", "recordId", "recordTitle", \
        "createdAfter", "createdBefore"

}  // namespace

const std::vector<EndpointKeys>& endpoint_keys() {
    static const std::vector<EndpointKeys> table = {
        {"POST", kQuery, {"query"}},                                                       // ExecuteQueryPayload
        {"POST", kRunsCount, {CARGOMON_RUN_FILTER_KEYS, "updatedAfter", "updatedBefore"}},  // CountRunsPayload
        {"POST", kRunsList,
         {CARGOMON_RUN_FILTER_KEYS, "updatedAfter", "updatedBefore", "limit", "offset"}},  // ListRunsPayload
        {"POST", kRunsDownload,
         {CARGOMON_RUN_FILTER_KEYS, "updatedAfter", "updatedBefore", "uuids"}},  // DownloadRunsPayload
        // DownloadRunOutputsPayload: no updatedAfter/updatedBefore, no uuids.
        {"POST", kRunsDownloadOutputs, {CARGOMON_RUN_FILTER_KEYS, "outputNodeSlug", "format", "limit", "offset"}},
        {"POST", kRunsMetrics,
         {"workflowUuid", "releaseUuid", "batchUuid", "createdAfter", "createdBefore"}},  // GetRunMetricsPayload
        {"GET", kBatchesList,
         {"workflowUuids", "releaseUuid", "statuses", "isFinished", "hasRuns", "limit",
          "offset"}},  // ListBatchesPayload
        {"GET", kBatch, {}},
        {"GET", kRelease, {}},
        {"POST", kBatchDownload, {"outputNodeSlug"}},  // DownloadBatchPayload (its uuid is the path's)
        {"POST", kBatches, {"workflowUuid", "data"}},  // CreateBatchPayload
        {"GET", kWorkflowsList, {}},
        {"GET", kPlaysList, {"isEnabled"}},  // ListPlaysPayload
        {"GET", kToolsList, {}},
        {"GET", kUsageMetrics, {"from", "to", "workflowUuid", "groupBy", "unit"}},  // UsageMetricsPayload
        {"GET", kSubscriptions, {}},
        {"POST", kSegmentsDownload, {"modelUuid", "filter", "sort", "limit"}},  // DownloadSegmentPayload
    };
    return table;
}

#undef CARGOMON_RUN_FILTER_KEYS

namespace {

const EndpointKeys& keys_of(std::string_view endpoint) {
    for (const auto& e : endpoint_keys())
        if (e.endpoint == endpoint) return e;
    throw std::logic_error("cargo requests: no key list for " + std::string(endpoint));
}

// Refuses a key the endpoint's type does not declare, before anything is sent.
void check_key(const EndpointKeys& keys, std::string_view key) {
    if (std::find(keys.keys.begin(), keys.keys.end(), key) == keys.keys.end())
        throw std::invalid_argument(std::string(keys.method) + " " + std::string(keys.endpoint) + " takes no " +
                                    std::string(key) + " (its payload type in the Cargo API does not declare it)");
}

// encodeURIComponent (which leaves "!*'()" too) with axios' exceptions (':', '$', ','
// stay literal). Space is sent as "%20" rather than axios' "+": the same to the API, and
// httplib servers (the sim) do not read "+" as a space.
std::string url_encode(std::string_view text) { return percent_encode(text, "!*'():$,"); }

void require(bool ok, const char* what) {
    if (!ok) throw std::invalid_argument(what);
}

// GET parameters, serialised like axios: absent values left out, lists as key[]=a&key[]=b.
class Params {
public:
    explicit Params(std::string_view endpoint) : keys_(keys_of(endpoint)) {}
    void add(std::string_view key, const std::optional<std::string>& value) {
        if (value) add(key, std::string_view(*value));
    }
    void add(std::string_view key, std::string_view value) {
        check_key(keys_, key);
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
        if (!values.empty()) check_key(keys_, key);
        for (const auto& v : values) {
            text_ += text_.empty() ? '?' : '&';
            text_ += url_encode(std::string(key) + "[]") + "=" + url_encode(v);
        }
    }
    std::string str() && { return std::move(text_); }

private:
    const EndpointKeys& keys_;
    std::string text_;
};

// A JSON object body; absent values are left out, as the official client does.
class Body {
public:
    explicit Body(std::string_view endpoint) : keys_(keys_of(endpoint)) { writer_.StartObject(); }
    void add(const char* key, std::string_view value) {
        this->key(key);
        writer_.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    }
    void add(const char* key, const std::optional<std::string>& value) {
        if (value) add(key, std::string_view(*value));
    }
    void add(const char* key, std::optional<bool> value) {
        if (!value) return;
        this->key(key);
        writer_.Bool(*value);
    }
    void add(const char* key, std::optional<SystemTime> value) {
        if (value) add(key, std::string_view(format_iso8601(*value)));
    }
    void add(const char* key, int value) {
        this->key(key);
        writer_.Int(value);
    }
    void add(const char* key, std::optional<int> value) {
        if (value) add(key, *value);
    }
    // `json` is written as is: the caller built it with a JSON writer.
    void add_raw(const char* key, std::string_view json, rapidjson::Type type = rapidjson::kObjectType) {
        this->key(key);
        writer_.RawValue(json.data(), json.size(), type);
    }
    void add(const char* key, const std::vector<std::string>& values) {
        if (values.empty()) return;
        this->key(key);
        writer_.StartArray();
        for (const auto& v : values) writer_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
        writer_.EndArray();
    }
    std::string str() && {
        writer_.EndObject();
        return {buffer_.GetString(), buffer_.GetSize()};
    }

private:
    void key(const char* name) {
        check_key(keys_, name);
        writer_.Key(name);
    }
    const EndpointKeys& keys_;
    rapidjson::StringBuffer buffer_;
    rapidjson::Writer<rapidjson::StringBuffer> writer_{buffer_};
};

// The run filters runs/count, runs/list and the two downloads share; each endpoint's
// Body refuses those it does not take.
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

ApiRequest post(std::string_view endpoint, Body&& body) {
    return {.method = "POST", .endpoint = endpoint, .path = std::string(endpoint), .query = "", .body = std::move(body).str()};
}

ApiRequest get(std::string_view endpoint, std::string query = "") {
    keys_of(endpoint);
    return {.method = "GET", .endpoint = endpoint, .path = std::string(endpoint), .query = std::move(query), .body = ""};
}

}  // namespace

namespace requests {

ApiRequest execute_query(std::string_view sql) {
    Body body(kQuery);
    body.add("query", sql);
    return post(kQuery, std::move(body));
}

ApiRequest count_runs(const RunFilter& f) {
    Body body(kRunsCount);
    add_run_filter(body, f);
    return post(kRunsCount, std::move(body));
}

ApiRequest list_runs(const RunFilter& f, int limit, int offset) {
    require(limit >= 1 && limit <= 1000 && offset >= 0, "list_runs needs 1 <= limit <= 1000 and offset >= 0");
    Body body(kRunsList);
    add_run_filter(body, f);
    body.add("limit", limit);
    body.add("offset", offset);
    return post(kRunsList, std::move(body));
}

ApiRequest download_runs(const RunFilter& f, const std::vector<std::string>& uuids) {
    require(f.workflow_uuid && !f.workflow_uuid->empty(), "download_runs needs a workflow uuid");
    Body body(kRunsDownload);
    add_run_filter(body, f);
    body.add("uuids", uuids);
    return post(kRunsDownload, std::move(body));
}

ApiRequest download_run_outputs(const RunFilter& f, const std::optional<std::string>& node_slug,
                                std::string_view format, std::optional<int> limit, std::optional<int> offset) {
    require(f.workflow_uuid && !f.workflow_uuid->empty(), "download_outputs needs a workflow uuid");
    require(format == "csv" || format == "json", "download_outputs needs format csv or json");
    Body body(kRunsDownloadOutputs);
    add_run_filter(body, f);
    body.add("outputNodeSlug", node_slug);
    body.add("format", format);
    body.add("limit", limit);
    body.add("offset", offset);
    return post(kRunsDownloadOutputs, std::move(body));
}

ApiRequest run_metrics(std::string_view workflow_uuid, const RunMetricsFilter& f) {
    require(!workflow_uuid.empty(), "run_metrics needs a workflow uuid");
    Body body(kRunsMetrics);
    body.add("workflowUuid", workflow_uuid);
    body.add("releaseUuid", f.release_uuid);
    body.add("batchUuid", f.batch_uuid);
    body.add("createdAfter", f.created_after);
    body.add("createdBefore", f.created_before);
    return post(kRunsMetrics, std::move(body));
}

ApiRequest list_batches(const BatchFilter& f) {
    Params params(kBatchesList);
    params.add("workflowUuids", f.workflow_uuids);
    params.add("releaseUuid", f.release_uuid);
    params.add("statuses", f.statuses);
    params.add("isFinished", f.is_finished);
    params.add("hasRuns", f.has_runs);
    params.add("limit", f.limit);
    params.add("offset", f.offset);
    return get(kBatchesList, std::move(params).str());
}

ApiRequest get_batch(std::string_view uuid) {
    require(!uuid.empty(), "get_batch needs a batch uuid");
    ApiRequest r = get(kBatch);
    r.path = "/orchestration/batches/" + url_encode(uuid);
    return r;
}

ApiRequest get_release(std::string_view uuid) {
    require(!uuid.empty(), "get_release needs a release uuid");
    ApiRequest r = get(kRelease);
    r.path = "/orchestration/releases/" + url_encode(uuid);
    return r;
}

ApiRequest download_batch(std::string_view batch_uuid, const std::optional<std::string>& node_slug) {
    require(!batch_uuid.empty(), "download_batch needs a batch uuid");
    Body body(kBatchDownload);
    body.add("outputNodeSlug", node_slug);
    ApiRequest r = post(kBatchDownload, std::move(body));
    r.path = "/orchestration/batches/" + url_encode(batch_uuid) + "/download";
    return r;
}

ApiRequest create_batch(std::string_view workflow_uuid, std::string_view data_json) {
    require(!workflow_uuid.empty(), "create_batch needs a workflow uuid");
    require(!data_json.empty() && data_json.front() == '{', "create_batch needs data as a JSON object");
    Body body(kBatches);
    body.add("workflowUuid", workflow_uuid);
    body.add_raw("data", data_json);
    ApiRequest r = post(kBatches, std::move(body));
    // Not idempotent: a request that got no answer may still have created the batch.
    r.retry = false;
    return r;
}

ApiRequest list_workflows() { return get(kWorkflowsList); }

ApiRequest list_plays(std::optional<bool> is_enabled) {
    Params params(kPlaysList);
    params.add("isEnabled", is_enabled);
    return get(kPlaysList, std::move(params).str());
}

ApiRequest list_tools() { return get(kToolsList); }

ApiRequest usage_metrics(const UsageQuery& q) {
    require(q.from <= q.to, "usage_metrics needs from <= to");
    Params params(kUsageMetrics);
    params.add("from", std::string_view(format_iso8601(q.from)));
    params.add("to", std::string_view(format_iso8601(q.to)));
    params.add("workflowUuid", q.workflow_uuid);
    params.add("groupBy", q.group_by);
    params.add("unit", q.unit);
    return get(kUsageMetrics, std::move(params).str());
}

ApiRequest subscription() { return get(kSubscriptions); }

ApiRequest download_segment(std::string_view model_uuid, std::string_view filter_json, std::string_view sort_json,
                            std::optional<int> limit) {
    require(!model_uuid.empty(), "download_segment needs a model uuid");
    require(!filter_json.empty() && filter_json.front() == '{', "download_segment needs a filter as a JSON object");
    require(sort_json.empty() || sort_json.front() == '[', "download_segment needs sort as a JSON array");
    Body body(kSegmentsDownload);
    body.add("modelUuid", model_uuid);
    body.add_raw("filter", filter_json);
    if (!sort_json.empty()) body.add_raw("sort", sort_json, rapidjson::kArrayType);
    body.add("limit", limit);
    return post(kSegmentsDownload, std::move(body));
}

}  // namespace requests
}  // namespace cargomon::cargo
