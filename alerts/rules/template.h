#pragma once
// The Go-template subset alert labels and annotations are written in, with Prometheus'
// data ($labels, $value, .Labels, .Value) and its most used functions: humanize,
// humanize1024, humanizePercentage, humanizeDuration, printf, toUpper, toLower, title.
// Parsed once at load time, so unknown functions and bad syntax are load errors.
//
// Bounded, because templates run for every alert at every evaluation and their data
// (label values) comes from outside: printf widths and precisions above 1000 are a load
// error in a written format and an expansion error in one that comes from data; printf
// stops with an error past 64 KiB; a whole expansion longer than 64 KiB is cut there (at
// a character boundary) and ends in "...<truncated: template output longer than 65536
// bytes>". The parser does not recurse (no if/range/parentheses in the subset), so
// nesting needs no limit.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/model.h"

namespace cargomon::alerts::rules {

// `offset` is the byte offset in the template text where the problem is.
class TemplateError : public std::runtime_error {
public:
    TemplateError(std::size_t offset, const std::string& message) : std::runtime_error(message), offset_(offset) {}
    std::size_t offset() const { return offset_; }

private:
    std::size_t offset_;
};

class Template {
public:
    struct Node;

    // Throws TemplateError.
    static Template parse(std::string_view text);

    // A failure while expanding (a function given a value it cannot take) yields
    // "<error expanding template: ...>" as Prometheus does, never an exception.
    std::string expand(const metrics::Labels& labels, double value) const;

    const std::string& text() const { return text_; }

private:
    std::string text_;
    std::shared_ptr<const std::vector<Node>> nodes_;
};

// Prometheus' formatting functions, also usable on their own.
std::string humanize(double v);
std::string humanize1024(double v);
std::string humanize_percentage(double v);
std::string humanize_duration(double seconds);
// A float as Go prints it with %v: shortest round-trip digits, exponent from 1e+06 / below 1e-04.
std::string go_float(double v);
// A float as Go's strconv.FormatFloat(v, 'e', -1, 64) writes it, as Prometheus' API gives
// alert values: "2e-01", "3.75e-01", "1e+00".
std::string go_float_exponent(double v);

}  // namespace cargomon::alerts::rules
