#include "exporters/exposition.h"

#include <charconv>
#include <optional>

#include "common/text.h"
#include "metrics/text_format.h"

namespace cargomon::exporters {
namespace {

using metrics::Format;
using metrics::MetricType;
using metrics::TextWriter;

std::string_view type_name(MetricType type) {
    switch (type) {
        case MetricType::gauge: return "gauge";
        case MetricType::counter: return "counter";
        case MetricType::summary: return "summary";
    }
    return "gauge";
}

void write_registry_family(TextWriter& w, const prometheus::MetricFamily& family) {
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

Exposition::Exposition(const std::vector<prometheus::MetricFamily>& registry,
                       std::shared_ptr<const metrics::StoreView> store, Format format, bool end)
    : store_(std::move(store)) {
    TextWriter w(rendering_, format);
    for (const auto& family : registry) write_registry_family(w, family);
    static const metrics::StoreView kNoStore{};
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

}  // namespace cargomon::exporters
