// Every request cargomon can build (cargo/requests.h, with the re-run data of
// actions/rerun.h) held to the keys the sim's route takes (sim/api/accepted_keys.h, the
// typings' payload types): with every optional field set, no builder sends a key its
// route would refuse with 400 unrecognized_keys, and no endpoint cargomon calls goes
// unwalked. The sim's own check refuses keys at the top and inside nested objects.
#include "sim/api/accepted_keys.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>

#include <set>
#include <string>

#include "actions/rerun.h"
#include "cargo/requests.h"
#include "common/clock.h"

namespace cargomon::sim {
namespace {

using namespace std::chrono_literals;

// A request's keys as the sim reads them: the JSON body, or the query string with
// axios' key[] arrays.
rapidjson::Document fields_of(const cargo::ApiRequest& r) {
    rapidjson::Document doc;
    if (!r.body.empty()) {
        doc.Parse(r.body.c_str());
        return doc;
    }
    doc.SetObject();
    httplib::Params params;
    if (!r.query.empty()) httplib::detail::parse_query_text(r.query.substr(1), params);
    for (const auto& [key, value] : params) {
        std::string name = key.ends_with("[]") ? key.substr(0, key.size() - 2) : key;
        if (!doc.HasMember(name.c_str()))
            doc.AddMember(rapidjson::Value(name.c_str(), doc.GetAllocator()), rapidjson::Value(value.c_str(), doc.GetAllocator()),
                          doc.GetAllocator());
    }
    return doc;
}

std::string route_of(const cargo::ApiRequest& r) { return std::string(r.method) + " /v1" + std::string(r.endpoint); }

class EveryRequest : public ::testing::Test {
protected:
    // Holds `r` to its route's shape, and notes the endpoint as walked.
    void check(const cargo::ApiRequest& r) {
        walked_.insert(route_of(r));
        const rapidjson::Document fields = fields_of(r);
        ASSERT_TRUE(fields.IsObject()) << route_of(r) << ": " << r.body;
        const auto found = unrecognized_keys(route_shape(r.method, "/v1" + std::string(r.endpoint)), fields);
        EXPECT_TRUE(found.empty()) << route_of(r) << " would be refused: " << unrecognized_keys_message(found)
                                   << "\n  body: " << r.body << r.query;
    }

