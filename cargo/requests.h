#pragma once
// Every request cargomon sends to the Cargo API, one builder per endpoint, each sending
// only keys that the endpoint's payload type in the official typings declares
// (@cargo-ai/api 1.0.57; docs/cargo-api.md): the service refuses any other key with
// 400 `unrecognized_keys`. endpoint_keys() lists, per endpoint, the keys cargomon may
// send; a builder asked to send another (a run filter field an endpoint does not take,
// such as updatedAfter on runs/download-outputs) throws std::invalid_argument before
// anything is sent. tests/sim/api/accepted_keys_test.cpp holds every builder to the
// sim's routes.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cargo/types.h"

namespace cargomon::cargo {

// One request, before the client adds the base path, headers, pacing and retries.
struct ApiRequest {
    const char* method = "GET";  // "GET" or "POST"
    std::string_view endpoint;   // the path as the contract names it ("/orchestration/batches/{uuid}"), for metrics
    std::string path;            // the real path
    std::string query;           // "?a=1&b[]=2" or ""
    std::string body;            // a JSON object, POST only; "" for none
    bool retry = true;           // false for calls that change something (create_batch)
};

// The keys cargomon may send to one endpoint: its payload type's keys that cargomon uses.
struct EndpointKeys {
    const char* method;
    std::string_view endpoint;
    std::vector<std::string_view> keys;
};
const std::vector<EndpointKeys>& endpoint_keys();

namespace requests {

ApiRequest execute_query(std::string_view sql);
ApiRequest count_runs(const RunFilter& filter);
// `limit` 1 to 1000 as the API allows, `offset` >= 0.
ApiRequest list_runs(const RunFilter& filter, int limit, int offset);
// `filter.workflow_uuid` required; only the runs of `uuids` when not empty.
ApiRequest download_runs(const RunFilter& filter, const std::vector<std::string>& uuids);
// `filter.workflow_uuid` required, `format` "csv" or "json"; the filter's updated_* are
// not taken by this endpoint.
ApiRequest download_run_outputs(const RunFilter& filter, const std::optional<std::string>& node_slug,
                                std::string_view format, std::optional<int> limit, std::optional<int> offset);
ApiRequest run_metrics(std::string_view workflow_uuid, const RunMetricsFilter& filter);
ApiRequest list_batches(const BatchFilter& filter);
ApiRequest get_batch(std::string_view uuid);
ApiRequest get_release(std::string_view uuid);
ApiRequest download_batch(std::string_view batch_uuid, const std::optional<std::string>& node_slug);
// `data_json`: the batch's `data`, a JSON object (actions/rerun.h builds it). Never retried.
ApiRequest create_batch(std::string_view workflow_uuid, std::string_view data_json);
ApiRequest list_workflows();
ApiRequest list_plays(std::optional<bool> is_enabled);
ApiRequest list_tools();
ApiRequest usage_metrics(const UsageQuery& query);
ApiRequest subscription();
// `filter_json`: {"conjonction": ..., "groups": [...]}; `sort_json` a JSON array or "".
ApiRequest download_segment(std::string_view model_uuid, std::string_view filter_json, std::string_view sort_json,
                            std::optional<int> limit);

}  // namespace requests
}  // namespace cargomon::cargo
