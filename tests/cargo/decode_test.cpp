#include "cargo/decode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "common/timefmt.h"

namespace cargomon::cargo::decode {
namespace {

std::string s(const char* text) { return text; }

TEST(DecodeQuery, CellsKeepTheirKindAndColumnOrder) {
    auto body = s(R"({"rows": [
        {"workflow_uuid": "wf-1", "errors": 3, "rate": null, "big": "18446744073709551615", "ok": true, "tags": [1, "a"]},
        {"workflow_uuid": "wf-2", "errors": "12", "rate": 0.25, "big": "x", "ok": false, "tags": {}}
    ], "extra": 1})");
    QueryResult r = query_result(body);
    EXPECT_EQ(r.columns, (std::vector<std::string>{"workflow_uuid", "errors", "rate", "big", "ok", "tags"}));
    ASSERT_EQ(r.row_count(), 2u);
    EXPECT_EQ(*r.at(0, 0).text(), "wf-1");
    EXPECT_EQ(r.at(0, 1).as_double(), 3);
    EXPECT_TRUE(r.at(0, 2).is_null());
    EXPECT_EQ(r.at(0, 2).as_double(), std::nullopt);
    EXPECT_EQ(r.at(0, 3).as_double(), 18446744073709551615.0);
    EXPECT_EQ(r.at(0, 4).as_double(), 1);
    EXPECT_EQ(*r.at(0, 5).text(), R"([1,"a"])");
    EXPECT_EQ(r.at(1, 1).as_double(), 12);
    EXPECT_EQ(r.at(1, 2).as_double(), 0.25);
    EXPECT_EQ(r.at(1, 3).as_double(), std::nullopt);
    EXPECT_EQ(r.at(1, 4).as_double(), 0);
    EXPECT_EQ(r.column("rate"), 2u);
    EXPECT_EQ(r.column("nope"), std::nullopt);
}

TEST(DecodeQuery, RowsWithAnotherKeyOrderOrMissingKeysAreMatchedByName) {
    auto body = s(R"({"rows": [{"a": 1, "b": 2}, {"b": 20, "a": 10}, {"a": 100}]})");
    QueryResult r = query_result(body);
    ASSERT_EQ(r.row_count(), 3u);
    EXPECT_EQ(r.at(1, 0).as_double(), 10);
    EXPECT_EQ(r.at(1, 1).as_double(), 20);
    EXPECT_EQ(r.at(2, 0).as_double(), 100);
    EXPECT_TRUE(r.at(2, 1).is_null());
}

TEST(DecodeQuery, NoRows) {
    auto body = s(R"({"rows": []})");
    QueryResult r = query_result(body);
    EXPECT_EQ(r.row_count(), 0u);
    EXPECT_TRUE(r.columns.empty());
}

