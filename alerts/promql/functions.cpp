// PromQL's functions, each as Prometheus v2.42's engine computes it (promql/functions.go):
// extrapolation of rate/increase/delta, counter resets, the NaN and Inf rules of each.
#include "alerts/promql/functions.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <numbers>
#include <unordered_map>

#include "metrics/labels.h"
#include "metrics/names.h"
#include "metrics/relabel.h"

namespace cargomon::alerts::promql {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Vector& vector_arg(CallArgs& a, std::size_t i) { return std::get<Vector>(a.args[i]); }
double scalar_arg(CallArgs& a, std::size_t i) { return std::get<double>(a.args[i]); }
const std::string& string_arg(CallArgs& a, std::size_t i) { return std::get<String>(a.args[i]).value; }
Matrix& matrix_arg(CallArgs& a, std::size_t i) { return std::get<Matrix>(a.args[i]); }

// Applies `f` to every sample's value and drops the metric name (Prometheus' simpleFunc).
template <typename F>
Value map_values(CallArgs& a, F&& f) {
    Vector out = std::move(vector_arg(a, 0));
    for (auto& sample : out) {
        sample.labels = metrics::without_name(std::move(sample.labels));
        sample.value = f(sample.value);
        sample.t = a.t;
    }
    return out;
}

#define PROMQL_MATH(fname, expr) \
    Value fname(CallArgs& a) { return map_values(a, [](double v) { return expr; }); }
PROMQL_MATH(f_abs, std::fabs(v))
PROMQL_MATH(f_ceil, std::ceil(v))
PROMQL_MATH(f_floor, std::floor(v))
PROMQL_MATH(f_exp, std::exp(v))
PROMQL_MATH(f_sqrt, std::sqrt(v))
PROMQL_MATH(f_ln, std::log(v))
PROMQL_MATH(f_log2, std::log2(v))
PROMQL_MATH(f_log10, std::log10(v))
PROMQL_MATH(f_sgn, v < 0 ? -1.0 : v > 0 ? 1.0 : v)
PROMQL_MATH(f_deg, v * 180 / std::numbers::pi)
PROMQL_MATH(f_rad, v * std::numbers::pi / 180)
PROMQL_MATH(f_acos, std::acos(v))
PROMQL_MATH(f_acosh, std::acosh(v))
PROMQL_MATH(f_asin, std::asin(v))
PROMQL_MATH(f_asinh, std::asinh(v))
PROMQL_MATH(f_atan, std::atan(v))
PROMQL_MATH(f_atanh, std::atanh(v))
PROMQL_MATH(f_cos, std::cos(v))
PROMQL_MATH(f_cosh, std::cosh(v))
PROMQL_MATH(f_sin, std::sin(v))
PROMQL_MATH(f_sinh, std::sinh(v))
PROMQL_MATH(f_tan, std::tan(v))
PROMQL_MATH(f_tanh, std::tanh(v))
#undef PROMQL_MATH

// Go's math.Max/math.Min: an infinity wins over NaN, NaN over numbers, +0 over -0.
double go_max(double a, double b) {
    if (std::isinf(a) && a > 0) return a;
    if (std::isinf(b) && b > 0) return b;
    if (std::isnan(a) || std::isnan(b)) return kNaN;
    if (a == 0 && b == 0) return std::signbit(a) ? b : a;
    return a > b ? a : b;
}

double go_min(double a, double b) {
    if (std::isinf(a) && a < 0) return a;
    if (std::isinf(b) && b < 0) return b;
    if (std::isnan(a) || std::isnan(b)) return kNaN;
    if (a == 0 && b == 0) return std::signbit(a) ? a : b;
    return a < b ? a : b;
}

Value f_clamp(CallArgs& a) {
    double lo = scalar_arg(a, 1), hi = scalar_arg(a, 2);
    if (hi < lo) return Vector{};
    return map_values(a, [&](double v) { return go_max(lo, go_min(hi, v)); });
}
Value f_clamp_min(CallArgs& a) {
    double lo = scalar_arg(a, 1);
    return map_values(a, [&](double v) { return go_max(lo, v); });
}
Value f_clamp_max(CallArgs& a) {
    double hi = scalar_arg(a, 1);
    return map_values(a, [&](double v) { return go_min(hi, v); });
}
Value f_round(CallArgs& a) {
    // Prometheus rounds half up, to the nearest multiple of the optional second argument.
    double inverse = a.args.size() > 1 ? 1.0 / scalar_arg(a, 1) : 1.0;
    return map_values(a, [&](double v) { return std::floor(v * inverse + 0.5) / inverse; });
}

Value f_pi(CallArgs&) { return std::numbers::pi; }
Value f_time(CallArgs& a) { return static_cast<double>(a.t) / 1000; }
Value f_vector(CallArgs& a) { return Vector{VectorSample{{}, scalar_arg(a, 0), a.t}}; }
Value f_scalar(CallArgs& a) {
    const Vector& v = vector_arg(a, 0);
    return v.size() == 1 ? v[0].value : kNaN;
}

Value f_timestamp(CallArgs& a) {
    // Straight from a selector a sample carries its own time; otherwise the evaluation time.
    bool from_selector = std::holds_alternative<SelectorNode>(a.call.args[0]->node);
    Vector out = std::move(vector_arg(a, 0));
    for (auto& sample : out) {
        sample.labels = metrics::without_name(std::move(sample.labels));
        sample.value = static_cast<double>(from_selector ? sample.t : a.t) / 1000;
        sample.t = a.t;
    }
    return out;
}

Value f_absent(CallArgs& a) {
    if (!vector_arg(a, 0).empty()) return Vector{};
    return Vector{VectorSample{a.call.absent_labels, 1, a.t}};
}

// Sorting keeps equal values in input order; NaN sorts last both ways, as Prometheus'
// reversed heap orders do.
template <bool descending>
Value sort_by_value(CallArgs& a) {
    Vector out = std::move(vector_arg(a, 0));
    std::stable_sort(out.begin(), out.end(), [](const VectorSample& x, const VectorSample& y) {
        if (std::isnan(x.value) || std::isnan(y.value)) return !std::isnan(x.value) && std::isnan(y.value);
        return descending ? x.value > y.value : x.value < y.value;
    });
    return out;
}

// Date functions: the argument's values (or the evaluation time) as Unix seconds, in UTC.
template <typename F>
Value date_function(CallArgs& a, F&& f) {
    if (a.args.empty()) {
        std::time_t secs = static_cast<std::time_t>(static_cast<double>(a.t) / 1000);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        return Vector{VectorSample{{}, static_cast<double>(f(tm)), a.t}};
    }
    return map_values(a, [&](double v) {
        // Beyond any calendar gmtime can represent (Go's answer there is meaningless too).
        if (!(std::fabs(v) < 1e15)) return kNaN;
        std::time_t secs = static_cast<std::time_t>(v);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        return static_cast<double>(f(tm));
    });
}

int days_in(int year, int month0) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month0 == 1 && leap ? 29 : days[month0];
}

