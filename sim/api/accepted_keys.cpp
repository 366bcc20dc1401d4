#include "sim/api/accepted_keys.h"

#include <map>

namespace cargomon::sim {
namespace {

// The run filters of CountRunsPayload and ListRunsPayload; the downloads take most of them
// (each route's own list below says which).
#define CARGOMON_RUN_FILTER_KEYS                                                                                 \
    "workflowUuid", "batchUuid", "releaseUuid", "statuses", "parentBatchUuid", "parentUuid", "parentNodeUuid", \
        "isGroupParent", "recordId", "recordTitle", "recordTitleOrId", "isFinished", "executionsFilter",         \
        "createdAfter", "createdBefore"

struct Shapes {
    Shape empty{};
    // Segmentation.Filter (SystemOfRecordIntegration's): {conjonction, groups[{conjonction,
    // conditions}]}; a condition's keys depend on its kind and are the handler's to check.
    Shape filter_group{.keys = {"conjonction", "conditions"}};
    Shape segment_filter{.keys = {"conjonction", "groups"}, .nested = {{"groups", &filter_group, true}}};
    Shape sort_item{.keys = {"columnSlug", "kind"}};

    // BatchDataRunsFilter: the keys of both kinds, then those of `runs` or `records`.
    Shape runs_filter_runs{.keys = {"uuids", "recordId", "recordTitle", "recordTitleOrId", "statuses"}};
    Shape runs_filter_records{.keys = {"ids", "title", "titleOrId", "statuses"}};
    Shape runs_filter{.keys = {"kind", "releaseUuid", "batchUuid", "parentBatchUuid", "parentRunUuid",
                               "parentNodeUuid", "isGroupParent", "executionsFilter", "createdAfter", "createdBefore"},
                      .tag = "kind",
                      .variants = {{"runs", &runs_filter_runs}, {"records", &runs_filter_records}}};
    // BatchDataRunsReset: {from} for lastNode, firstNode and nextNode; node adds nodeUuid.
    Shape reset_node{.keys = {"nodeUuid"}};
    Shape reset{.keys = {"from"}, .tag = "from", .variants = {{"lastNode", &empty}, {"firstNode", &empty},
                                                             {"nextNode", &empty}, {"node", &reset_node}}};

    // CreateBatchPayload's `data`, by kind.
    Shape data_segment{.keys = {"segmentUuid"}};
    Shape data_change{.keys = {"changeUuid", "changeKinds"}};
    Shape data_file{.keys = {"s3Filename", "mappings"}};
    Shape data_filter{.keys = {"modelUuid", "filter", "sort", "limit"},
                      .nested = {{"filter", &segment_filter}, {"sort", &sort_item, true}}};
    Shape data_runs{.keys = {"filter", "reset"}, .nested = {{"filter", &runs_filter}, {"reset", &reset}}};
    Shape data_record_ids{.keys = {"modelUuid", "ids"}};
    Shape data_records{.keys = {"records"}};
    Shape data_schedule{.keys = {"modelUuid", "segmentUuid", "changeKinds", "skip"}};
    Shape data_form{.keys = {"records", "parentBatchUuid", "parentRunUuid", "parentNodeUuid"}};
    Shape batch_data{.keys = {"kind"},
                     .tag = "kind",
                     .variants = {{"segment", &data_segment},
                                  {"change", &data_change},
                                  {"file", &data_file},
                                  {"filter", &data_filter},
                                  {"runs", &data_runs},
                                  {"recordIds", &data_record_ids},
                                  {"records", &data_records},
                                  {"schedule", &data_schedule},
                                  {"form", &data_form}}};