TEST(DecodeQuery, TenThousandRows) {
    std::string body = R"({"rows": [)";
    for (int i = 0; i < 10'000; ++i) {
        if (i) body += ',';
        body += R"({"node_slug": "node-)" + std::to_string(i % 7) + R"(", "failures": ")" + std::to_string(i) + "\"}";
    }
    body += "]}";
    QueryResult r = query_result(body);
    ASSERT_EQ(r.row_count(), 10'000u);
    EXPECT_EQ(r.at(9'999, 1).as_double(), 9'999);
    EXPECT_EQ(*r.at(9'999, 0).text(), "node-3");
}

TEST(Decode, MalformedBodiesAreErrorsNotCrashes) {
    for (const char* bad : {"", "{", R"({"rows": [{"a": 1}, {"a": )", "[]", "null", R"({"rows": {}})",
                            R"({"rows": [1, 2]})", R"({"rows": []} trailing)", "\xff\xfe"}) {
        std::string body = bad;
        EXPECT_THROW(query_result(body), DecodeError) << bad;
    }
}

// A hostile or broken API (or a man in the middle of plain HTTP) must not crash the
// daemon: these nestings overflowed the stack of the recursive parser.
TEST(Decode, DeeplyNestedAnswersAreErrorsNotCrashes) {
    std::string brackets(3000, '[');
    try {
        query_result(brackets);
        FAIL() << "no error";
    } catch (const DecodeError& e) {
        EXPECT_EQ(std::string(e.what()), "malformed JSON at offset 64: nested deeper than 64 arrays and objects");
    }
    std::string rows = R"({"rows": [{"a": )";
    for (int i = 0; i < 200'000; ++i) rows += "{\"a\":[";
    EXPECT_THROW(query_result(rows), DecodeError);
    std::string braces(1'000'000, '{');
    EXPECT_THROW(batches(braces), DecodeError);
    EXPECT_EQ(error_body(std::string(1'000'000, '[')).error_message, "");
}

TEST(DecodeCount, AcceptsStringNumbersAndRejectsNonsense) {
    auto a = s(R"({"count": 42})"), b = s(R"({"count": "9007199254740993"})"), c = s(R"({"count": 3.0})");
    EXPECT_EQ(count(a), 42);
    EXPECT_EQ(count(b), 9007199254740993);  // beyond a double's precision: read as an integer
    EXPECT_EQ(count(c), 3);
    for (const char* bad : {R"({})", R"({"count": null})", R"({"count": "12abc"})", R"({"count": ""})",
                            R"({"count": {}})", R"({"count": [1]})"}) {
        std::string body = bad;
        EXPECT_THROW(count(body), DecodeError) << bad;
    }
}

// from_chars reads "nan" and "inf": a count has no such value (and llround of one is
// unspecified), so it is refused; a query cell keeps it for the collector to judge.
TEST(DecodeCount, NonFiniteAndOutOfRangeCountsAreRefused) {
    for (const char* bad : {R"({"count": "nan"})", R"({"count": "inf"})", R"({"count": "-infinity"})",
                            R"({"count": 1e300})", R"({"count": "-1e19"})"}) {
        std::string body = bad;
        EXPECT_THROW(count(body), DecodeError) << bad;
    }
    auto cells = s(R"({"rows": [{"a": "nan", "b": "inf", "c": "-inf"}]})");
    const auto result = query_result(cells);
    EXPECT_TRUE(std::isnan(*result.at(0, 0).as_double()));
    EXPECT_EQ(*result.at(0, 1).as_double(), std::numeric_limits<double>::infinity());
    EXPECT_EQ(*result.at(0, 2).as_double(), -std::numeric_limits<double>::infinity());
}

// The actions' budgets are computed from a batch's counts: a negative or non-finite one
// would make an estimate of 0 or less, so the batch is refused, naming the field.
TEST(DecodeBatches, CountsThatAreNoCountsAreRefused) {
    const std::string head = R"({"batch": {"uuid": "b1", "workflowUuid": "wf", "status": "success", )";
    const std::pair<const char*, const char*> bad[] = {
        {R"("runsCount": -3, "failedRunsCount": 1, "creditsUsedCount": 4})", "runsCount: expected a count, got a negative"},
        {R"("runsCount": 3, "failedRunsCount": "-1", "creditsUsedCount": 4})", "failedRunsCount: expected a count, got a negative"},
        {R"("runsCount": 3, "executedRunsCount": -1, "creditsUsedCount": 4})", "executedRunsCount: expected a count, got a negative"},
        {R"("runsCount": 3, "failedRunsCount": 1, "creditsUsedCount": -0.5})", "creditsUsedCount: expected a credit count, got a negative"},
        {R"("runsCount": 3, "failedRunsCount": 1, "creditsUsedCount": "nan"})", "creditsUsedCount: expected a credit count, got a non-finite"},
        {R"("runsCount": 3, "failedRunsCount": 1, "creditsUsedCount": "inf"})", "creditsUsedCount: expected a credit count, got a non-finite"},
        {R"("runsCount": "nan", "failedRunsCount": 1, "creditsUsedCount": 1})", "runsCount: expected a count, got a number out of range"},
    };
    for (const auto& [fields, error] : bad) {
        std::string body = head + fields + "}";
        try {
            batch(body);
            ADD_FAILURE() << "accepted " << fields;
        } catch (const DecodeError& e) {
            EXPECT_TRUE(std::string(e.what()).starts_with(std::string("batch.") + error)) << e.what();
        }
    }
    std::string zero = head + R"("runsCount": 0, "failedRunsCount": 0, "creditsUsedCount": 0}})";
    EXPECT_EQ(batch(zero).credits_used_count, 0);
}

// A re-run is known by its data: the batch its filter names, or the records it names.
TEST(DecodeBatches, WhatARerunsDataNames) {
    auto body = s(R"({"batches": [
        {"uuid": "r1", "status": "pending", "data": {"kind": "runs", "filter": {"kind": "runs", "batchUuid": "b1",
         "statuses": ["error"], "uuids": ["u1"]}, "reset": {"from": "firstNode"}}},
        {"uuid": "r2", "status": "pending", "data": {"kind": "recordIds", "modelUuid": "m", "ids": ["i1", "i2", 3]}},
        {"uuid": "s1", "status": "pending", "data": {"kind": "segment", "filter": "odd", "ids": ["x"]}},
        {"uuid": "s2", "status": "pending", "data": null}]})");
    const auto got = batches(body);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].rerun_of, "b1");
    EXPECT_TRUE(got[0].record_ids.empty());
    EXPECT_EQ(got[1].rerun_of, std::nullopt);
    EXPECT_EQ(got[1].record_ids, (std::vector<std::string>{"i1", "i2"}));
    EXPECT_EQ(got[2].rerun_of, std::nullopt);
    EXPECT_TRUE(got[2].record_ids.empty());
    EXPECT_EQ(got[3].rerun_of, std::nullopt);
}