Value f_day_of_month(CallArgs& a) { return date_function(a, [](const std::tm& t) { return t.tm_mday; }); }
Value f_day_of_week(CallArgs& a) { return date_function(a, [](const std::tm& t) { return t.tm_wday; }); }
Value f_day_of_year(CallArgs& a) { return date_function(a, [](const std::tm& t) { return t.tm_yday + 1; }); }
Value f_days_in_month(CallArgs& a) {
    return date_function(a, [](const std::tm& t) { return days_in(t.tm_year + 1900, t.tm_mon); });
}
Value f_hour(CallArgs& a) { return date_function(a, [](const std::tm& t) { return t.tm_hour; }); }
Value f_minute(CallArgs& a) { return date_function(a, [](const std::tm& t) { return t.tm_min; }); }
Value f_month(CallArgs& a) { return date_function(a, [](const std::tm& t) { return t.tm_mon + 1; }); }
Value f_year(CallArgs& a) { return date_function(a, [](const std::tm& t) { return t.tm_year + 1900; }); }

Value f_label_replace(CallArgs& a) {
    const std::string& dst = string_arg(a, 1);
    const std::string& replacement = string_arg(a, 2);
    const std::string& src = string_arg(a, 3);
    const std::string& pattern = string_arg(a, 4);
    RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);
    RE2 re("^(?:" + pattern + ")$", options);
    if (!re.ok()) throw EvalError{"invalid regular expression in label_replace(): " + pattern};
    if (!metrics::is_label_name(dst)) throw EvalError{"invalid destination label name in label_replace(): " + dst};
    Vector out = std::move(vector_arg(a, 0));
    std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re.NumberOfCapturingGroups()) + 1);
    for (auto& sample : out) {
        std::string_view value = metrics::label_value(sample.labels, src);
        if (re.Match(re2::StringPiece(value.data(), value.size()), 0, value.size(), RE2::UNANCHORED, groups.data(),
                     static_cast<int>(groups.size()))) {
            std::string result = metrics::expand_template(replacement, re, groups);
            std::erase_if(sample.labels, [&](const auto& l) { return l.first == dst; });
            if (!result.empty()) metrics::set_label(sample.labels, dst, std::move(result));
        }
        sample.t = a.t;
    }
    return out;
}

