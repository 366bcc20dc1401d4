// The data a run's nodes output, as the downloads carry it (runs/download's runContext,
// the outputs file's input and output): made up from the node and the record, the same
// every time, so a test can tell which node's output it is reading.
#include "sim/api/internal.h"

namespace cargomon::sim {

void write_record_input(JsonWriter& w, std::string_view record_id, std::string_view record_title) {
    w.StartObject();
    w.Key("_id"), w.String(record_id.data(), static_cast<rapidjson::SizeType>(record_id.size()));
    w.Key("title"), w.String(record_title.data(), static_cast<rapidjson::SizeType>(record_title.size()));
    w.EndObject();
}

void write_node_output(JsonWriter& w, const NodeOutputOf& node, std::string_view record_id,
                       std::string_view record_title) {
    auto str = [&](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
    if (node.slug == "start") return write_record_input(w, record_id, record_title);
    w.StartObject();
    w.Key("nodeSlug"), str(node.slug);
    if (node.kind == "agent") {
        // An agent's structured answer sits under "answer", as Cargo's docs show.
        w.Key("answer"), w.StartObject();
        w.Key("qualified"), w.Bool(record_id.empty() || (record_id.back() & 1) == 0);
        w.Key("summary"), str(record_title);
        w.EndObject();
    } else if (node.kind == "connector") {
        w.Key("integration"), str(node.integration_slug);
        w.Key("action"), str(node.action_slug);
        w.Key("recordId"), str(record_id);
    } else {
        w.Key("action"), str(node.action_slug);
        w.Key("recordId"), str(record_id);
        w.Key("title"), str(record_title);
    }
    w.EndObject();
}

}  // namespace cargomon::sim
