#include "metrics/exposition.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>

#include "common/text.h"

namespace cargomon::metrics {
namespace {

void append_value(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
    } else if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];
        // Whole numbers below 2^53 are exact in a double; print them as integers.
        auto [end, ec] = value == std::trunc(value) && std::fabs(value) < 9007199254740992.0
                             ? std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value))
                             : std::to_chars(buf, buf + sizeof buf, value);
        out.append(buf, end);
    }
}

// Text 0.0.4 escapes only backslash and newline in HELP; OpenMetrics and every label
// value also escape the double quote.
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '\\' && c != '\n' && !(c == '"' && escape_quote)) continue;
        out.append(text.substr(start, i - start));
        out += c == '\n' ? "\\n" : c == '\\' ? "\\\\" : "\\\"";
        start = i + 1;
    }
    out.append(text.substr(start));
}

std::string_view label_name(const std::pair<std::string, std::string>& label) { return label.first; }
std::string_view label_value(const std::pair<std::string, std::string>& label) { return label.second; }
std::string_view label_name(const prometheus::ClientMetric::Label& label) { return label.name; }
std::string_view label_value(const prometheus::ClientMetric::Label& label) { return label.value; }

class Writer {
public:
    Writer(std::string& out, Format format) : out_(out), format_(format) {}

    // `name` as in the text format; an OpenMetrics counter family drops `_total`.
    void header(std::string_view name, std::string_view help, std::string_view type) {
        family_ = name;
        if (format_ == Format::openmetrics && type == "counter" && family_.ends_with("_total"))
            family_.remove_suffix(6);
        if (format_ == Format::openmetrics && type == "untyped") type = "unknown";
        if (!help.empty()) {
            out_ += "# HELP ";
            out_ += family_;
            out_ += ' ';
            append_escaped(out_, help, format_ == Format::openmetrics);
            out_ += '\n';
        }
        out_ += "# TYPE ";
        out_ += family_;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }

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
                out_ += label_name(label);
                out_ += "=\"";
                append_escaped(out_, label_value(label), true);
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
        append_value(out_, value);
        out_ += '\n';
    }

    // Counter samples end in `_total` in OpenMetrics whatever the family is called.
    std::string_view counter_suffix() const { return format_ == Format::openmetrics ? "_total" : ""; }

private:
    // OpenMetrics wants `le` and `quantile` as canonical floats: "1.0", not "1".
    void append_bound(double bound) {
        auto before = out_.size();
        append_value(out_, bound);
        if (format_ != Format::openmetrics || !std::isfinite(bound)) return;
        if (out_.find_first_of(".e", before) == std::string::npos) out_ += ".0";
    }

    std::string& out_;
    Format format_;
    std::string_view family_;
};

std::string_view type_name(MetricType type) {
    switch (type) {
        case MetricType::gauge: return "gauge";
        case MetricType::counter: return "counter";
        case MetricType::summary: return "summary";
    }
    return "gauge";
}

void write_registry_family(Writer& w, const prometheus::MetricFamily& family) {
    using prometheus::MetricType;
    if (family.metric.empty()) return;
    switch (family.type) {
        case MetricType::Counter: {
            w.header(family.name, family.help, "counter");
            for (const auto& m : family.metric) w.sample(w.counter_suffix(), m.label, m.counter.value);
            break;
        }
        case MetricType::Gauge:
            w.header(family.name, family.help, "gauge");
            for (const auto& m : family.metric) w.sample("", m.label, m.gauge.value);
            break;
        case MetricType::Untyped:
            w.header(family.name, family.help, "untyped");
            for (const auto& m : family.metric) w.sample("", m.label, m.untyped.value);
            break;
        case MetricType::Summary:
            w.header(family.name, family.help, "summary");
            for (const auto& m : family.metric) {
                for (const auto& q : m.summary.quantile) w.sample("", m.label, q.value, "quantile", q.quantile);
                w.sample("_sum", m.label, m.summary.sample_sum);
                w.sample("_count", m.label, static_cast<double>(m.summary.sample_count));
            }
            break;
        case MetricType::Histogram:
            w.header(family.name, family.help, "histogram");
            for (const auto& m : family.metric) {
                for (const auto& b : m.histogram.bucket)
                    w.sample("_bucket", m.label, static_cast<double>(b.cumulative_count), "le", b.upper_bound);
                w.sample("_sum", m.label, m.histogram.sample_sum);
                w.sample("_count", m.label, static_cast<double>(m.histogram.sample_count));
            }
            break;
    }
}

}  // namespace

Format negotiate_format(std::string_view accept) {
    Format best = Format::text;
    double best_q = 0;
    while (!accept.empty()) {
        auto comma = accept.find(',');
        auto range = accept.substr(0, comma);
        accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);

        auto semi = range.find(';');
        auto media = trim(range.substr(0, semi));
        double q = 1;
        bool openmetrics_1 = true;
        auto params = semi == std::string_view::npos ? std::string_view{} : range.substr(semi + 1);
        while (!params.empty()) {
            auto next = params.find(';');
            auto param = trim(params.substr(0, next));
            params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
            auto eq = param.find('=');
            if (eq == std::string_view::npos) continue;
            auto key = trim(param.substr(0, eq));
            auto value = trim(param.substr(eq + 1));
            if (iequals(key, "q")) {
                auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
                if (ec != std::errc{}) q = 0;
            } else if (iequals(key, "version")) {
                openmetrics_1 = value == "1.0.0";
            }
        }
        std::optional<Format> offered;
        if (iequals(media, "application/openmetrics-text") && openmetrics_1) offered = Format::openmetrics;
        else if (iequals(media, "text/plain") || iequals(media, "text/*") || media == "*/*") offered = Format::text;
        if (offered && q > best_q) {  // strictly greater: the earlier range wins a tie
            best = *offered;
            best_q = q;
        }
    }
    return best;
}

std::string_view content_type(Format format) {
    return format == Format::openmetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                         : "text/plain; version=0.0.4; charset=utf-8";
}

Exposition::Exposition(const std::vector<prometheus::MetricFamily>& registry, std::shared_ptr<const StoreView> store,
                       Format format, bool end)
    : store_(std::move(store)) {
    Writer w(rendering_, format);
    for (const auto& family : registry) write_registry_family(w, family);
    static const StoreView kNoStore{};
    for (const auto& merged : (store_ ? *store_ : kNoStore).families) {
        bool empty = true;
        for (const auto& part : merged.parts) empty = empty && part.sample_text->empty();
        if (empty) continue;
        w.header(merged.name, merged.help, type_name(merged.type));
        flush();
        for (const auto& part : merged.parts) add(*part.sample_text);
    }
    if (end && format == Format::openmetrics) rendering_ += "# EOF\n";
    flush();
}

void Exposition::add(std::string_view piece) {
    if (piece.empty()) return;
    pieces_.push_back(piece);
    size_ += piece.size();
}

void Exposition::flush() {
    if (rendering_.empty()) return;
    add(owned_.emplace_back(std::move(rendering_)));
    rendering_.clear();
}

std::string Exposition::str() const {
    std::string out;
    out.reserve(size_);
    for (auto piece : pieces_) out += piece;
    return out;
}

std::string render_samples(const Family& family) {
    std::string out;
    Writer w(out, Format::text);
    w.family_name(family.name);
    for (const auto& sample : family.samples) w.sample(part_suffix(sample.part), sample.labels, sample.value);
    return out;
}

std::string format_value(double value) {
    std::string out;
    append_value(out, value);
    return out;
}

}  // namespace cargomon::metrics