Value f_label_join(CallArgs& a) {
    const std::string& dst = string_arg(a, 1);
    const std::string& separator = string_arg(a, 2);
    std::vector<std::string> sources;
    for (std::size_t i = 3; i < a.args.size(); ++i) {
        const std::string& src = string_arg(a, i);
        if (!metrics::is_label_name(src)) throw EvalError{"invalid source label name in label_join(): " + src};
        sources.push_back(src);
    }
    if (!metrics::is_label_name(dst)) throw EvalError{"invalid destination label name in label_join(): " + dst};
    Vector out = std::move(vector_arg(a, 0));
    for (auto& sample : out) {
        std::string joined;
        for (std::size_t i = 0; i < sources.size(); ++i) {
            if (i > 0) joined += separator;
            joined += metrics::label_value(sample.labels, sources[i]);
        }
        std::erase_if(sample.labels, [&](const auto& l) { return l.first == dst; });
        if (!joined.empty()) metrics::set_label(sample.labels, dst, std::move(joined));
        sample.t = a.t;
    }
    return out;
}

// Go's strconv.ParseFloat for an `le` label: the whole text must be a number.
std::optional<double> parse_float(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::string s(text);
    std::string lower = s;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view body = lower;
    bool negative = false;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        negative = body[0] == '-';
        body.remove_prefix(1);
    }
    if (body == "inf" || body == "infinity") return negative ? -kInf : kInf;
    if (body == "nan") return kNaN;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return std::nullopt;
    return v;
}

