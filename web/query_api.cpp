#include "web/query_api.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <variant>

#include "alerts/promql/ast.h"
#include "common/duration.h"
#include "common/text.h"
#include "common/timefmt.h"
#include "web/request_parser.h"
#include "web/sources.h"

namespace cargomon::web {
namespace {

namespace promql = alerts::promql;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::int64_t kMinTimeMs = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxTimeMs = std::numeric_limits<std::int64_t>::max();
// What Go's time.Time formats Prometheus' minTime and maxTime as: clients (Grafana, the
// Prometheus UI) send them back for "no bound".
constexpr std::string_view kMinTimeFormatted = "-292273086-05-16T16:47:06Z";
constexpr std::string_view kMaxTimeFormatted = "292277025-08-18T07:12:54.999999999Z";

// An error in Prometheus' shape with the status code its errorType has.
Answer refusal(std::string_view type, std::string_view message) {
    const int status = type == "bad_data" ? 400 : type == "execution" ? 422 : type == "timeout" ? 503 : 500;
    return {status, error_answer(type, message)};
}

Answer invalid_param(std::string_view name, std::string_view why) {
    return refusal("bad_data", "invalid parameter " + quoted(name) + ": " + std::string(why));
}

// {"status":"success","data":<written by write_data>}.
template <typename WriteData>
Answer success(WriteData write_data) {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("status");
    w.String("success");
    w.Key("data");
    write_data(w);
    w.EndObject();
    return {200, buffer.GetString()};
}

void string(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

// A timestamp as Prometheus writes it: seconds, with the milliseconds when not whole
// ("1700000000", "1700000000.250").
void timestamp(Writer& w, std::int64_t t_ms) {
    std::string text;
    std::uint64_t magnitude = t_ms < 0 ? 0 - static_cast<std::uint64_t>(t_ms) : static_cast<std::uint64_t>(t_ms);
    if (t_ms < 0) text += '-';
    text += std::to_string(magnitude / 1000);
    if (const auto fraction = magnitude % 1000; fraction != 0) {
        const std::string digits = std::to_string(fraction);
        text += '.' + std::string(3 - digits.size(), '0') + digits;
    }
    w.RawValue(text.data(), text.size(), rapidjson::kNumberType);
}

// A sample value as Go's strconv.FormatFloat(v, 'f', -1, 64) writes it, which Prometheus
// sends as a string: the shortest digits that read back to `v`, never an exponent.
std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buffer[400];  // the longest fixed-notation double is about 330 characters
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::fixed);
    return std::string(buffer, result.ptr);
}

void point(Writer& w, std::int64_t t_ms, std::string_view value) {
    w.StartArray();
    timestamp(w, t_ms);
    string(w, value);
    w.EndArray();
}

void write_labels(Writer& w, const metrics::Labels& labels) {
    w.StartObject();
    for (const auto& [name, value] : labels) {
        if (value.empty()) continue;  // an empty value is no label
        string(w, name);
        string(w, value);
    }
    w.EndObject();
}

// data of a query answer: {"resultType": ..., "result": ...}; an instant vector's
// samples at the evaluation time `t_ms`, as Prometheus 2.x reports them.
void write_result(Writer& w, const promql::Value& value, std::int64_t t_ms) {
    w.StartObject();
    w.Key("resultType");
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, double>) {
                w.String("scalar");
                w.Key("result");
                point(w, t_ms, format_value(v));
            } else if constexpr (std::is_same_v<T, promql::String>) {
                w.String("string");
                w.Key("result");
                point(w, t_ms, v.value);
            } else if constexpr (std::is_same_v<T, promql::Vector>) {
                w.String("vector");
                w.Key("result");
                w.StartArray();
                for (const auto& sample : v) {
                    w.StartObject();
                    w.Key("metric");
                    write_labels(w, sample.labels);
                    w.Key("value");
                    point(w, t_ms, format_value(sample.value));
                    w.EndObject();
                }
                w.EndArray();
            } else {
                w.String("matrix");
                w.Key("result");
                w.StartArray();
                for (const auto& series : v) {
                    w.StartObject();
                    w.Key("metric");
                    write_labels(w, series.labels);
                    w.Key("values");
                    w.StartArray();
                    for (const auto& s : series.samples) point(w, s.t, format_value(s.v));
                    w.EndArray();
                    w.EndObject();
                }
                w.EndArray();
            }
        },
        value);
    w.EndObject();
}