TEST(DecodeRunMetrics, NullAndStringCountsAndUnknownFields) {
    auto body = s(R"({"runMetrics": [
        {"nodeUuid": "n1", "totalExecutionsCount": "10", "successExecutionsCount": 7, "errorExecutionsCount": 3,
         "creditsUsedCount": null, "someNewField": {"x": 1}},
        {"nodeUuid": "n2"}
    ]})");
    auto m = run_metrics(body);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].node_uuid, "n1");
    EXPECT_EQ(m[0].total, 10);
    EXPECT_EQ(m[0].success, 7);
    EXPECT_EQ(m[0].error, 3);
    EXPECT_EQ(m[0].credits_used, 0);
    EXPECT_EQ(m[1].total, 0);
}

TEST(DecodeBatches, FullShape) {
    auto body = s(R"({"batches": [{
        "uuid": "b1", "workspaceUuid": "ws", "workflowUuid": "wf", "releaseUuid": null, "userUuid": "u",
        "data": {"kind": "segment", "segmentUuid": "s"}, "status": "success", "runsStatus": "unhealthy",
        "runsCount": 100, "executedRunsCount": "98", "failedRunsCount": 5, "creditsUsedCount": 12.5,
        "errorMessage": null, "createdAt": "2026-11-28T09:00:00.000Z", "updatedAt": "2026-11-28T09:05:00Z",
        "finishedAt": null, "nodes": null}]})");
    auto batches_ = batches(body);
    ASSERT_EQ(batches_.size(), 1u);
    const Batch& b = batches_[0];
    EXPECT_EQ(b.uuid, "b1");
    EXPECT_EQ(b.workflow_uuid, "wf");
    EXPECT_EQ(b.release_uuid, std::nullopt);
    EXPECT_EQ(b.data_kind, "segment");
    EXPECT_EQ(b.status, "success");
    EXPECT_EQ(b.runs_status, "unhealthy");
    EXPECT_EQ(b.runs_count, 100);
    EXPECT_EQ(b.executed_runs_count, 98);
    EXPECT_EQ(b.failed_runs_count, 5);
    EXPECT_EQ(b.credits_used_count, 12.5);
    EXPECT_EQ(b.error_message, std::nullopt);
    EXPECT_EQ(b.created_at, parse_iso8601("2026-11-28T09:00:00Z"));
    EXPECT_EQ(b.finished_at, std::nullopt);
}