double bucket_quantile(double q, std::vector<std::pair<double, double>>& buckets) {  // (upper bound, count)
    if (std::isnan(q)) return kNaN;
    if (q < 0) return -kInf;
    if (q > 1) return kInf;
    std::stable_sort(buckets.begin(), buckets.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    if (!(std::isinf(buckets.back().first) && buckets.back().first > 0)) return kNaN;
    std::vector<std::pair<double, double>> merged;
    for (const auto& b : buckets) {
        if (!merged.empty() && merged.back().first == b.first)
            merged.back().second += b.second;
        else
            merged.push_back(b);
    }
    for (std::size_t i = 1; i < merged.size(); ++i)
        if (merged[i].second < merged[i - 1].second) merged[i].second = merged[i - 1].second;
    if (merged.size() < 2) return kNaN;
    double observations = merged.back().second;
    if (observations == 0) return kNaN;
    double rank = q * observations;
    std::size_t b = 0;
    while (b < merged.size() - 1 && !(merged[b].second >= rank)) ++b;
    if (b == merged.size() - 1) return merged[merged.size() - 2].first;
    if (b == 0 && merged[0].first <= 0) return merged[0].first;
    double start = 0, end = merged[b].first, count = merged[b].second;
    if (b > 0) {
        start = merged[b - 1].first;
        count -= merged[b - 1].second;
        rank -= merged[b - 1].second;
    }
    return start + (end - start) * (rank / count);
}

Value f_histogram_quantile(CallArgs& a) {
    double q = scalar_arg(a, 0);
    struct Group {
        metrics::Labels labels;
        std::vector<std::pair<double, double>> buckets;
    };
    std::vector<Group> groups;
    std::unordered_map<std::string, std::size_t> index;
    for (auto& sample : vector_arg(a, 1)) {
        auto bound = parse_float(metrics::label_value(sample.labels, "le"));
        if (!bound) continue;  // not a bucket
        std::erase_if(sample.labels, [](const auto& l) { return l.first == "le"; });
        auto [it, inserted] = index.try_emplace(metrics::series_key(sample.labels), groups.size());
        if (inserted) {
            sample.labels = metrics::without_name(std::move(sample.labels));
            groups.push_back(Group{std::move(sample.labels), {}});
        }
        groups[it->second].buckets.emplace_back(*bound, sample.value);
    }
    Vector out;
    for (auto& g : groups) out.push_back(VectorSample{std::move(g.labels), bucket_quantile(q, g.buckets), a.t});
    return out;
}

// Range-vector functions: one output per series with samples in its window, without the
// metric name (last_over_time keeps it), as the engine's matrix-argument path does.
template <typename F>
Value over_time(CallArgs& a, std::size_t matrix_index, bool keep_name, F&& f) {
    Vector out;
    for (auto& series : matrix_arg(a, matrix_index)) {
        if (series.samples.empty()) continue;
        auto value = f(std::span<const Sample>(series.samples));
        if (!value) continue;
        if (!keep_name) series.labels = metrics::without_name(std::move(series.labels));
        out.push_back(VectorSample{std::move(series.labels), *value, a.t});
    }
    return out;
}

// rate, increase and delta: the change over the window, extrapolated towards its edges
// (not beyond 1.1 average sample intervals, nor below zero for counters).
Value extrapolated_rate(CallArgs& a, bool counter, bool rate) {
    double range_s = static_cast<double>(a.window_end - a.window_start) / 1000;
    return over_time(a, 0, false, [&](std::span<const Sample> s) -> std::optional<double> {
        if (s.size() < 2) return std::nullopt;
        double result = s.back().v - s.front().v;
        if (counter) {
            double last = 0;
            for (const auto& sample : s) {
                if (sample.v < last) result += last;
                last = sample.v;
            }
        }
        double to_start = static_cast<double>(s.front().t - a.window_start) / 1000;
        double to_end = static_cast<double>(a.window_end - s.back().t) / 1000;
        double sampled = static_cast<double>(s.back().t - s.front().t) / 1000;
        double average = sampled / static_cast<double>(s.size() - 1);
        if (counter && result > 0 && s.front().v >= 0) {
            double to_zero = sampled * (s.front().v / result);
            if (to_zero < to_start) to_start = to_zero;
        }
        double threshold = average * 1.1;
        double interval = sampled;
        interval += to_start < threshold ? to_start : average / 2;
        interval += to_end < threshold ? to_end : average / 2;
        result = result * (interval / sampled);
        if (rate) result /= range_s;
        return result;
    });
}
Value f_rate(CallArgs& a) { return extrapolated_rate(a, true, true); }
Value f_increase(CallArgs& a) { return extrapolated_rate(a, true, false); }
Value f_delta(CallArgs& a) { return extrapolated_rate(a, false, false); }

Value instant_value(CallArgs& a, bool rate) {
    return over_time(a, 0, false, [&](std::span<const Sample> s) -> std::optional<double> {
        if (s.size() < 2) return std::nullopt;
        const Sample& last = s[s.size() - 1];
        const Sample& previous = s[s.size() - 2];
        double result = rate && last.v < previous.v ? last.v : last.v - previous.v;
        std::int64_t interval = last.t - previous.t;
        if (interval == 0) return std::nullopt;
        if (rate) result /= static_cast<double>(interval) / 1000;
        return result;
    });
}
Value f_irate(CallArgs& a) { return instant_value(a, true); }
Value f_idelta(CallArgs& a) { return instant_value(a, false); }

void kahan_add(double v, double& sum, double& c) {
    double t = sum + v;
    if (std::fabs(sum) >= std::fabs(v))
        c += (sum - t) + v;
    else
        c += (v - t) + sum;
    sum = t;
}

// Least squares over (seconds since intercept_time, value): slope and intercept.
std::pair<double, double> linear_regression(std::span<const Sample> s, std::int64_t intercept_time) {
    double n = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0, c_x2 = 0;
    double init_y = s[0].v;
    bool const_y = true;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (const_y && i > 0 && s[i].v != init_y) const_y = false;
        n += 1;
        double x = static_cast<double>(s[i].t - intercept_time) / 1e3;
        kahan_add(x, sum_x, c_x);
        kahan_add(s[i].v, sum_y, c_y);
        kahan_add(x * s[i].v, sum_xy, c_xy);
        kahan_add(x * x, sum_x2, c_x2);
    }
    if (const_y) {
        if (std::isinf(init_y)) return {kNaN, kNaN};
        return {0, init_y};
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    double cov_xy = sum_xy - sum_x * sum_y / n;
    double var_x = sum_x2 - sum_x * sum_x / n;
    double slope = cov_xy / var_x;
    return {slope, sum_y / n - slope * sum_x / n};
}

Value f_deriv(CallArgs& a) {
    return over_time(a, 0, false, [&](std::span<const Sample> s) -> std::optional<double> {
        if (s.size() < 2) return std::nullopt;
        return linear_regression(s, s[0].t).first;
    });
}

Value f_predict_linear(CallArgs& a) {
    double duration = scalar_arg(a, 1);
    return over_time(a, 0, false, [&](std::span<const Sample> s) -> std::optional<double> {
        if (s.size() < 2) return std::nullopt;
        auto [slope, intercept] = linear_regression(s, a.t);
        return slope * duration + intercept;
    });
}

Value f_resets(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample> s) -> std::optional<double> {
        double resets = 0;
        for (std::size_t i = 1; i < s.size(); ++i)
            if (s[i].v < s[i - 1].v) ++resets;
        return resets;
    });
}

