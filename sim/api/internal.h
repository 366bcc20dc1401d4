#pragma once
// Pieces shared by the API's handlers (sim/api/*.cpp): errors, request fields, SQL
// building, ClickHouse rows, JSON writing, download files. Not part of the sim's interface.
#include <httplib.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/api/api.h"

namespace cargomon::sim {

// An answer other than 200, rendered as {"errorMessage": what(), "reason": reason}
// ({"errorMessage": what()} when `reason` is empty).
class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string reason, const std::string& message)
        : std::runtime_error(message), status(status), reason(std::move(reason)) {}
    int status;
    std::string reason;
};

ApiError invalid_payload(std::string_view field, std::string_view problem);

// The fields of a request: a JSON body's top-level object, or a GET query string
// (axios style: arrays as key[]=a&key[]=b, booleans and numbers as text). Each accessor
// checks the type and names the field in its 400.
class Payload {
public:
    static Payload from_body(const std::string& body);
    static Payload from_params(const httplib::Params& params);

    std::optional<std::string> string(const char* name) const;
    std::string required_string(const char* name) const;
    std::optional<bool> boolean(const char* name) const;
    std::optional<int64_t> integer(const char* name, int64_t min, int64_t max) const;
    std::optional<SystemTime> time(const char* name) const;
    SystemTime required_time(const char* name) const;
    std::vector<std::string> strings(const char* name) const;  // empty when absent
    std::optional<std::string> one_of(const char* name, std::initializer_list<std::string_view> allowed) const;
    std::vector<std::string> all_of(const char* name, std::initializer_list<std::string_view> allowed) const;
    const rapidjson::Value* value(const char* name) const;  // nullptr when absent or null
    const rapidjson::Value& object() const { return doc_; }  // every field, as a JSON object

private:
    rapidjson::Document doc_;
    bool text_values_ = false;  // from a query string: every scalar arrives as a string
};

// `object`'s member `name`; nullptr when absent or null (the contract's "absent or null").
const rapidjson::Value* optional_member(const rapidjson::Value& object, const char* name);

// Checks a string against an enumeration; the 400 names `field`.
void check_one_of(std::string_view field, std::string_view value, std::initializer_list<std::string_view> allowed);

// SQL text pieces; every caller-supplied value goes through these.
std::string sql_quote(std::string_view text);
std::string sql_list(const std::vector<std::string>& values);  // ('a','b')
std::string sql_time(SystemTime t);                             // toDateTime(<unix seconds>)

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// One handled request: the workspace it is scoped to and its fields.
struct Call {
    const ApiContext& ctx;
    const Workspace& workspace;
    FileStore& files;
    const httplib::Request& request;
    const Payload& payload;

    // Runs `sql` (unqualified table names) in the workspace's database; returns the
    // parsed JSONCompact answer, rows under ["data"] as arrays in SELECT order.
    rapidjson::Document select(const std::string& sql) const;
    uint64_t count(const std::string& sql) const;  // the single number `sql` selects
    SystemTime now() const { return ctx.clock->now(); }
};

// JSON writing of ClickHouse values.
void write_string_or_null(JsonWriter& w, const rapidjson::Value& v);
void write_time(JsonWriter& w, const rapidjson::Value& unix_seconds);  // null stays null
void write_time(JsonWriter& w, SystemTime t);
void write_number(JsonWriter& w, const rapidjson::Value& v);  // a NULL stays null

// Download file contents.
void csv_append(std::string& out, std::string_view field, bool last);  // quoted, with "," or a newline
std::string csv_text(const rapidjson::Value& v);                         // NULL is empty
std::string csv_time(const rapidjson::Value& unix_seconds);              // ISO-8601, NULL is empty
std::string gzip(std::string_view data);

// Download files handed out as signed, expiring URLs; kept in memory, bounded.
// Thread-safe: put() and serve() from the server's request threads; mu_ guards files_ and bytes_.
class FileStore {
public:
    FileStore(std::string public_base_url, const Clock& clock);
    // Keeps `content` and returns its URL.
    std::string put(std::string content, std::string content_type);
    // GET /_files/<id>?expires=..&signature=..
    void serve(const httplib::Request& req, httplib::Response& res);

private:
    struct File {
        std::string content;
        std::string content_type;
        std::string signature;
        int64_t expires;  // unix seconds
    };
    void evict_locked(int64_t now);

    std::string base_url_;
    const Clock& clock_;
    std::mutex mu_;
    std::map<std::string, File> files_;
    size_t bytes_ = 0;
};

// Handlers, one per route; each returns the 200 JSON body or throws ApiError.
std::string handle_query(const Call& call);
std::string handle_runs_count(const Call& call);
std::string handle_runs_metrics(const Call& call);
std::string handle_runs_list(const Call& call);
std::string handle_runs_download(const Call& call);
std::string handle_runs_download_outputs(const Call& call);
std::string handle_spans_count(const Call& call);
std::string handle_batches_list(const Call& call);
std::string handle_batch_get(const Call& call);
std::string handle_batch_download(const Call& call);
std::string handle_batch_create(const Call& call);
std::string handle_workflows_list(const Call& call);
std::string handle_release_get(const Call& call);
std::string handle_plays_list(const Call& call);
std::string handle_tools_list(const Call& call);
std::string handle_usage_metrics(const Call& call);
std::string handle_segments_download(const Call& call);
std::string handle_subscription(const Call& call);

// The subscription's monthly period (UTC calendar months) around `now`.
struct CreditPeriod {
    SystemTime start, reset;
};
CreditPeriod credit_period(SystemTime now);
// What the workspace's spans used in the period, and what is left of the plan's credits
// (spent first) and of the additional ones; 404 subscriptionNotFound without a subscription.
struct CreditBalance {
    CreditPeriod period;
    double used = 0, plan_left = 0, additional_left = 0;
};
CreditBalance credit_balance(const Call& call);
// 400 notEnoughCredits when the overage behaviour is deny and nothing is left.
void check_credits_left(const Call& call);

// What a node's execution output (sim/api/outputs.cpp), by the span's columns.
struct NodeOutputOf {
    std::string_view slug, kind, action_slug, integration_slug;
};
void write_node_output(JsonWriter& w, const NodeOutputOf& node, std::string_view record_id,
                       std::string_view record_title);
// A record as it entered its run (the start node's data).
void write_record_input(JsonWriter& w, std::string_view record_id, std::string_view record_title);

// Keeps a file of each matching run's output (its latest execution of `node_slug`, or of
// any node) and returns its URL; shared by runs/download-outputs and batch download.
std::string run_outputs_url(const Call& call, const std::string& workflow_uuid, const std::string& runs_where,
                            const std::optional<std::string>& node_slug, bool json, int64_t offset, int64_t limit);

// The statuses of the typings, shared by validation and SQL.
inline const std::initializer_list<std::string_view> kRunStatuses = {
    "idle", "pending", "running", "success", "error", "cancelling", "cancelled", "skipped"};
inline const std::initializer_list<std::string_view> kBatchStatuses = {
    "pending", "syncing", "skipped", "querying", "running", "success", "cancelling", "error", "cancelled"};

}  // namespace cargomon::sim
