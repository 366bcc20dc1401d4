// POST /segmentation/segments/download: a model's records as a segment.
#include "sim/api/internal.h"

namespace cargomon::sim {
namespace {

void check_segment_filter(const rapidjson::Value* filter) {
    auto bad = [](const std::string& what) { return ApiError(400, "invalidFilter", "filter: " + what); };
    if (!filter) throw invalid_payload("filter", "is required");
    if (!filter->IsObject()) throw bad("must be an object");
    auto conj = filter->FindMember("conjonction");
    if (conj == filter->MemberEnd() || !conj->value.IsString() ||
        (std::string_view(conj->value.GetString()) != "and" && std::string_view(conj->value.GetString()) != "or"))
        throw bad("conjonction must be \"and\" or \"or\"");
    auto groups = filter->FindMember("groups");
    if (groups == filter->MemberEnd() || !groups->value.IsArray()) throw bad("groups must be an array");
    for (const auto& g : groups->value.GetArray()) {
        if (!g.IsObject()) throw bad("each group must be an object");
        auto c = g.FindMember("conditions");
        if (c == g.MemberEnd() || !c->value.IsArray()) throw bad("each group needs a conditions array");
    }
}

}  // namespace

// The sim has no storage models: it exports the records its model's plays processed,
// with the filter checked for shape but its conditions not evaluated.
std::string handle_segments_download(const Call& call) {
    const std::string model = call.payload.required_string("modelUuid");
    check_segment_filter(call.payload.value("filter"));
    const int64_t limit = call.payload.integer("limit", 1, 1'000'000).value_or(1'000'000);
    std::vector<std::string> workflows;
    for (const Workflow& wf : call.workspace.workflows)
        if (wf.model_uuid == model) workflows.push_back(wf.uuid);
    if (workflows.empty()) throw ApiError(404, "modelNotFound", "no model " + model + " in this workspace");
    rapidjson::Document rows = call.select("SELECT id, any(title) FROM records WHERE workflow_uuid IN " +
                                           sql_list(workflows) + " GROUP BY id ORDER BY id LIMIT " +
                                           std::to_string(limit));
    std::string csv = "id,title\n";
    for (const auto& row : rows["data"].GetArray()) {
        csv_append(csv, row[0].GetString(), false);
        csv_append(csv, row[1].GetString(), true);
    }
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    w.Key("urls");
    w.StartArray();
    w.String(call.files.put(std::move(csv), "text/csv"));
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

}  // namespace cargomon::sim