Value f_changes(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample> s) -> std::optional<double> {
        double changes = 0;
        for (std::size_t i = 1; i < s.size(); ++i)
            if (s[i].v != s[i - 1].v && !(std::isnan(s[i].v) && std::isnan(s[i - 1].v))) ++changes;
        return changes;
    });
}

Value f_holt_winters(CallArgs& a) {
    double sf = scalar_arg(a, 1), tf = scalar_arg(a, 2);
    auto go_float = [](double v) {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%f", v);
        return std::string(buffer);
    };
    if (sf <= 0 || sf >= 1) throw EvalError{"invalid smoothing factor. Expected: 0 < sf < 1, got: " + go_float(sf)};
    if (tf <= 0 || tf >= 1) throw EvalError{"invalid trend factor. Expected: 0 < tf < 1, got: " + go_float(tf)};
    return over_time(a, 0, false, [&](std::span<const Sample> s) -> std::optional<double> {
        if (s.size() < 2) return std::nullopt;
        double s0 = 0, s1 = s[0].v, b = s[1].v - s[0].v;
        for (std::size_t i = 1; i < s.size(); ++i) {
            double x = sf * s[i].v;
            if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
            double y = (1 - sf) * (s1 + b);
            s0 = s1;
            s1 = x + y;
        }
        return s1;
    });
}