TEST(DecodeBatches, ErrorsNameTheItemAndField) {
    auto body = s(R"({"batches": [{"uuid": "b1", "status": "running"},
                                  {"uuid": "b2", "status": "running", "createdAt": "yesterday"}]})");
    try {
        batches(body);
        FAIL() << "no error";
    } catch (const DecodeError& e) {
        EXPECT_STREQ(e.what(), "batches[1].createdAt: a string that is not an ISO-8601 timestamp");
    }
    auto missing = s(R"({"batch": {"status": "running"}})");
    try {
        batch(missing);
        FAIL() << "no error";
    } catch (const DecodeError& e) {
        EXPECT_STREQ(e.what(), "batch.uuid: missing");
    }
}

TEST(DecodeCatalogue, WorkflowsPlaysTools) {
    auto w = s(R"({"workflows": [
        {"uuid": "wf1", "playUuid": "p1", "toolUuid": null, "nodes": [], "lastBatch": null},
        {"uuid": "wf2", "playUuid": null, "toolUuid": "t1",
         "lastBatch": {"uuid": "b9", "status": "error", "runsStatus": null, "errorMessage": "boom",
                       "createdAt": "2026-11-28T09:00:00Z", "finishedAt": "2026-11-28T09:01:00Z"}}]})");
    auto workflows_ = workflows(w);
    ASSERT_EQ(workflows_.size(), 2u);
    EXPECT_EQ(workflows_[0].play_uuid, "p1");
    EXPECT_EQ(workflows_[0].last_batch.has_value(), false);
    ASSERT_TRUE(workflows_[1].last_batch.has_value());
    EXPECT_EQ(workflows_[1].last_batch->status, "error");
    EXPECT_EQ(workflows_[1].last_batch->error_message, "boom");

    auto p = s(R"({"plays": [{"uuid": "p1", "workflowUuid": "wf1", "name": "Enrich leads", "isEnabled": true,
                             "healthThreshold": "80"}]})");
    auto plays_ = plays(p);
    ASSERT_EQ(plays_.size(), 1u);
    EXPECT_EQ(plays_[0].name, "Enrich leads");
    EXPECT_TRUE(plays_[0].is_enabled);
    EXPECT_EQ(plays_[0].health_threshold, 80);

    auto t = s(R"({"tools": [{"uuid": "t1", "workflowUuid": "wf2", "name": "Find email", "icon": {"kind": "emoji"}}]})");
    auto tools_ = tools(t);
    ASSERT_EQ(tools_.size(), 1u);
    EXPECT_EQ(tools_[0].workflow_uuid, "wf2");

    auto bad = s(R"({"plays": [{"uuid": "p1", "workflowUuid": "wf1", "isEnabled": "yes"}]})");
    EXPECT_THROW(plays(bad), DecodeError);
}