void write_strings(Writer& w, const std::vector<std::string>& items) {
    w.StartArray();
    for (const auto& item : items) string(w, item);
    w.EndArray();
}

// Prometheus' parseTimeParam: the default when absent.
std::variant<std::int64_t, Answer> time_param(const QueryParams& params, std::string_view name, std::int64_t fallback) {
    const std::string_view text = params.get(name);
    if (text.empty()) return fallback;
    if (auto t = parse_query_time(text)) return *t;
    return invalid_param(name, "Invalid time value for '" + std::string(name) + "': cannot parse " +
                                   quoted(printable(text, 100)) + " to a valid timestamp");
}

// The request's timeout, if any, lowers the engine's.
std::variant<promql::Limits, Answer> limits_for(const QuerySource& source, const QueryParams& params) {
    promql::Limits limits = source.query_limits();
    const std::string_view text = params.get("timeout");
    if (text.empty()) return limits;
    auto timeout = parse_query_duration(text);
    if (!timeout) return invalid_param("timeout", "cannot parse " + quoted(printable(text, 100)) + " to a valid duration");
    limits.timeout = std::min(limits.timeout, std::chrono::milliseconds(std::max<std::int64_t>(*timeout, 0)));
    return limits;
}

// The expression of `query`, or the parse error as Prometheus reports it.
std::variant<std::shared_ptr<const promql::Expr>, Answer> parse_query(const QueryParams& params) {
    try {
        return promql::parse_expr(params.get("query"));
    } catch (const promql::ExprError& e) {
        return invalid_param("query", e.what());
    }
}

// What a failed evaluation answers: a timeout is 503, the rest (too many samples,
// many-to-many matching, ...) 422, as Prometheus' returnAPIError sorts them.
Answer evaluation_error(const std::string& error) {
    if (error.rfind("query timed out", 0) == 0) return refusal("timeout", error);
    return refusal("execution", error);
}

// match[]: each a series selector (Prometheus' parser.ParseMetricSelector).
std::variant<std::vector<std::vector<metrics::Matcher>>, Answer> matcher_sets(const QueryParams& params) {
    const auto texts = params.all("match[]");
    if (texts.size() > kMaxMatchSelectors)
        return invalid_param("match[]", "at most " + std::to_string(kMaxMatchSelectors) + " selectors per request");
    std::vector<std::vector<metrics::Matcher>> sets;
    for (const auto& text : texts) {
        std::shared_ptr<const promql::Expr> expr;
        try {
            expr = promql::parse_expr(text);
        } catch (const promql::ExprError& e) {
            return invalid_param("match[]", e.what());
        }
        const auto* selector = std::get_if<promql::SelectorNode>(&expr->node);
        if (selector == nullptr || selector->range_ms != 0 || selector->time.offset_ms != 0 ||
            selector->time.at != promql::TimeModifier::At::none)
            return invalid_param("match[]", quoted(printable(text, 100)) + " is not a series selector");
        sets.push_back(selector->matchers);
    }
    return sets;
}

struct Window {
    std::int64_t start = kMinTimeMs;
    std::int64_t end = kMaxTimeMs;
};

std::variant<Window, Answer> window(const QueryParams& params) {
    Window w;
    auto start = time_param(params, "start", kMinTimeMs);
    if (auto* a = std::get_if<Answer>(&start)) return std::move(*a);
    auto end = time_param(params, "end", kMaxTimeMs);
    if (auto* a = std::get_if<Answer>(&end)) return std::move(*a);
    w.start = std::get<std::int64_t>(start);
    w.end = std::get<std::int64_t>(end);
    return w;
}

// The union over the match[] sets of what `each` gives for one set (all series when none).
template <typename Each>
std::vector<std::string> union_over(const std::vector<std::vector<metrics::Matcher>>& sets, Each each) {
    if (sets.empty()) return each(std::vector<metrics::Matcher>{});
    std::set<std::string> all;
    for (const auto& set : sets)
        for (auto& item : each(set)) all.insert(std::move(item));
    return {all.begin(), all.end()};
}

}  // namespace

std::string_view QueryParams::get(std::string_view name) const {
    for (const auto& [k, v] : values_)
        if (k == name) return v;
    return {};
}