Value f_avg_over_time(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample> s) -> std::optional<double> {
        double mean = 0, count = 0, c = 0;
        for (const auto& sample : s) {
            count += 1;
            if (std::isinf(mean)) {
                if (std::isinf(sample.v) && (mean > 0) == (sample.v > 0)) continue;
                if (!std::isinf(sample.v) && !std::isnan(sample.v)) continue;
            }
            kahan_add(sample.v / count - mean / count, mean, c);
        }
        // Compensated, as the Debian Prometheus 2.42 sums: a plain running mean can end one
        // ulp away (0.5100000000000001 against 0.51) and flip a comparison with it.
        return std::isinf(mean) ? mean : mean + c;
    });
}
Value f_count_over_time(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample> s) -> std::optional<double> { return static_cast<double>(s.size()); });
}
Value f_sum_over_time(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample> s) -> std::optional<double> {
        double sum = 0, c = 0;
        for (const auto& sample : s) kahan_add(sample.v, sum, c);
        return std::isinf(sum) ? sum : sum + c;
    });
}
Value f_min_over_time(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample> s) -> std::optional<double> {
        double min = s[0].v;
        for (const auto& sample : s)
            if (sample.v < min || std::isnan(min)) min = sample.v;
        return min;
    });
}
Value f_max_over_time(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample> s) -> std::optional<double> {
        double max = s[0].v;
        for (const auto& sample : s)
            if (sample.v > max || std::isnan(max)) max = sample.v;
        return max;
    });
}
Value f_last_over_time(CallArgs& a) {
    return over_time(a, 0, true, [](std::span<const Sample> s) -> std::optional<double> { return s.back().v; });
}
Value f_present_over_time(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample>) -> std::optional<double> { return 1.0; });
}
Value f_quantile_over_time(CallArgs& a) {
    double q = scalar_arg(a, 0);
    return over_time(a, 1, false, [&](std::span<const Sample> s) -> std::optional<double> {
        std::vector<double> values;
        values.reserve(s.size());
        for (const auto& sample : s) values.push_back(sample.v);
        return quantile(q, std::move(values));
    });
}
double variance(std::span<const Sample> s) {
    double count = 0, mean = 0, aux = 0;
    for (const auto& sample : s) {
        count += 1;
        double delta = sample.v - mean;
        mean += delta / count;
        aux += delta * (sample.v - mean);
    }
    return aux / count;
}
Value f_stddev_over_time(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample> s) -> std::optional<double> { return std::sqrt(variance(s)); });
}
Value f_stdvar_over_time(CallArgs& a) {
    return over_time(a, 0, false, [](std::span<const Sample> s) -> std::optional<double> { return variance(s); });
}
Value f_absent_over_time(CallArgs& a) {
    for (const auto& series : matrix_arg(a, 0))
        if (!series.samples.empty()) return Vector{};
    return Vector{VectorSample{a.call.absent_labels, 1, a.t}};
}

using VT = ValueType;
constexpr VT S = VT::scalar, V = VT::vector, M = VT::matrix, Str = VT::string;