    std::map<std::string, Shape, std::less<>> routes{
        {"POST /v1/orchestration/query", {.keys = {"query"}}},
        {"POST /v1/orchestration/runs/count",
         {.keys = {CARGOMON_RUN_FILTER_KEYS, "userUuid", "updatedAfter", "updatedBefore"}}},
        {"POST /v1/orchestration/runs/list",
         {.keys = {CARGOMON_RUN_FILTER_KEYS, "userUuid", "updatedAfter", "updatedBefore", "limit", "offset"}}},
        {"POST /v1/orchestration/runs/download",
         {.keys = {CARGOMON_RUN_FILTER_KEYS, "uuids", "updatedAfter", "updatedBefore"}}},
        {"POST /v1/orchestration/runs/download-outputs",
         {.keys = {CARGOMON_RUN_FILTER_KEYS, "outputNodeSlug", "format", "limit", "offset"}}},
        {"POST /v1/orchestration/runs/metrics",
         {.keys = {"workflowUuid", "releaseUuid", "batchUuid", "createdAfter", "createdBefore"}}},
        {"POST /v1/orchestration/spans/count",
         {.keys = {"workflowUuid", "userUuid", "batchUuid", "traceUuid", "runUuid", "recordId", "recordTitle",
                   "recordTitleOrId", "parentRunUuid", "parentNodeUuid", "parentAgentUuid", "nodeUuid", "nodeKind",
                   "nodeSlug", "nodeIntegrationSlug", "nodeConnectorUuid", "nodeActionSlug", "nodeToolUuid",
                   "nodeAgentUuid", "nodeReleaseUuid", "executionTitle", "executionTitleOrErrorMessage",
                   "executionStatuses", "executionStartedAfter", "executionStartedBefore"}}},
        {"GET /v1/orchestration/batches/list",
         {.keys = {"workflowUuids", "releaseUuid", "parentBatchUuid", "parentRunUuid", "parentNodeUuid", "statuses",
                   "hasRuns", "isSkipped", "isFinished", "includedDataKinds", "excludedDataKinds", "limit",
                   "offset"}}},
        // DownloadBatchPayload's uuid is the path's; the official client sends the rest.
        {"POST /v1/orchestration/batches/{uuid}/download", {.keys = {"outputNodeSlug"}}},
        {"POST /v1/orchestration/batches",
         {.keys = {"workflowUuid", "releaseUuid", "nodes", "data"}, .nested = {{"data", &batch_data}}}},
        {"GET /v1/orchestration/plays/list", {.keys = {"isEnabled", "modelUuid", "segmentUuid", "scheduleType"}}},
        {"GET /v1/billing/usage/metrics",
         {.keys = {"workflowUuid", "modelUuid", "connectorUuid", "integrationSlug", "slug", "agentUuid", "from", "to",
                   "groupBy", "unit"}}},
        {"POST /v1/segmentation/segments/download",
         {.keys = {"filter", "sort", "limit", "modelUuid"},
          .nested = {{"filter", &segment_filter}, {"sort", &sort_item, true}}}},
    };
};

#undef CARGOMON_RUN_FILTER_KEYS

const Shapes& shapes() {
    static const Shapes s;
    return s;
}

bool declares(const Shape& shape, std::string_view key) {
    for (std::string_view k : shape.keys)
        if (k == key) return true;
    return false;
}

const Shape* variant_of(const Shape& shape, const rapidjson::Value& object) {
    if (shape.tag.empty()) return nullptr;
    auto it = object.FindMember(rapidjson::Value(rapidjson::StringRef(shape.tag.data(), shape.tag.size())));
    if (it == object.MemberEnd() || !it->value.IsString()) return nullptr;
    for (const auto& v : shape.variants)
        if (v.tag_value == it->value.GetString()) return v.shape;
    return nullptr;
}

void check(const Shape& shape, const rapidjson::Value& object, const std::string& path,
           std::vector<UnrecognizedKeys>& found) {
    if (!object.IsObject()) return;  // a value of the wrong type is the handler's 400
    const Shape* variant = variant_of(shape, object);
    UnrecognizedKeys here{.path = path, .keys = {}};
    for (const auto& m : object.GetObject()) {
        const std::string_view key(m.name.GetString(), m.name.GetStringLength());
        if (!declares(shape, key) && !(variant && declares(*variant, key))) here.keys.emplace_back(key);
    }
    if (!here.keys.empty()) found.push_back(std::move(here));
    auto descend = [&](const Shape& from) {
        for (const auto& n : from.nested) {
            auto it = object.FindMember(rapidjson::Value(rapidjson::StringRef(n.key.data(), n.key.size())));
            if (it == object.MemberEnd()) continue;
            const std::string inner = path.empty() ? std::string(n.key) : path + "." + std::string(n.key);
            if (!n.each) {
                check(*n.shape, it->value, inner, found);
            } else if (it->value.IsArray()) {
                for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i)
                    check(*n.shape, it->value[i], inner + "[" + std::to_string(i) + "]", found);
            }
        }
    };
    descend(shape);
    if (variant) descend(*variant);
}

}  // namespace

const Shape& route_shape(std::string_view method, std::string_view pattern) {
    const auto& routes = shapes().routes;
    auto it = routes.find(std::string(method) + " " + std::string(pattern));
    return it == routes.end() ? shapes().empty : it->second;
}

std::vector<std::string> shaped_routes() {
    std::vector<std::string> out;
    for (const auto& [route, shape] : shapes().routes) out.push_back(route);
    return out;
}

std::vector<UnrecognizedKeys> unrecognized_keys(const Shape& shape, const rapidjson::Value& body) {
    std::vector<UnrecognizedKeys> found;
    check(shape, body, "", found);
    return found;
}

std::string unrecognized_keys_message(const std::vector<UnrecognizedKeys>& found) {
    std::string out;
    for (const auto& f : found) {
        if (!out.empty()) out += "; ";
        out += f.keys.size() == 1 ? "Unrecognized key: " : "Unrecognized keys: ";
        for (std::size_t i = 0; i < f.keys.size(); ++i) out += (i ? ", \"" : "\"") + f.keys[i] + "\"";
        if (!f.path.empty()) out += " at " + f.path;
    }
    return out;
}

}  // namespace cargomon::sim
