#include "tests/daemon/sim_client.h"

#include <httplib.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace cargomon::testing {

namespace {

std::string text_of(const rapidjson::Value& v) {
    if (v.IsNull()) return "";
    if (v.IsString()) return v.GetString();
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    v.Accept(writer);
    return buffer.GetString();
}

std::string checked(const httplib::Result& res, const std::string& what) {
    if (!res) throw std::runtime_error(what + ": no answer: " + httplib::to_string(res.error()));
    if (res->status != 200) throw std::runtime_error(what + ": " + std::to_string(res->status) + " " + res->body);
    return res->body;
}

rapidjson::Document parse(const std::string& body, const std::string& what) {
    rapidjson::Document doc;
    if (doc.Parse(body.c_str()).HasParseError()) throw std::runtime_error(what + ": not JSON: " + body);
    return doc;
}

httplib::Client client_of(const SimProcess& sim) {
    httplib::Client client(sim.url());
    client.set_bearer_token_auth(sim.token());
    client.set_read_timeout(std::chrono::seconds{30});
    return client;
}

}  // namespace

std::vector<Row> SimClient::sql(const std::string& query) const {
    rapidjson::Document body(rapidjson::kObjectType);
    body.AddMember("query", rapidjson::Value(query.c_str(), body.GetAllocator()), body.GetAllocator());
    auto doc = parse(checked(client_of(sim_).Post("/v1/orchestration/query", text_of(body), "application/json"), query),
                     query);
    std::vector<Row> rows;
    for (const auto& r : doc["rows"].GetArray()) {
        Row row;
        for (const auto& m : r.GetObject()) row[m.name.GetString()] = text_of(m.value);
        rows.push_back(std::move(row));
    }
    return rows;
}

rapidjson::Document SimClient::get_json(const std::string& path) const {
    return parse(checked(client_of(sim_).Get(path), path), path);
}

void SimClient::put_fault(const std::string& json) const {
    checked(client_of(sim_).Put("/_sim/faults", json, "application/json"), "PUT /_sim/faults " + json);
}

void SimClient::clear_faults() const { checked(client_of(sim_).Delete("/_sim/faults"), "DELETE /_sim/faults"); }

void SimClient::post_event(const std::string& json) const {
    checked(client_of(sim_).Post("/_sim/events", json, "application/json"), "POST /_sim/events " + json);
}

void SimClient::clear_events() const { checked(client_of(sim_).Delete("/_sim/events"), "DELETE /_sim/events"); }

std::vector<std::string> SimClient::busiest_workflows(int min_runs) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (std::stoi(sql("SELECT count() AS n FROM runs WHERE created_at > now() - 120").at(0).at("n")) < min_runs) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("the live sim made fewer than " + std::to_string(min_runs) + " runs in 60 s");
        std::this_thread::sleep_for(std::chrono::seconds{1});
    }
    std::vector<std::string> out;
    for (const auto& row : sql("SELECT workflow_uuid, count() AS n FROM runs WHERE created_at > now() - 120 "
                               "GROUP BY workflow_uuid ORDER BY n DESC"))
        out.push_back(row.at("workflow_uuid"));
    return out;
}

std::uint64_t SimClient::requests(const std::string& endpoint) const {
    auto doc = parse(checked(client_of(sim_).Get("/_sim/stats"), "/_sim/stats"), "/_sim/stats");
    const auto& endpoints = doc["endpoints"];
    auto it = endpoints.FindMember(endpoint.c_str());
    return it == endpoints.MemberEnd() ? 0 : it->value["total"].GetUint64();
}

}  // namespace cargomon::testing