// Sorted by name (for lookup), as Prometheus' parser.Functions of v2.42 lists them.
const std::vector<FunctionDef>& table() {
    static const std::vector<FunctionDef> functions = [] {
        std::vector<FunctionDef> f = {
            {"abs", {V}, 0, V, f_abs},
            {"absent", {V}, 0, V, f_absent},
            {"absent_over_time", {M}, 0, V, f_absent_over_time},
            {"acos", {V}, 0, V, f_acos},
            {"acosh", {V}, 0, V, f_acosh},
            {"asin", {V}, 0, V, f_asin},
            {"asinh", {V}, 0, V, f_asinh},
            {"atan", {V}, 0, V, f_atan},
            {"atanh", {V}, 0, V, f_atanh},
            {"avg_over_time", {M}, 0, V, f_avg_over_time},
            {"ceil", {V}, 0, V, f_ceil},
            {"changes", {M}, 0, V, f_changes},
            {"clamp", {V, S, S}, 0, V, f_clamp},
            {"clamp_max", {V, S}, 0, V, f_clamp_max},
            {"clamp_min", {V, S}, 0, V, f_clamp_min},
            {"cos", {V}, 0, V, f_cos},
            {"cosh", {V}, 0, V, f_cosh},
            {"count_over_time", {M}, 0, V, f_count_over_time},
            {"day_of_month", {V}, 1, V, f_day_of_month},
            {"day_of_week", {V}, 1, V, f_day_of_week},
            {"day_of_year", {V}, 1, V, f_day_of_year},
            {"days_in_month", {V}, 1, V, f_days_in_month},
            {"deg", {V}, 0, V, f_deg},
            {"delta", {M}, 0, V, f_delta},
            {"deriv", {M}, 0, V, f_deriv},
            {"exp", {V}, 0, V, f_exp},
            {"floor", {V}, 0, V, f_floor},
            {"histogram_count", {V}, 0, V, nullptr},
            {"histogram_fraction", {S, S, V}, 0, V, nullptr},
            {"histogram_quantile", {S, V}, 0, V, f_histogram_quantile},
            {"histogram_sum", {V}, 0, V, nullptr},
            {"holt_winters", {M, S, S}, 0, V, f_holt_winters},
            {"hour", {V}, 1, V, f_hour},
            {"idelta", {M}, 0, V, f_idelta},
            {"increase", {M}, 0, V, f_increase},
            {"irate", {M}, 0, V, f_irate},
            {"label_join", {V, Str, Str, Str}, -1, V, f_label_join, true},
            {"label_replace", {V, Str, Str, Str, Str}, 0, V, f_label_replace, true},
            {"last_over_time", {M}, 0, V, f_last_over_time},
            {"ln", {V}, 0, V, f_ln},
            {"log10", {V}, 0, V, f_log10},
            {"log2", {V}, 0, V, f_log2},
            {"max_over_time", {M}, 0, V, f_max_over_time},
            {"min_over_time", {M}, 0, V, f_min_over_time},
            {"minute", {V}, 1, V, f_minute},
            {"month", {V}, 1, V, f_month},
            {"pi", {}, 0, S, f_pi},
            {"predict_linear", {M, S}, 0, V, f_predict_linear},
            {"present_over_time", {M}, 0, V, f_present_over_time},
            {"quantile_over_time", {S, M}, 0, V, f_quantile_over_time},
            {"rad", {V}, 0, V, f_rad},
            {"rate", {M}, 0, V, f_rate},
            {"resets", {M}, 0, V, f_resets},
            {"round", {V, S}, 1, V, f_round},
            {"scalar", {V}, 0, S, f_scalar},
            {"sgn", {V}, 0, V, f_sgn},
            {"sin", {V}, 0, V, f_sin},
            {"sinh", {V}, 0, V, f_sinh},
            {"sort", {V}, 0, V, sort_by_value<false>},
            {"sort_desc", {V}, 0, V, sort_by_value<true>},
            {"sqrt", {V}, 0, V, f_sqrt},
            {"stddev_over_time", {M}, 0, V, f_stddev_over_time},
            {"stdvar_over_time", {M}, 0, V, f_stdvar_over_time},
            {"sum_over_time", {M}, 0, V, f_sum_over_time},
            {"tan", {V}, 0, V, f_tan},
            {"tanh", {V}, 0, V, f_tanh},
            {"time", {}, 0, S, f_time},
            {"timestamp", {V}, 0, V, f_timestamp},
            {"vector", {S}, 0, V, f_vector},
            {"year", {V}, 1, V, f_year},
        };
        std::sort(f.begin(), f.end(), [](const FunctionDef& x, const FunctionDef& y) { return x.name < y.name; });
        return f;
    }();
    return functions;
}

}  // namespace

// Prometheus' quantile over values (quantile_over_time and the quantile aggregation): NaN sorts first, linear interpolation between ranks.
double quantile(double q, std::vector<double> values) {
    if (values.empty() || std::isnan(q)) return kNaN;
    if (q < 0) return -kInf;
    if (q > 1) return kInf;
    std::sort(values.begin(), values.end(), [](double x, double y) { return x < y || (std::isnan(x) && !std::isnan(y)); });
    double n = static_cast<double>(values.size());
    double rank = q * (n - 1);
    double lower = std::max(0.0, std::floor(rank));
    double upper = std::min(n - 1, lower + 1);
    double weight = rank - std::floor(rank);
    return values[static_cast<std::size_t>(lower)] * (1 - weight) + values[static_cast<std::size_t>(upper)] * weight;
}

const FunctionDef* find_function(std::string_view name) {
    const auto& functions = table();
    auto it = std::lower_bound(functions.begin(), functions.end(), name,
                               [](const FunctionDef& f, std::string_view n) { return f.name < n; });
    return it != functions.end() && it->name == name ? &*it : nullptr;
}

std::vector<std::string_view> supported_functions() {
    std::vector<std::string_view> names;
    for (const auto& f : table())
        if (f.impl) names.push_back(f.name);
    return names;
}

}  // namespace cargomon::alerts::promql
