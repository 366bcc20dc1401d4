#include "actions/rerun.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace cargomon::actions {

std::string rerun_data(const Rerun& rerun) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    if (rerun.kind == Rerun::Kind::record_ids) {
        w.Key("kind"), w.String("recordIds");
        w.Key("modelUuid"), w.String(rerun.model_uuid);
        w.Key("ids");
        w.StartArray();
        for (const auto& id : rerun.record_ids) w.String(id);
        w.EndArray();
    } else {
        w.Key("kind"), w.String("runs");
        w.Key("filter");
        w.StartObject();
        w.Key("kind"), w.String("runs");
        w.Key("batchUuid"), w.String(rerun.batch_uuid);
        w.Key("statuses"), w.StartArray(), w.String("error"), w.EndArray();
        if (!rerun.run_uuids.empty()) {
            w.Key("uuids"), w.StartArray();
            for (const auto& uuid : rerun.run_uuids) w.String(uuid);
            w.EndArray();
        }
        w.EndObject();
        w.Key("reset"), w.StartObject(), w.Key("from"), w.String(rerun.reset), w.EndObject();
    }
    w.EndObject();
    return buf.GetString();
}

}  // namespace cargomon::actions