// The service sends every `T | null` field, null when empty; older answers or a proxy may
// leave them out. Both read the same.
TEST(DecodeRuns, NullAndAbsentFieldsReadAlike) {
    auto with_nulls = s(R"({"runs": [{"uuid": "r1", "workflowUuid": "wf", "batchUuid": null, "releaseUuid": null,
        "recordId": "rec-1", "recordTitle": "One", "status": "success", "errorMessage": null, "executions": [],
        "createdAt": "2026-11-30T10:00:00.000Z", "finishedAt": null, "parentUuid": null}], "count": 1})");
    auto absent = s(R"({"runs": [{"uuid": "r1", "workflowUuid": "wf", "recordId": "rec-1", "recordTitle": "One",
        "status": "success", "createdAt": "2026-11-30T10:00:00.000Z"}], "count": "1"})");
    for (std::string* body : {&with_nulls, &absent}) {
        RunPage page = runs(*body);
        EXPECT_EQ(page.count, 1);
        ASSERT_EQ(page.runs.size(), 1u);
        const cargo::Run& r = page.runs[0];
        EXPECT_EQ(r.batch_uuid, std::nullopt);
        EXPECT_EQ(r.error_message, std::nullopt);
        EXPECT_EQ(r.finished_at, std::nullopt);
        EXPECT_TRUE(r.executions.empty());
        EXPECT_EQ(r.created_at, parse_iso8601("2026-11-30T10:00:00.000Z"));
    }
    auto failed = s(R"({"runs": [{"uuid": "r2", "status": "error", "errorMessage": "boom", "executions": [
        {"nodeUuid": "n1", "nodeSlug": "start", "status": "success", "errorMessage": null},
        {"nodeUuid": "n2", "nodeSlug": "enrich", "status": "error", "errorMessage": "rate limited"}]}], "count": 7})");
    RunPage page = runs(failed);
    EXPECT_EQ(page.count, 7);
    EXPECT_EQ(page.runs[0].error_message, "boom");
    ASSERT_EQ(page.runs[0].executions.size(), 2u);
    EXPECT_EQ(page.runs[0].executions[1].node_slug, "enrich");
    EXPECT_EQ(page.runs[0].executions[1].error_message, "rate limited");
    auto bad = s(R"({"runs": [{"uuid": "r3", "status": 5}]})");
    EXPECT_THROW(runs(bad), DecodeError);
}

TEST(DecodeBatches, NullAndAbsentFieldsReadAlike) {
    auto with_nulls = s(R"({"batch": {"uuid": "b", "status": "success", "releaseUuid": null, "runsStatus": null,
        "errorMessage": null, "finishedAt": null, "runsCount": null, "data": {"kind": "segment"}}})");
    auto absent = s(R"({"batch": {"uuid": "b", "status": "success", "data": {"kind": "segment"}}})");
    for (std::string* body : {&with_nulls, &absent}) {
        Batch b = batch(*body);
        EXPECT_EQ(b.release_uuid, std::nullopt);
        EXPECT_EQ(b.error_message, std::nullopt);
        EXPECT_EQ(b.finished_at, std::nullopt);
        EXPECT_EQ(b.runs_count, 0);
        EXPECT_EQ(b.data_kind, "segment");
    }
}

// releases/{uuid}: the typings' nodes (childrenUuids with nulls, a fallback child) and the
// docs' (no childrenUuids at all) are both read.
TEST(DecodeCatalogue, ReleaseNodesWithAndWithoutTheirChildren) {
    auto typed = s(R"({"release": {"uuid": "r1", "workflowUuid": "wf", "version": "3", "status": "archived",
        "nodes": [{"uuid": "n1", "slug": "start", "kind": "native", "childrenUuids": ["n2", null],
                   "fallbackOnFailure": true, "fallbackChildUuid": "n3"},
                  {"uuid": "n2", "slug": "enrich", "childrenUuids": []}]}})");
    const Release r = release(typed);
    EXPECT_EQ(r.uuid, "r1");
    EXPECT_EQ(r.workflow_uuid, "wf");
    EXPECT_EQ(r.version, "3");
    EXPECT_EQ(r.status, "archived");
    ASSERT_EQ(r.nodes.size(), 2u);
    EXPECT_EQ(r.nodes[0].children_uuids, (std::vector<std::string>{"n2", "n3"}));
    EXPECT_EQ(r.nodes[1].children_uuids, std::vector<std::string>{});
    auto docs = s(R"({"release": {"uuid": "r2", "nodes": [{"uuid": "n", "slug": "output", "name": "Output"}]}})");
    const Release d = release(docs);
    ASSERT_EQ(d.nodes.size(), 1u);
    EXPECT_EQ(d.nodes[0].children_uuids, std::nullopt);
    EXPECT_EQ(d.version, std::nullopt);
    auto bad = s(R"({"release": {"uuid": "r", "nodes": [{"uuid": "n", "childrenUuids": [1]}]}})");
    EXPECT_THROW(release(bad), DecodeError);
    auto missing = s(R"({"releases": []})");
    EXPECT_THROW(release(missing), DecodeError);
}

