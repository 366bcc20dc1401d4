// Prometheus' own PromQL test files (v2.42.0, vendored in testdata/ as data) run through
// cargomon's engine by this runner: the files' load/clear/eval commands, their series
// notation and their tolerance, read as Prometheus' promql/test.go reads them. Every case
// is evaluated as an instant query and, as Prometheus' runner also does, as a range query
// around the same time. Every case not on the skip list below must give Prometheus' answer;
// every case on it must still be refused or differ, so the list stays honest.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "alerts/promql/memory_source.h"
#include "alerts/promql/promql.h"

#ifndef CARGOMON_PROMQL_TESTDATA
#error "CARGOMON_PROMQL_TESTDATA must name the vendored test files' folder"
#endif

namespace cargomon::alerts::promql {
namespace {

// Cases cargomon does not answer as Prometheus 2.42 does, each with the reason (file:line
// of the eval command). docs/promql.md lists the same.
const std::map<std::string, std::string> kSkipped = {
};

constexpr std::size_t kTotalCases = 566;   // eval, eval_fail and eval_ordered commands in the files
constexpr std::size_t kMinEvaluated = 510;  // 90%

std::string trim(std::string_view s) {
    std::size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return "";
    std::size_t e = s.find_last_not_of(" \t\r");
    return std::string(s.substr(b, e - b + 1));
}

// Go's strconv.ParseFloat, as the files' numbers are read: decimal, exponent, Inf, NaN.
std::optional<double> parse_number(const std::string& text) {
    if (text.empty()) return std::nullopt;
    std::string lower;
    for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view body = lower;
    bool negative = false;
    if (body[0] == '+' || body[0] == '-') {
        negative = body[0] == '-';
        body.remove_prefix(1);
    }
    if (body == "inf" || body == "infinity") return negative ? -INFINITY : INFINITY;
    if (body == "nan") return NAN;
    if (body.empty() || !(std::isdigit(static_cast<unsigned char>(body[0])) || body[0] == '.')) return std::nullopt;
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) return std::nullopt;
    return v;
}

// Prometheus' model.ParseDuration.
std::optional<std::int64_t> parse_duration(std::string_view text) {
    static constexpr std::pair<std::string_view, std::int64_t> units[] = {
        {"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    std::int64_t total = 0;
    if (text.empty()) return std::nullopt;
    while (!text.empty()) {
        std::size_t digits = 0;
        while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
        if (digits == 0) return std::nullopt;
        std::int64_t n = std::stoll(std::string(text.substr(0, digits)));
        text.remove_prefix(digits);
        std::size_t length = text.starts_with("ms") ? 2 : 1;
        auto unit = std::find_if(std::begin(units), std::end(units), [&](const auto& u) { return u.first == text.substr(0, length); });
        if (unit == std::end(units)) return std::nullopt;
        total += n * unit->second;
        text.remove_prefix(length);
    }
    return total;
}

// `name{a="b", ...}` or `{...}`: the labels, __name__ included.
std::optional<std::pair<metrics::Labels, std::string>> parse_series(const std::string& line) {
    metrics::Labels labels;
    std::size_t i = 0;
    while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' || line[i] == ':')) ++i;
    if (i > 0) labels.emplace_back("__name__", line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
        ++i;
        for (;;) {
            while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
            if (i >= line.size()) return std::nullopt;
            if (line[i] == '}') {
                ++i;
                break;
            }
            std::size_t start = i;
            while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')) ++i;
            std::string name = line.substr(start, i - start);
            while (i < line.size() && line[i] == ' ') ++i;
            if (i >= line.size() || line[i] != '=') return std::nullopt;
            ++i;
            while (i < line.size() && line[i] == ' ') ++i;
            if (i >= line.size() || line[i] != '"') return std::nullopt;
            ++i;
            std::string value;
            while (i < line.size() && line[i] != '"') {
                if (line[i] == '\\' && i + 1 < line.size()) {
                    ++i;
                    value += line[i] == 'n' ? '\n' : line[i];
                } else {
                    value += line[i];
                }
                ++i;
            }
            if (i >= line.size()) return std::nullopt;
            ++i;
            labels.emplace_back(std::move(name), std::move(value));
        }
    }
    if (labels.empty() && (i == 0)) return std::nullopt;
    std::sort(labels.begin(), labels.end());
    return std::make_pair(std::move(labels), trim(line.substr(i)));
}

// One item of the series notation: a, _, stale, a+bxN, a-bxN, axN, _xN. nullopt entries
// are omitted samples.
std::optional<std::vector<std::optional<double>>> parse_values(const std::string& text) {
    std::vector<std::optional<double>> out;
    std::istringstream in(text);
    std::string item;
    while (in >> item) {
        auto x = item.rfind('x');
        std::optional<std::size_t> times;
        std::string head = item;
        if (x != std::string::npos && x + 1 < item.size() &&
            std::all_of(item.begin() + static_cast<std::ptrdiff_t>(x) + 1, item.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
            times = std::stoul(item.substr(x + 1));
            head = item.substr(0, x);
        }
        if (head == "_") {
            for (std::size_t k = 0; k < (times ? *times : 1); ++k) out.push_back(std::nullopt);
            continue;
        }
        if (head == "stale") {
            out.push_back(metrics::stale_nan());
            continue;
        }
        // a, or a followed by a signed increment.
        std::size_t split = std::string::npos;
        for (std::size_t k = 1; k < head.size(); ++k)
            if ((head[k] == '+' || head[k] == '-') && head[k - 1] != 'e' && head[k - 1] != 'E') split = k;
        if (split == std::string::npos) {
            auto v = parse_number(head);
            if (!v) return std::nullopt;
            for (std::size_t k = 0; k < (times ? *times + 1 : 1); ++k) out.push_back(*v);
            continue;
        }
        auto start = parse_number(head.substr(0, split));
        auto step = parse_number(head.substr(split));
        if (!start || !step || !times) return std::nullopt;
        double v = *start;
        for (std::size_t k = 0; k <= *times; ++k) {
            out.push_back(v);
            v += *step;
        }
    }
    return out;
}

// Prometheus' almostEqual: relative error below 1e-6, NaN equals NaN.
bool almost_equal(double a, double b) {
    constexpr double epsilon = 0.000001;
    const double min_normal = std::numeric_limits<double>::min();
    if (std::isnan(a) && std::isnan(b)) return true;
    if (a == b) return true;
    double diff = std::fabs(a - b);
    if (a == 0 || b == 0 || diff < min_normal) return diff < epsilon * min_normal;
    return diff / (std::fabs(a) + std::fabs(b)) < epsilon;
}

struct Expected {
    metrics::Labels labels;
    double value = 0;
};

struct Case {
    std::string id;  // file:line
    std::string expr;
    std::int64_t t = 0;
    bool fail = false;
    bool ordered = false;
    std::optional<double> scalar;
    std::vector<Expected> series;
};

// "" when the result is Prometheus' answer, else what differs.
std::string compare(const Case& c, const Value& value, bool ordered) {
    if (const double* scalar = std::get_if<double>(&value)) {
        if (!c.scalar) return "got a scalar, expected a vector";
        if (!almost_equal(*c.scalar, *scalar)) return "expected " + std::to_string(*c.scalar) + ", got " + std::to_string(*scalar);
        return "";
    }
    const Vector* vector = std::get_if<Vector>(&value);
    if (!vector) return "got a range vector or string";
    if (c.scalar) return "got a vector, expected a scalar";
    std::set<std::string> seen;
    for (std::size_t pos = 0; pos < vector->size(); ++pos) {
        const auto& sample = (*vector)[pos];
        auto it = std::find_if(c.series.begin(), c.series.end(), [&](const Expected& e) { return e.labels == sample.labels; });
        if (it == c.series.end()) return "unexpected series " + metrics::labels_text(sample.labels);
        if (ordered && static_cast<std::size_t>(it - c.series.begin()) != pos)
            return "series " + metrics::labels_text(sample.labels) + " at position " + std::to_string(pos);
        if (!almost_equal(it->value, sample.value))
            return "expected " + std::to_string(it->value) + " for " + metrics::labels_text(sample.labels) + ", got " +
                   std::to_string(sample.value);
        seen.insert(metrics::series_key(sample.labels));
    }
    for (const auto& e : c.series)
        if (!seen.contains(metrics::series_key(e.labels))) return "missing series " + metrics::labels_text(e.labels);
    return "";
}

struct Outcome {
    enum Kind { identical, refused, different } kind = identical;
    std::string detail;
};

Outcome run_case(const Case& c, const MemorySource& source) {
    std::shared_ptr<const Expr> expr;
    try {
        expr = parse_expr(c.expr);
    } catch (const ExprError& e) {
        return {Outcome::refused, e.what()};
    }
    Evaluation result = evaluate_checked(*expr, source, c.t);
    if (c.fail) return result.error.empty() ? Outcome{Outcome::different, "no error"} : Outcome{};
    if (!result.error.empty()) return {Outcome::different, "error: " + result.error};
    if (std::string diff = compare(c, result.value, c.ordered); !diff.empty()) return {Outcome::different, diff};
    if (c.ordered) return {};  // ordering is not defined for range queries
    // As Prometheus' runner: the same answer at that time from a range query around it.
    Evaluation range = evaluate_range(*expr, source, c.t - 60'000, c.t + 60'000, 60'000);
    if (!range.error.empty()) return {Outcome::different, "range query error: " + range.error};
    Vector at_t;
    for (const auto& series : std::get<Matrix>(range.value))
        for (const auto& s : series.samples)
            if (s.t == c.t) at_t.push_back(VectorSample{series.labels, s.v, s.t});
    Value as_instant = at_t;
    if (std::holds_alternative<double>(result.value)) {
        if (at_t.empty()) return {Outcome::different, "range query: no scalar at the time"};
        as_instant = at_t[0].value;
    }
    if (std::string diff = compare(c, as_instant, false); !diff.empty()) return {Outcome::different, "range query: " + diff};
    return {};
}

struct Tally {
    std::size_t total = 0, identical = 0, refused = 0, different = 0;
    std::vector<std::string> unexpected;  // cases that broke the skip list's promise
};

void run_file(const std::filesystem::path& path, Tally& tally) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        line = trim(line);
        if (line.starts_with("#")) line.clear();
        lines.push_back(line);
    }
    MemorySource source;
    const std::string file = path.filename().string();
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        if (line.empty()) continue;
        if (line == "clear") {
            source.clear();
            continue;
        }
        if (line.starts_with("load ")) {
            auto gap = parse_duration(trim(line.substr(5)));
            ASSERT_TRUE(gap) << file << ":" << i + 1;
            // A series defined twice in one load command has its later definition, as in Prometheus.
            std::map<metrics::Labels, std::vector<std::optional<double>>> defs;
            for (; i + 1 < lines.size() && !lines[i + 1].empty(); ++i) {
                auto series = parse_series(lines[i + 1]);
                ASSERT_TRUE(series) << file << ":" << i + 2;
                auto values = parse_values(series->second);
                ASSERT_TRUE(values) << file << ":" << i + 2;
                defs[series->first] = std::move(*values);
            }
            for (const auto& [labels, values] : defs)
                for (std::size_t k = 0; k < values.size(); ++k)
                    if (values[k]) source.add(labels, static_cast<std::int64_t>(k) * *gap, *values[k]);
            continue;
        }
        ASSERT_TRUE(line.starts_with("eval")) << file << ":" << i + 1 << ": " << line;
        Case c;
        c.id = file + ":" + std::to_string(i + 1);
        std::istringstream words(line);
        std::string command, instant, at, time;
        words >> command >> instant >> at >> time;
        ASSERT_EQ(instant, "instant") << c.id;
        ASSERT_EQ(at, "at") << c.id;
        c.fail = command == "eval_fail";
        c.ordered = command == "eval_ordered";
        auto t = parse_duration(time);
        ASSERT_TRUE(t) << c.id;
        c.t = *t;
        std::string rest;
        std::getline(words, rest);
        c.expr = trim(rest);
        for (; i + 1 < lines.size() && !lines[i + 1].empty(); ++i) {
            if (auto number = parse_number(lines[i + 1])) {
                c.scalar = number;
                ++i;
                break;
            }
            auto series = parse_series(lines[i + 1]);
            ASSERT_TRUE(series) << file << ":" << i + 2;
            auto values = parse_values(series->second);
            ASSERT_TRUE(values && values->size() == 1 && (*values)[0]) << file << ":" << i + 2;
            c.series.push_back(Expected{series->first, *(*values)[0]});
        }
        Outcome outcome = run_case(c, source);
        ++tally.total;
        bool skipped = kSkipped.contains(c.id);
        switch (outcome.kind) {
            case Outcome::identical:
                ++tally.identical;
                if (skipped) tally.unexpected.push_back(c.id + " is on the skip list but gives Prometheus' answer: " + c.expr);
                break;
            case Outcome::refused:
                ++tally.refused;
                if (!skipped) tally.unexpected.push_back(c.id + " refused: " + c.expr + ": " + outcome.detail);
                break;
            case Outcome::different:
                ++tally.different;
                if (!skipped) tally.unexpected.push_back(c.id + " differs: " + c.expr + ": " + outcome.detail);
                break;
        }
    }
}

// The runner itself: a wrong value, a missing or extra series, a wrong order, a missing
// error and a refusal are each told apart from Prometheus' answer.
TEST(PrometheusConformance, TheRunnerTellsWrongAnswersApart) {
    MemorySource source;
    for (std::int64_t t = 0; t <= 600'000; t += 60'000) {
        source.add({{"__name__", "m"}, {"i", "a"}}, t, static_cast<double>(t) / 60'000);
        source.add({{"__name__", "m"}, {"i", "b"}}, t, 100);
    }
    Case c{.id = "self", .expr = "m", .t = 600'000};
    c.series = {{{{"__name__", "m"}, {"i", "a"}}, 10}, {{{"__name__", "m"}, {"i", "b"}}, 100}};
    EXPECT_EQ(run_case(c, source).kind, Outcome::identical);
    c.series[0].value = 10.0001;
    EXPECT_EQ(run_case(c, source).kind, Outcome::different);
    c.series[0].value = 10.000000001;  // within the files' tolerance
    EXPECT_EQ(run_case(c, source).kind, Outcome::identical);
    c.series.pop_back();
    EXPECT_EQ(run_case(c, source).kind, Outcome::different);
    c.expr = "sort_desc(m)";
    c.ordered = true;
    c.series = {{{{"__name__", "m"}, {"i", "a"}}, 10}, {{{"__name__", "m"}, {"i", "b"}}, 100}};
    EXPECT_EQ(run_case(c, source).kind, Outcome::different);
    std::swap(c.series[0], c.series[1]);
    EXPECT_EQ(run_case(c, source).kind, Outcome::identical);
    Case fail{.id = "self", .expr = "m + on() m", .t = 600'000, .fail = true};
    EXPECT_EQ(run_case(fail, source).kind, Outcome::identical);
    fail.expr = "m";
    EXPECT_EQ(run_case(fail, source).kind, Outcome::different);
    fail.expr = "m{";
    EXPECT_EQ(run_case(fail, source).kind, Outcome::refused);
    EXPECT_EQ(parse_values("1+2x2 _x2 stale 0x1 -1-1x1").value().size(), 3u + 2 + 1 + 2 + 2);
}

TEST(PrometheusConformance, EveryCaseOutsideTheSkipListGivesPrometheusAnswer) {
    Tally tally;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(CARGOMON_PROMQL_TESTDATA))
        if (entry.path().extension() == ".test") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    ASSERT_EQ(files.size(), 11u);
    for (const auto& file : files) run_file(file, tally);
    const std::size_t evaluated = tally.identical + tally.different;
    std::printf("Prometheus v2.42.0 PromQL test cases: %zu total, %zu evaluated, %zu identical, %zu refused, %zu differ "
                "(%zu on the skip list)\n",
                tally.total, evaluated, tally.identical, tally.refused, tally.different, kSkipped.size());
    for (const auto& [id, reason] : kSkipped) std::printf("  skipped %s: %s\n", id.c_str(), reason.c_str());
    for (const auto& problem : tally.unexpected) ADD_FAILURE() << problem;
    EXPECT_EQ(tally.total, kTotalCases);
    EXPECT_GE(tally.identical, kMinEvaluated);
}

}  // namespace
}  // namespace cargomon::alerts::promql