bool QueryParams::has(std::string_view name) const {
    return std::any_of(values_.begin(), values_.end(), [&](const auto& kv) { return kv.first == name; });
}

std::vector<std::string> QueryParams::all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : values_)
        if (k == name) out.push_back(v);
    return out;
}

std::optional<QueryParams> read_query_params(const Request& req, Answer& refusal_out) {
    std::vector<std::pair<std::string, std::string>> values;
    if (req.method == "POST" && !req.body.empty()) {
        const std::string_view type = req.header("Content-Type");
        if (!iequals(trim(type.substr(0, type.find(';'))), "application/x-www-form-urlencoded")) {
            refusal_out = refusal("bad_data", "a POST body must be application/x-www-form-urlencoded, not " +
                                                  quoted(printable(type, 100)));
            return std::nullopt;
        }
        parse_query_string(req.body, values);
    }
    values.insert(values.end(), req.query.begin(), req.query.end());
    return QueryParams(std::move(values));
}

std::optional<std::int64_t> parse_query_time(std::string_view text) {
    double seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc{} && end == text.data() + text.size()) {
        // Beyond about ±292 million years the milliseconds overflow 64 bits.
        if (!std::isfinite(seconds) || std::fabs(seconds) > 9.2e15) return std::nullopt;
        const double whole = std::trunc(seconds);
        return static_cast<std::int64_t>(whole) * 1000 + static_cast<std::int64_t>(std::round((seconds - whole) * 1000));
    }
    if (text == kMinTimeFormatted) return kMinTimeMs;
    if (text == kMaxTimeFormatted) return kMaxTimeMs;
    // RFC 3339 wants a time and a zone: parse_iso8601 alone also takes a bare date.
    if (text.find('T') == std::string_view::npos && text.find('t') == std::string_view::npos) return std::nullopt;
    auto t = parse_iso8601(text);
    if (!t) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

std::optional<std::int64_t> parse_query_duration(std::string_view text) {
    double seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc{} && end == text.data() + text.size()) {
        if (!std::isfinite(seconds) || std::fabs(seconds) > 9.2e15) return std::nullopt;
        return static_cast<std::int64_t>(seconds * 1000);
    }
    if (auto d = parse_duration(text)) return d->count();
    return std::nullopt;
}

Answer query_answer(const QuerySource& source, const QueryParams& params, std::int64_t now_ms) {
    auto t = time_param(params, "time", now_ms);
    if (auto* a = std::get_if<Answer>(&t)) return std::move(*a);
    auto limits = limits_for(source, params);
    if (auto* a = std::get_if<Answer>(&limits)) return std::move(*a);
    auto expr = parse_query(params);
    if (auto* a = std::get_if<Answer>(&expr)) return std::move(*a);
    const std::int64_t at = std::get<std::int64_t>(t);
    auto evaluation = promql::evaluate_checked(*std::get<0>(expr), source.history(), at, std::get<promql::Limits>(limits));
    if (!evaluation.error.empty()) return evaluation_error(evaluation.error);
    return success([&](Writer& w) { write_result(w, evaluation.value, at); });
}

Answer query_range_answer(const QuerySource& source, const QueryParams& params) {
    std::int64_t bounds[2];
    for (int i = 0; i < 2; ++i) {
        const char* name = i == 0 ? "start" : "end";
        const std::string_view text = params.get(name);
        auto t = parse_query_time(text);
        if (!t) return invalid_param(name, "cannot parse " + quoted(printable(text, 100)) + " to a valid timestamp");
        bounds[i] = *t;
    }
    const auto [start, end] = bounds;
    if (end < start) return refusal("bad_data", "end timestamp must not be before start time");
    const std::string_view step_text = params.get("step");
    auto step = parse_query_duration(step_text);
    if (!step) return invalid_param("step", "cannot parse " + quoted(printable(step_text, 100)) + " to a valid duration");
    if (*step <= 0)
        return refusal("bad_data", "zero or negative query resolution step widths are not accepted. Try a positive integer");
    // In long double: end - start may not fit 64 bits (minTime to maxTime).
    if ((static_cast<long double>(end) - static_cast<long double>(start)) / static_cast<long double>(*step) >
        static_cast<long double>(promql::kMaxRangeSteps))
        return refusal("bad_data",
                       "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
                       "resolution (?step=XX)");
    auto limits = limits_for(source, params);
    if (auto* a = std::get_if<Answer>(&limits)) return std::move(*a);
    auto expr = parse_query(params);
    if (auto* a = std::get_if<Answer>(&expr)) return std::move(*a);
    if (const auto type = promql::expr_type(*std::get<0>(expr));
        type != promql::ValueType::scalar && type != promql::ValueType::vector)
        return invalid_param("query", "invalid expression type " + quoted(promql::type_name(type)) +
                                          " for range query, must be Scalar or instant Vector");
    auto evaluation =
        promql::evaluate_range(*std::get<0>(expr), source.history(), start, end, *step, std::get<promql::Limits>(limits));
    if (!evaluation.error.empty()) return evaluation_error(evaluation.error);
    return success([&](Writer& w) { write_result(w, evaluation.value, start); });
}