TEST(DecodeCatalogue, DeployedReleaseNodesAndPlayModel) {
    auto wf = s(R"({"workflows": [{"uuid": "wf", "playUuid": "p", "toolUuid": null, "nodes": [],
        "deployedRelease": {"uuid": "rel", "nodes": [{"uuid": "n1", "slug": "start", "kind": "native"},
                                                      {"uuid": "n2", "slug": "enrich", "kind": "connector"}]}},
        {"uuid": "wf2", "deployedRelease": null}]})");
    auto list = workflows(wf);
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].deployed_release_uuid, "rel");
    ASSERT_EQ(list[0].deployed_release_nodes.size(), 2u);
    EXPECT_EQ(list[0].deployed_release_nodes[1].slug, "enrich");
    EXPECT_EQ(list[0].deployed_release_nodes[1].kind, "connector");
    EXPECT_EQ(list[1].deployed_release_uuid, std::nullopt);
    EXPECT_TRUE(list[1].deployed_release_nodes.empty());
    auto p = s(R"({"plays": [{"uuid": "p", "workflowUuid": "wf", "modelUuid": "m"}, {"uuid": "q", "workflowUuid": "wf2", "modelUuid": null}]})");
    auto ps = plays(p);
    EXPECT_EQ(ps[0].model_uuid, "m");
    EXPECT_EQ(ps[1].model_uuid, std::nullopt);
    auto u = s(R"({"url": "https://x.test/f?sig=1"})");
    EXPECT_EQ(url(u), "https://x.test/f?sig=1");
    auto no_url = s(R"({"url": null})");
    EXPECT_THROW(url(no_url), DecodeError);
}

TEST(DecodeUsage, ItemsWithAndWithoutGrouping) {
    auto body = s(R"({"metrics": [
        {"date": "2026-11-01T00:00:00.000Z", "items": [{"slug": "wf1", "count": "12.5", "groupBy": "wf1"},
                                                        {"slug": "total", "count": 3, "groupBy": null}]},
        {"date": "2026-11-02", "items": []}]})");
    auto m = usage_metrics(body);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].date, parse_iso8601("2026-11-01"));
    ASSERT_EQ(m[0].items.size(), 2u);
    EXPECT_EQ(m[0].items[0].count, 12.5);
    EXPECT_EQ(m[0].items[0].group_by, "wf1");
    EXPECT_EQ(m[0].items[1].group_by, std::nullopt);
    EXPECT_TRUE(m[1].items.empty());
}

// A subscription as the typings' EnrichedSubscription, with one field replaced.
std::string subscription_body(const std::string& field = "", const std::string& value = "") {
    std::map<std::string, std::string> fields{
        {"uuid", R"("sub-1")"},
        {"workspaceUuid", R"("ws-1")"},
        {"subscriptionAvailableCreditsCount", "1200.5"},
        {"subscriptionCreditsUsedCount", R"("8799.5")"},
        {"additionalAvailableCreditsCount", "300"},
        {"creditsOverageBehaviors", R"([{"unit": "billing.credits", "action": "deny"}, {"unit": "storage.records", "action": "allow"}])"},
        {"creditsConsumptionBehaviors", "[]"},
        {"plan", R"("enterprise")"},
        {"cadence", R"("monthly")"},
        {"startAt", R"("2026-12-01T00:00:00.000Z")"},
        {"resetAt", R"("2027-01-01T00:00:00.000Z")"},
        {"endAt", "null"},
        {"hasCredits", "true"},
        {"topup", "null"},
        {"futureChange", "null"}};
    if (!field.empty()) {
        if (value.empty()) fields.erase(field);
        else fields[field] = value;
    }
    std::string body = R"({"subscription": {)";
    for (const auto& [k, v] : fields) body += "\"" + k + "\": " + v + ",";
    body.back() = '}';
    return body + "}";
}

