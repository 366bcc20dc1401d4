#include "metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace cargomon::metrics {

void append_sample_value(std::string& out, double value) {
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

std::string format_value(double value) {
    std::string out;
    append_sample_value(out, value);
    return out;
}

void TextWriter::header(std::string_view name, std::string_view help, std::string_view type) {
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

void TextWriter::append_bound(double bound) {
    auto before = out_.size();
    append_sample_value(out_, bound);
    if (format_ != Format::openmetrics || !std::isfinite(bound)) return;
    if (out_.find_first_of(".e", before) == std::string::npos) out_ += ".0";
}

std::string render_samples(const Family& family) {
    std::string out;
    TextWriter w(out, Format::text);
    w.family_name(family.name);
    for (const auto& sample : family.samples) w.sample(part_suffix(sample.part), sample.labels, sample.value);
    return out;
}

}  // namespace cargomon::metrics
