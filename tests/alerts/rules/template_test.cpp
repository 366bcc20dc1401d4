#include "alerts/rules/template.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cargomon::alerts::rules {
namespace {

const metrics::Labels kLabels{{"__name__", "cargo_workflow_error_ratio"}, {"workflow_name", "enrich leads"}, {"window", "1h"}};

std::string expand(std::string_view text, double value = 0.1234) { return Template::parse(text).expand(kLabels, value); }

std::size_t error_offset(std::string_view text) {
    try {
        Template::parse(text);
    } catch (const TemplateError& e) {
        return e.offset();
    }
    ADD_FAILURE() << "no error for " << text;
    return 0;
}

std::string error_message(std::string_view text) {
    try {
        Template::parse(text);
    } catch (const TemplateError& e) {
        return e.what();
    }
    return "no error";
}

TEST(Template, LabelsAndValueBothSpellings) {
    EXPECT_EQ(expand("{{ $labels.workflow_name }} at {{ $value }}"), "enrich leads at 0.1234");
    EXPECT_EQ(expand("{{ .Labels.workflow_name }} at {{.Value}}"), "enrich leads at 0.1234");
    EXPECT_EQ(expand("[{{ $labels.missing }}]"), "[]");  // missingkey=zero, as Prometheus runs templates
    EXPECT_EQ(expand("plain text"), "plain text");
    EXPECT_EQ(expand("{{ $labels.__name__ }}"), "cargo_workflow_error_ratio");
}

TEST(Template, ValuePrintsLikeGo) {
    EXPECT_EQ(expand("{{ $value }}", 20), "20");
    EXPECT_EQ(expand("{{ $value }}", 123456), "123456");
    EXPECT_EQ(expand("{{ $value }}", 1234567), "1.234567e+06");
    EXPECT_EQ(expand("{{ $value }}", 0.0001), "0.0001");
    EXPECT_EQ(expand("{{ $value }}", 0.00001), "1e-05");
    EXPECT_EQ(expand("{{ $value }}", 0.2), "0.2");
    EXPECT_EQ(expand("{{ $value }}", 1), "1");
    EXPECT_EQ(expand("{{ $value }}", 0.375), "0.375");
    EXPECT_EQ(expand("{{ $value }}", 999999), "999999");
    EXPECT_EQ(expand("{{ $value }}", 1e21), "1e+21");
    EXPECT_EQ(expand("{{ $value }}", std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(expand("{{ $value }}", std::nan("")), "NaN");
}

// Prometheus' /api/v1/alerts writes values with Go's 'e' format (checked against 2.42).
TEST(Template, ExponentFormatLikePrometheusApi) {
    EXPECT_EQ(go_float_exponent(0.2), "2e-01");
    EXPECT_EQ(go_float_exponent(0.375), "3.75e-01");
    EXPECT_EQ(go_float_exponent(1), "1e+00");
    EXPECT_EQ(go_float_exponent(1234567), "1.234567e+06");
    EXPECT_EQ(go_float_exponent(0.21428571428571427), "2.1428571428571427e-01");
    EXPECT_EQ(go_float_exponent(-std::numeric_limits<double>::infinity()), "-Inf");
    EXPECT_EQ(go_float_exponent(std::nan("")), "NaN");
}

TEST(Template, Humanize) {
    EXPECT_EQ(humanize(0), "0");
    EXPECT_EQ(humanize(1234), "1.234k");
    EXPECT_EQ(humanize(1234567), "1.235M");
    EXPECT_EQ(humanize(12), "12");
    EXPECT_EQ(humanize(0.012), "12m");
    EXPECT_EQ(humanize(-2500), "-2.5k");
    EXPECT_EQ(humanize(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(humanize1024(1024), "1ki");
    EXPECT_EQ(humanize1024(1536 * 1024), "1.5Mi");
    EXPECT_EQ(humanize1024(0.5), "0.5");
    EXPECT_EQ(humanize_percentage(0.1234), "12.34%");
    EXPECT_EQ(humanize_percentage(1), "100%");
    EXPECT_EQ(humanize_duration(0), "0s");
    EXPECT_EQ(humanize_duration(1.5), "1.5s");
    EXPECT_EQ(humanize_duration(90), "1m 30s");
    EXPECT_EQ(humanize_duration(3 * 86400 + 3600 + 61), "3d 1h 1m 1s");
    EXPECT_EQ(humanize_duration(-7200), "-2h 0m 0s");
    EXPECT_EQ(humanize_duration(0.25), "250ms");
}

TEST(Template, PipesAndFunctions) {
    EXPECT_EQ(expand("{{ $value | humanizePercentage }}"), "12.34%");
    EXPECT_EQ(expand("{{ humanize 2048 }}"), "2.048k");
    EXPECT_EQ(expand("{{ $value | humanize }}", 1500000), "1.5M");
    EXPECT_EQ(expand("{{ 5400 | humanizeDuration }}"), "1h 30m 0s");
    EXPECT_EQ(expand("{{ $value | humanize1024 }}", 2048), "2ki");
    EXPECT_EQ(expand(R"({{ printf "%.2f" $value }})"), "0.12");
    EXPECT_EQ(expand(R"({{ $value | printf "%.1f%%" }})", 12.345), "12.3%");
    EXPECT_EQ(expand(R"({{ printf "%s: %d runs" $labels.workflow_name 20 }})"), "enrich leads: 20 runs");
    EXPECT_EQ(expand(R"({{ printf "%5s|%-5s|" "ab" "cd" }})"), "   ab|cd   |");
    EXPECT_EQ(expand(R"({{ printf "%g" $value }})"), "0.1234");
    EXPECT_EQ(expand(R"({{ printf "%d" }})"), "%!d(MISSING)");
    EXPECT_EQ(expand(R"({{ printf "%s" $value }})"), "%!s(float64=0.1234)");
    EXPECT_EQ(expand(R"({{ printf "x" 1 }})"), "x%!(EXTRA float64=1)");
    EXPECT_EQ(expand("{{ $labels.workflow_name | toUpper }}"), "ENRICH LEADS");
    EXPECT_EQ(expand(R"({{ "MiXeD" | toLower }})"), "mixed");
    EXPECT_EQ(expand("{{ $labels.workflow_name | title }}"), "Enrich Leads");
    EXPECT_EQ(expand(R"({{ "5" | humanize }})"), "5");  // strings convert as in Prometheus
}

TEST(Template, TrimMarkersAndComments) {
    EXPECT_EQ(expand("a  {{- $labels.window -}}  b"), "a1hb");
    EXPECT_EQ(expand("a{{/* why */}}b"), "ab");
    EXPECT_EQ(expand("{{-3}}"), "-3");  // no space: a negative number, as in Go
}

TEST(Template, ExpansionErrorsAreText) {
    EXPECT_EQ(expand(R"({{ "abc" | humanize }})"), "<error expanding template: humanize: cannot convert \"abc\" to a number>");
    EXPECT_EQ(expand("{{ $value | toUpper }}"), "<error expanding template: toUpper: expected a string, got float64 0.1234>");
}

TEST(Template, SyntaxErrorsNameTheProblemAndWhere) {
    EXPECT_EQ(error_message("{{ $value | humanise }}"),
              "unknown function \"humanise\" (supported: humanize, humanize1024, humanizePercentage, humanizeDuration, "
              "printf, toUpper, toLower, title)");
    EXPECT_EQ(error_offset("{{ $value | humanise }}"), 12u);
    EXPECT_EQ(error_message("value {{ $value"), "unclosed action: missing \"}}\"");
    EXPECT_EQ(error_message("{{ if $value }}x{{ end }}"), "\"if\" actions are not supported");
    EXPECT_EQ(error_message("{{ $foo }}"), "undefined variable \"$foo\" (use $labels or $value)");
    EXPECT_EQ(error_offset("ab {{ $foo }}"), 6u);
    EXPECT_EQ(error_message("{{ $labels }}"), "$labels needs a label name: $labels.<name>");
    EXPECT_EQ(error_message("{{ .Foo }}"), "unknown field \".Foo\" (use .Labels or .Value)");
    EXPECT_EQ(error_message("{{ }}"), "missing value for command");
    EXPECT_EQ(error_message("{{ humanize }}"), "humanize takes 1 argument, got 0");
    EXPECT_EQ(error_message("{{ $value | humanize 3 }}"), "humanize takes 1 argument, got 2");
    EXPECT_EQ(error_message("{{ $value | $value }}"), "cannot pipe a value into a value; pipe it into a function");
    EXPECT_EQ(error_message(R"({{ "abc }})"), "unterminated string");
    EXPECT_EQ(error_message("{{ printf }}"), "printf needs a format");
}

// Each known way to make one annotation cost gigabytes or overflow an int.
TEST(TemplateLimits, AHugePrintfWidthInTheTextIsALoadError) {
    EXPECT_EQ(error_message(R"({{ printf "%2000000000s" $value }})"),
              "printf: width in \"%2000000000s\" is larger than 1000");
    EXPECT_EQ(error_offset(R"(x {{ printf "%2000000000s" $value }})"), 12u);
    EXPECT_EQ(error_message(R"({{ printf "%.5000f" $value }})"), "printf: precision in \"%.5000f\" is larger than 1000");
    // Digits that would overflow an int are still just "too large".
    EXPECT_EQ(error_message(R"({{ printf "%99999999999999999999d" $value }})"),
              "printf: width in \"%99999999999999999999d\" is larger than 1000");
    EXPECT_EQ(error_message(R"({{ $value | printf "%-4294967297.2f" }})"),
              "printf: width in \"%-4294967297.2f\" is larger than 1000");
}

TEST(TemplateLimits, WidthsUpToTheLimitWork) {
    EXPECT_EQ(expand(R"({{ printf "%1000s" "x" }})"), std::string(999, ' ') + "x");
    EXPECT_EQ(expand(R"({{ printf "%-1000.1000f" 1e308 }})").size(), 309u + 1 + 1000);
    EXPECT_EQ(expand(R"({{ printf "%.1000e" $value }})").size(), 1u + 1 + 1000 + 4);
    EXPECT_EQ(expand(R"({{ printf "%1000d" 5 }})"), std::string(999, ' ') + "5");
}

TEST(TemplateLimits, AHugeWidthFromDataIsAnExpansionErrorNotAnAllocation) {
    Template t = Template::parse("{{ printf $labels.format $value }}");
    EXPECT_EQ(t.expand({{"format", "%2000000000s"}}, 1),
              "<error expanding template: printf: width in \"%2000000000s\" is larger than 1000>");
    EXPECT_EQ(t.expand({{"format", "%.99999999999999999999f"}}, 1),
              "<error expanding template: printf: precision in \"%.99999999999999999999f\" is larger than 1000>");
    EXPECT_EQ(Template::parse("{{ $labels.format | printf }}").expand({{"format", "%1001s"}}, 1),
              "<error expanding template: printf: width in \"%1001s\" is larger than 1000>");
}

TEST(TemplateLimits, PrintfStopsPast64KiB) {
    std::string format;
    for (int i = 0; i < 100; ++i) format += "%1000v";
    std::string text = "{{ printf $labels.format";
    for (int i = 0; i < 100; ++i) text += " $value";
    Template t = Template::parse(text + " }}");
    EXPECT_EQ(t.expand({{"format", format}}, 1), "<error expanding template: printf: result longer than 65536 bytes>");
}

TEST(TemplateLimits, OutputIsCutAt64KiB) {
    std::string text;
    for (int i = 0; i < 100; ++i) text += R"({{ printf "%1000s" "é" }})";
    std::string out = expand(text);
    const std::string marker = "...<truncated: template output longer than 65536 bytes>";
    ASSERT_TRUE(out.ends_with(marker)) << out.size();
    EXPECT_LE(out.size(), 65536 + marker.size());
    EXPECT_GE(out.size(), 65536 - 1 + marker.size());  // cut before a split "é" at most
    EXPECT_EQ(expand(std::string(70000, 'a')).size(), 65536 + marker.size());
    EXPECT_EQ(expand(std::string(65536, 'a')), std::string(65536, 'a'));
}

}  // namespace
}  // namespace cargomon::alerts::rules