Answer series_answer(const QuerySource& source, const QueryParams& params) {
    if (!params.has("match[]")) return refusal("bad_data", "no match[] parameter provided");
    auto range = window(params);
    if (auto* a = std::get_if<Answer>(&range)) return std::move(*a);
    auto sets = matcher_sets(params);
    if (auto* a = std::get_if<Answer>(&sets)) return std::move(*a);
    const Window w = std::get<Window>(range);
    std::set<metrics::Labels> series;
    for (const auto& set : std::get<0>(sets))
        for (auto& labels : source.series(set, w.start, w.end)) series.insert(std::move(labels));
    return success([&](Writer& writer) {
        writer.StartArray();
        for (const auto& labels : series) write_labels(writer, labels);
        writer.EndArray();
    });
}

Answer labels_answer(const QuerySource& source, const QueryParams& params) {
    auto range = window(params);
    if (auto* a = std::get_if<Answer>(&range)) return std::move(*a);
    auto sets = matcher_sets(params);
    if (auto* a = std::get_if<Answer>(&sets)) return std::move(*a);
    const Window w = std::get<Window>(range);
    const auto names = union_over(std::get<0>(sets), [&](const std::vector<metrics::Matcher>& set) {
        return source.label_names(set, w.start, w.end);
    });
    return success([&](Writer& writer) { write_strings(writer, names); });
}

Answer label_values_answer(const QuerySource& source, const QueryParams& params, const std::string& name) {
    if (!metrics::is_label_name(name)) return refusal("bad_data", "invalid label name: " + quoted(printable(name, 100)));
    auto range = window(params);
    if (auto* a = std::get_if<Answer>(&range)) return std::move(*a);
    auto sets = matcher_sets(params);
    if (auto* a = std::get_if<Answer>(&sets)) return std::move(*a);
    const Window w = std::get<Window>(range);
    const auto values = union_over(std::get<0>(sets), [&](const std::vector<metrics::Matcher>& set) {
        return source.label_values(name, set, w.start, w.end);
    });
    return success([&](Writer& writer) { write_strings(writer, values); });
}

Answer metadata_answer(const QuerySource& source, const QueryParams& params) {
    long long limit = -1;
    if (const std::string_view text = params.get("limit"); !text.empty()) {
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
        if (ec != std::errc{} || end != text.data() + text.size()) return refusal("bad_data", "limit must be a number");
    }
    const std::string_view metric = params.get("metric");
    const auto families = source.metadata();
    return success([&](Writer& w) {
        w.StartObject();
        long long listed = 0;
        for (const auto& family : families) {
            if (!metric.empty() && family.name != metric) continue;
            if (limit >= 0 && listed >= limit) break;
            ++listed;
            string(w, family.name);
            w.StartArray();
            w.StartObject();
            w.Key("type");
            string(w, family.type);
            w.Key("help");
            string(w, family.help);
            w.Key("unit");
            string(w, family.unit);
            w.EndObject();
            w.EndArray();
        }
        w.EndObject();
    });
}

std::string buildinfo_answer(const BuildInfo& info) {
    return success([&](Writer& w) {
               w.StartObject();
               for (auto [key, value] : {std::pair{"version", &info.version}, std::pair{"revision", &info.revision},
                                         std::pair{"branch", &info.branch}, std::pair{"buildUser", &info.build_user},
                                         std::pair{"buildDate", &info.build_date}, std::pair{"goVersion", &info.compiler}}) {
                   w.Key(key);
                   string(w, *value);
               }
               w.EndObject();
           })
        .json;
}

}  // namespace cargomon::web