    std::set<std::string> walked_;
};

TEST_F(EveryRequest, EachBuilderWithEveryFieldSetSendsOnlyKeysItsRouteTakes) {
    const SystemTime t = SystemTime{} + 1'700'000'000s;
    const cargo::RunFilter full{.workflow_uuid = "wf",
                                .statuses = {"error", "success"},
                                .batch_uuid = "b",
                                .release_uuid = "r",
                                .is_finished = true,
                                .record_id = "id",
                                .record_title = "title",
                                .created_after = t,
                                .created_before = t + 1h,
                                .updated_after = t,
                                .updated_before = t + 1h};
    cargo::RunFilter no_updates = full;
    no_updates.updated_after.reset();
    no_updates.updated_before.reset();

    check(cargo::requests::execute_query("SELECT 1"));
    check(cargo::requests::count_runs(full));
    check(cargo::requests::list_runs(full, 1000, 5));
    check(cargo::requests::download_runs(full, {"u1", "u2"}));
    check(cargo::requests::download_run_outputs(no_updates, std::string("end"), "json", 10, 20));
    check(cargo::requests::run_metrics(
        "wf", {.release_uuid = "r", .batch_uuid = "b", .created_after = t, .created_before = t + 1h}));
    check(cargo::requests::list_batches({.workflow_uuids = {"a", "b"},
                                         .release_uuid = "r",
                                         .statuses = {"running"},
                                         .is_finished = false,
                                         .has_runs = true,
                                         .limit = 100,
                                         .offset = 100}));
    check(cargo::requests::get_batch("b"));
    check(cargo::requests::get_release("r"));
    check(cargo::requests::download_batch("b", std::string("end")));
    for (const actions::Rerun& rerun :
         {actions::Rerun{.kind = actions::Rerun::Kind::runs, .batch_uuid = "b", .reset = "firstNode", .run_uuids = {"u"}},
          actions::Rerun{.kind = actions::Rerun::Kind::runs, .batch_uuid = "b", .reset = "lastNode"},
          actions::Rerun{.kind = actions::Rerun::Kind::runs, .batch_uuid = "b", .reset = "nextNode"},
          actions::Rerun{.kind = actions::Rerun::Kind::record_ids, .model_uuid = "m", .record_ids = {"1", "2"}}})
        check(cargo::requests::create_batch("wf", actions::rerun_data(rerun)));
    check(cargo::requests::list_workflows());
    check(cargo::requests::list_plays(true));
    check(cargo::requests::list_tools());
    check(cargo::requests::usage_metrics(
        {.from = t, .to = t + 24h, .workflow_uuid = "wf", .group_by = "agent_uuid", .unit = "billing.credits"}));
    check(cargo::requests::subscription());
    check(cargo::requests::download_segment(
        "m", R"({"conjonction":"and","groups":[{"conjonction":"or","conditions":[]}]})",
        R"([{"columnSlug":"id","kind":"asc"}])", 10));

    // Every endpoint cargomon may call was walked above: a new one must be added here.
    for (const auto& e : cargo::endpoint_keys())
        EXPECT_TRUE(walked_.count(std::string(e.method) + " /v1" + std::string(e.endpoint)))
            << e.method << " " << e.endpoint << " is not walked by this test";
}

// The key lists cargomon builds from are a subset of what the sim's routes take, key by key.
TEST(EndpointKeys, EveryKeyCargomonMaySendIsOneItsRouteTakes) {
    for (const auto& e : cargo::endpoint_keys()) {
        const Shape& shape = route_shape(e.method, "/v1" + std::string(e.endpoint));
        for (std::string_view key : e.keys) {
            bool taken = false;
            for (std::string_view k : shape.keys) taken = taken || k == key;
            EXPECT_TRUE(taken) << e.method << " " << e.endpoint << " does not take " << key;
        }
    }
}

// A key an endpoint's type lacks is refused before sending, with the key named.
TEST(EndpointKeys, ABuilderRefusesAFilterItsEndpointDoesNotTake) {
    try {
        cargo::requests::download_run_outputs({.workflow_uuid = "wf", .updated_before = SystemTime{}}, std::nullopt,
                                              "csv", std::nullopt, std::nullopt);
        FAIL() << "no error";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("takes no updatedBefore"), std::string::npos) << e.what();
    }
}

rapidjson::Document json(const char* text) {
    rapidjson::Document d;
    d.Parse(text);
    return d;
}

TEST(AcceptedKeys, UnknownKeysAreFoundAtEveryLevelTheTypingsShape) {
    const Shape& create = route_shape("POST", "/v1/orchestration/batches");
    EXPECT_TRUE(unrecognized_keys(create, json(R"({"workflowUuid":"w","data":{"kind":"runs",
        "filter":{"kind":"runs","batchUuid":"b","uuids":[]},"reset":{"from":"node","nodeUuid":"n"}}})")).empty());
    auto found = unrecognized_keys(create, json(R"({"workflowUuid":"w","bogus":1,"data":{"kind":"runs","extra":2,
        "filter":{"kind":"records","title":"t","recordTitle":"r"},"reset":{"from":"firstNode","nodeUuid":"n"}}})"));
    ASSERT_EQ(found.size(), 4u);
    EXPECT_EQ(found[0].path, "");
    EXPECT_EQ(found[0].keys, std::vector<std::string>{"bogus"});
    EXPECT_EQ(found[1].path, "data");
    EXPECT_EQ(found[1].keys, std::vector<std::string>{"extra"});
    // recordTitle is the runs filter's; a records filter calls it title.
    EXPECT_EQ(found[2].path, "data.filter");
    EXPECT_EQ(found[2].keys, std::vector<std::string>{"recordTitle"});
    EXPECT_EQ(found[3].path, "data.reset");
    EXPECT_EQ(found[3].keys, std::vector<std::string>{"nodeUuid"});
    EXPECT_EQ(unrecognized_keys_message(found),
              "Unrecognized key: \"bogus\"; Unrecognized key: \"extra\" at data; Unrecognized key: \"recordTitle\" at "
              "data.filter; Unrecognized key: \"nodeUuid\" at data.reset");

    const Shape& segment = route_shape("POST", "/v1/segmentation/segments/download");
    found = unrecognized_keys(segment, json(R"({"modelUuid":"m","filter":{"conjonction":"and","groups":[
        {"conjonction":"and","conditions":[]},{"conjonction":"or","conditions":[],"x":1,"y":2}]},
        "sort":[{"columnSlug":"id","kind":"asc","nulls":"first"}]})"));
    ASSERT_EQ(found.size(), 2u);
    EXPECT_EQ(found[0].path, "filter.groups[1]");
    EXPECT_EQ(found[0].keys, (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(found[1].path, "sort[0]");
    EXPECT_EQ(unrecognized_keys_message({found[0]}), "Unrecognized keys: \"x\", \"y\" at filter.groups[1]");

    // A route without a shape takes no keys; a value of the wrong type is the handler's 400.
    EXPECT_EQ(unrecognized_keys(route_shape("GET", "/v1/orchestration/workflows/list"), json(R"({"a":1})")).size(), 1u);
    EXPECT_TRUE(unrecognized_keys(create, json(R"({"data":"runs"})")).empty());
    // runs/download-outputs' type has no updatedAfter, runs/download's no userUuid.
    EXPECT_EQ(unrecognized_keys(route_shape("POST", "/v1/orchestration/runs/download-outputs"),
                                json(R"({"workflowUuid":"w","updatedAfter":"x"})"))
                  .size(),
              1u);
    EXPECT_EQ(unrecognized_keys(route_shape("POST", "/v1/orchestration/runs/download"), json(R"({"userUuid":"u"})"))
                  .size(),
              1u);
}

}  // namespace
}  // namespace cargomon::sim
