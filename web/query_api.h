#pragma once
// Prometheus' query API (web/api/v1 of v2.42) over the daemon's sample history, so that
// promtool, Grafana's Prometheus data source and scripts written for Prometheus read
// cargomon as they read Prometheus: /api/v1/query, /api/v1/query_range, /api/v1/series,
// /api/v1/labels, /api/v1/label/<name>/values, /api/v1/metadata, /api/v1/status/buildinfo.
// Only this file knows their parameters and JSON; docs/api.md lists both.
//  - Parameters come from the query string and, for a POST, from its form-encoded body
//    (body first, as Go's Request.FormValue reads them).
//  - Times are RFC 3339 or Unix seconds (a float); durations (step, timeout) Prometheus'
//    notation ("15s") or seconds (a float).
//  - Answers: {"status":"success","data":...}; refusals Prometheus' error shape with its
//    status codes: bad_data 400, execution 422, timeout 503.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "web/api.h"
#include "web/http.h"

namespace cargomon::web {

class QuerySource;  // web/sources.h

// One metric family as /api/v1/metadata lists it.
struct MetricMetadata {
    std::string name;
    std::string type;  // counter, gauge, histogram, summary, unknown
    std::string help;
    std::string unit;
};

// What /api/v1/status/buildinfo shows (Prometheus' fields; those cargomon has no value
// for are "").
struct BuildInfo {
    std::string version;
    std::string revision;
    std::string branch;
    std::string build_user;
    std::string build_date;
    std::string compiler;  // in Prometheus' goVersion field
};

// match[] selectors one request may give: each selects over the whole history.
inline constexpr std::size_t kMaxMatchSelectors = 100;

// A request's parameters: a POST's form-encoded body's, then the query string's.
class QueryParams {
public:
    QueryParams() = default;
    explicit QueryParams(std::vector<std::pair<std::string, std::string>> values) : values_(std::move(values)) {}
    // The first value, "" when absent.
    std::string_view get(std::string_view name) const;
    bool has(std::string_view name) const;
    std::vector<std::string> all(std::string_view name) const;

private:
    std::vector<std::pair<std::string, std::string>> values_;
};

// The parameters of `req`; a POST body must be application/x-www-form-urlencoded (or
// absent), else a 400 bad_data answer is set in `refusal` and nullopt returned.
std::optional<QueryParams> read_query_params(const Request& req, Answer& refusal);

// A time parameter as Prometheus' parseTime reads it, in ms since the epoch; nullopt when
// it is neither RFC 3339 nor a Unix time in seconds.
std::optional<std::int64_t> parse_query_time(std::string_view text);
// A duration parameter as Prometheus' parseDuration reads it, in ms; nullopt when it is
// neither a duration nor a number of seconds (negative included: callers check the sign).
std::optional<std::int64_t> parse_query_duration(std::string_view text);

// Each endpoint: `now_ms` is the default evaluation time, and the end of the default
// window of series and labels queries is unbounded as in Prometheus.
Answer query_answer(const QuerySource& source, const QueryParams& params, std::int64_t now_ms);
Answer query_range_answer(const QuerySource& source, const QueryParams& params);
Answer series_answer(const QuerySource& source, const QueryParams& params);
Answer labels_answer(const QuerySource& source, const QueryParams& params);
Answer label_values_answer(const QuerySource& source, const QueryParams& params, const std::string& name);
Answer metadata_answer(const QuerySource& source, const QueryParams& params);
std::string buildinfo_answer(const BuildInfo& info);

}  // namespace cargomon::web