TEST(DecodeSubscription, ReadsTheCreditsThePeriodAndTheOverageBehaviours) {
    auto body = subscription_body();
    const Subscription sub = subscription(body);
    EXPECT_EQ(sub.available_credits, 1200.5);
    EXPECT_EQ(sub.used_credits, 8799.5);  // a number sent as a string
    EXPECT_EQ(sub.additional_credits, 300);
    EXPECT_EQ(sub.reset_at, *parse_iso8601("2027-01-01T00:00:00Z"));
    EXPECT_EQ(sub.start_at, parse_iso8601("2026-12-01T00:00:00Z"));
    EXPECT_EQ(sub.end_at, std::nullopt);
    EXPECT_TRUE(sub.has_credits);
    ASSERT_EQ(sub.overage.size(), 2u);
    EXPECT_EQ(sub.overage[0].unit, "billing.credits");
    EXPECT_TRUE(sub.overage[0].denied);
    EXPECT_EQ(sub.overage[1].unit, "storage.records");
    EXPECT_FALSE(sub.overage[1].denied);
}

TEST(DecodeSubscription, RefusesWhatWouldMakeTheBalanceOrItsLabelsWrong) {
    std::string many = "[";
    for (int i = 0; i < 17; ++i) many += R"({"unit": "u)" + std::to_string(i) + R"(", "action": "deny"},)";
    many.back() = ']';
    const std::pair<std::pair<std::string, std::string>, std::string> cases[] = {
        {{"subscriptionAvailableCreditsCount", ""}, "subscription.subscriptionAvailableCreditsCount: missing"},
        {{"subscriptionAvailableCreditsCount", "null"}, "subscription.subscriptionAvailableCreditsCount: missing"},
        {{"additionalAvailableCreditsCount", R"("lots")"}, "subscription.additionalAvailableCreditsCount: a string that is not a number"},
        {{"subscriptionCreditsUsedCount", R"("inf")"}, "subscription.subscriptionCreditsUsedCount: not a finite number"},
        {{"resetAt", ""}, "subscription.resetAt: missing"},
        {{"resetAt", R"("next month")"}, "subscription.resetAt: a string that is not an ISO-8601 timestamp"},
        {{"creditsOverageBehaviors", R"([{"unit": "billing.credits", "action": "block"}])"},
         "subscription.creditsOverageBehaviors[0].action: expected \"deny\" or \"allow\""},
        {{"creditsOverageBehaviors", R"([{"unit": "billing credits\n", "action": "deny"}])"},
         "subscription.creditsOverageBehaviors[0].unit: expected 1 to 64 letters, digits, '.', '_' or '-'"},
        {{"creditsOverageBehaviors", R"([{"unit": "a", "action": "deny"}, {"unit": "a", "action": "allow"}])"},
         "subscription.creditsOverageBehaviors[1].unit: given twice"},
        {{"creditsOverageBehaviors", many}, "subscription.creditsOverageBehaviors: more than 16 behaviours"},
        {{"creditsOverageBehaviors", R"({"unit": "a"})"}, "subscription.creditsOverageBehaviors: expected an array, got an object"},
    };
    for (const auto& [change, message] : cases) {
        auto body = subscription_body(change.first, change.second);
        try {
            subscription(body);
            ADD_FAILURE() << change.first << "=" << change.second << " was accepted";
        } catch (const DecodeError& e) {
            EXPECT_EQ(std::string(e.what()), message) << change.first << "=" << change.second;
        }
    }
    auto empty = s(R"({"subscriptions": []})");
    EXPECT_THROW(subscription(empty), DecodeError);
}

TEST(DecodeErrorBody, ReadsWhatIsThereAndNeverThrows) {
    auto e = error_body(R"({"errorMessage": "Batch not finished", "reason": "batchNotFinished", "x": 1})");
    EXPECT_EQ(e.error_message, "Batch not finished");
    EXPECT_EQ(e.reason, "batchNotFinished");
    for (const char* odd : {"", "not json", "[1]", R"({"errorMessage": 5})", "{\"errorMessage\": \"trunc"}) {
        auto none = error_body(odd);
        EXPECT_EQ(none.error_message, "") << odd;
        EXPECT_EQ(none.reason, "") << odd;
    }
}

}  // namespace
}  // namespace cargomon::cargo::decode
