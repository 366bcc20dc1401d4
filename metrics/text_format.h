#pragma once
// The Prometheus text format's lines (0.0.4, and OpenMetrics 1.0.0 where they differ):
// HELP and TYPE headers and sample lines, escaped and formatted as Prometheus writes them.
// Part of the model, not of the exporters: MetricStore::publish renders each snapshot's
// sample lines once with it (render_samples), and exporters/exposition.h assembles whole
// answers from those lines and its own headers.
#include <prometheus/client_metric.h>

#include <string>
#include <string_view>
#include <utility>

#include "metrics/model.h"

namespace cargomon::metrics {

enum class Format { text, openmetrics };

// A sample value as Prometheus writes it: "+Inf", "-Inf", "NaN", integers without exponent.
void append_sample_value(std::string& out, double value);
std::string format_value(double value);
// Text 0.0.4 escapes only backslash and newline in HELP; OpenMetrics and every label
// value also escape the double quote.
void append_escaped(std::string& out, std::string_view text, bool escape_quote);

namespace text_detail {
inline std::string_view label_name(const std::pair<std::string, std::string>& label) { return label.first; }
inline std::string_view label_value(const std::pair<std::string, std::string>& label) { return label.second; }
inline std::string_view label_name(const prometheus::ClientMetric::Label& label) { return label.name; }
inline std::string_view label_value(const prometheus::ClientMetric::Label& label) { return label.value; }
}  // namespace text_detail

// Appends a family's header and sample lines to `out` in `format`.
class TextWriter {
public:
    TextWriter(std::string& out, Format format) : out_(out), format_(format) {}

    // `name` as in the text format; an OpenMetrics counter family drops `_total`.
    void header(std::string_view name, std::string_view help, std::string_view type);

    // Samples without a header, for families whose header is written elsewhere.
    void family_name(std::string_view name) { family_ = name; }

    // A sample of the current family: its name plus `suffix`, then the labels, then
    // optionally `le` or `quantile` last.
    template <class LabelList>
    void sample(std::string_view suffix, const LabelList& labels, double value, std::string_view extra_name = {},
                double extra_value = 0) {
        out_ += family_;
        out_ += suffix;
        if (!labels.empty() || !extra_name.empty()) {
            out_ += '{';
            bool first = true;
            for (const auto& label : labels) {
                if (!first) out_ += ',';
                first = false;
                out_ += text_detail::label_name(label);
                out_ += "=\"";
                append_escaped(out_, text_detail::label_value(label), true);
                out_ += '"';
            }
            if (!extra_name.empty()) {
                if (!first) out_ += ',';
                out_ += extra_name;
                out_ += "=\"";
                append_bound(extra_value);
                out_ += '"';
            }
            out_ += '}';
        }
        out_ += ' ';
        append_sample_value(out_, value);
        out_ += '\n';
    }

    // Counter samples end in `_total` in OpenMetrics whatever the family is called.
    std::string_view counter_suffix() const { return format_ == Format::openmetrics ? "_total" : ""; }

private:
    // OpenMetrics wants `le` and `quantile` as canonical floats: "1.0", not "1".
    void append_bound(double bound);

    std::string& out_;
    Format format_;
    std::string_view family_;
};

// A store family's sample lines; the same in both formats, since store counters are
// already named `*_total`. MetricStore::publish renders them once per snapshot.
std::string render_samples(const Family& family);

}  // namespace cargomon::metrics
