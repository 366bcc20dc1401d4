#include "alerts/rules/template.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <variant>

#include "metrics/labels.h"

namespace cargomon::alerts::rules {
namespace {

enum class Func { humanize, humanize1024, humanize_percentage, humanize_duration, printf, to_upper, to_lower, title };

struct FuncInfo {
    std::string_view name;
    Func func;
};
constexpr FuncInfo kFuncs[] = {
    {"humanize", Func::humanize},     {"humanize1024", Func::humanize1024},
    {"humanizePercentage", Func::humanize_percentage}, {"humanizeDuration", Func::humanize_duration},
    {"printf", Func::printf},         {"toUpper", Func::to_upper},
    {"toLower", Func::to_lower},      {"title", Func::title},
};
constexpr std::string_view kFuncList =
    "humanize, humanize1024, humanizePercentage, humanizeDuration, printf, toUpper, toLower, title";
constexpr std::string_view kKeywords[] = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"};

using Val = std::variant<std::string, double>;

struct Operand {
    enum class Kind { label, value, literal } kind = Kind::literal;
    std::string label;  // for Kind::label
    Val literal;        // for Kind::literal
};

struct Command {
    std::optional<Func> func;      // none: a lone operand
    std::vector<Operand> args;
    std::string_view func_name;    // for messages; points into kFuncs
};

class ExpandError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An annotation is rendered for every alert at every evaluation: "%2000000000s" must not
// allocate 2 GB each time. Go allows widths up to 1e6; no message needs more than this.
constexpr std::size_t kMaxPrintfWidth = 1000;
constexpr std::size_t kMaxOutput = 64 * 1024;
constexpr std::string_view kTruncated = "...<truncated: template output longer than 65536 bytes>";

std::string go_sprintf(const std::string& format, const std::vector<Val>& args);

}  // namespace

struct Template::Node {
    std::string text;               // literal text, when pipeline is empty
    std::vector<Command> pipeline;  // an action
};

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Reads one action, from just after "{{" (and its trim marker) up to "}}".
class ActionParser {
public:
    ActionParser(std::string_view text, std::size_t pos) : text_(text), pos_(pos) {}

    // The pipeline (empty for a comment); `end` is set past "}}", `trim_right` for "-}}".
    std::vector<Command> parse(std::size_t& end, bool& trim_right) {
        skip_space();
        std::vector<Command> pipeline;
        if (text_.substr(pos_).starts_with("/*")) {
            std::size_t close = text_.find("*/", pos_ + 2);
            if (close == std::string_view::npos) throw TemplateError(pos_, "unclosed comment");
            pos_ = close + 2;
            skip_space();
        } else {
            pipeline = parse_pipeline();
        }
        trim_right = text_.substr(pos_).starts_with("-}}");
        if (trim_right) ++pos_;
        if (!text_.substr(pos_).starts_with("}}")) {
            if (pos_ >= text_.size()) throw TemplateError(pos_, "unclosed action: missing \"}}\"");
            throw TemplateError(pos_, "unexpected " + quoted_rest() + " in action");
        }
        end = pos_ + 2;
        return pipeline;
    }

private:
    std::vector<Command> parse_pipeline() {
        std::vector<Command> pipeline;
        for (;;) {
            std::size_t start = pos_;
            Command command = parse_command(!pipeline.empty());
            if (!command.func && command.args.empty()) throw TemplateError(start, "missing value for command");
            pipeline.push_back(std::move(command));
            skip_space();
            if (pos_ < text_.size() && text_[pos_] == '|') {
                ++pos_;
                skip_space();
                continue;
            }
            return pipeline;
        }
    }

    Command parse_command(bool piped) {
        Command command;
        std::size_t start = pos_;
        if (pos_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) {
            std::string_view name = ident();
            if (std::find(std::begin(kKeywords), std::end(kKeywords), name) != std::end(kKeywords))
                throw TemplateError(start, "\"" + std::string(name) + "\" actions are not supported");
            auto info = std::find_if(std::begin(kFuncs), std::end(kFuncs), [&](const FuncInfo& f) { return f.name == name; });
            if (info == std::end(kFuncs))
                throw TemplateError(start, "unknown function \"" + std::string(name) + "\" (supported: " + std::string(kFuncList) + ")");
            command.func = info->func;
            command.func_name = info->name;
        }
        skip_space();
        std::size_t first_arg = pos_;
        for (; at_operand(); skip_space()) command.args.push_back(operand());
        if (!command.func) {
            if (command.args.size() > 1) throw TemplateError(start, "only a function takes arguments");
            if (piped && !command.args.empty()) throw TemplateError(start, "cannot pipe a value into a value; pipe it into a function");
            return command;
        }
        std::size_t given = command.args.size() + (piped ? 1 : 0);
        if (*command.func == Func::printf) {
            if (given == 0) throw TemplateError(start, "printf needs a format");
            // A written format's limits are checked now; one from data, when expanding.
            bool written = !command.args.empty() && command.args[0].kind == Operand::Kind::literal;
            const auto* format = written ? std::get_if<std::string>(&command.args[0].literal) : nullptr;
            if (format) {
                try {
                    go_sprintf(*format, {});
                } catch (const ExpandError& e) {
                    throw TemplateError(first_arg, e.what());
                }
            }
        } else if (given != 1) {
            throw TemplateError(start, std::string(command.func_name) + " takes 1 argument, got " + std::to_string(given));
        }
        return command;
    }

    bool at_operand() const {
        if (pos_ >= text_.size()) return false;
        char c = text_[pos_];
        if (c == '|' || c == '}' || (c == '-' && text_.substr(pos_).starts_with("-}}"))) return false;
        return true;
    }

    Operand operand() {
        std::size_t start = pos_;
        char c = text_[pos_];
        if (c == '$') {
            ++pos_;
            std::string_view var = ident();
            std::optional<std::string_view> field = dotted_field();
            if (var == "labels") {
                if (!field) throw TemplateError(start, "$labels needs a label name: $labels.<name>");
                return {Operand::Kind::label, std::string(*field), {}};
            }
            if (var == "value") {
                if (field) throw TemplateError(start, "$value is a number and has no fields");
                return {Operand::Kind::value, {}, {}};
            }
            throw TemplateError(start, "undefined variable \"$" + std::string(var) + "\" (use $labels or $value)");
        }
        if (c == '.') {
            auto field = dotted_field();
            if (field == "Labels") {
                auto label = dotted_field();
                if (!label) throw TemplateError(start, ".Labels needs a label name: .Labels.<name>");
                return {Operand::Kind::label, std::string(*label), {}};
            }
            if (field == "Value") return {Operand::Kind::value, {}, {}};
            throw TemplateError(start, "unknown field \"." + std::string(field.value_or("")) + "\" (use .Labels or .Value)");
        }
        if (c == '"' || c == '`') return {Operand::Kind::literal, {}, string_literal()};
        if (c == '-' || c == '+' || std::isdigit(static_cast<unsigned char>(c))) return {Operand::Kind::literal, {}, number()};
        if (std::isalpha(static_cast<unsigned char>(c)))
            throw TemplateError(start, "a function name cannot be an argument; pipe into it instead");
        throw TemplateError(start, "unexpected " + quoted_rest() + " in action");
    }

    std::string_view ident() {
        std::size_t start = pos_;
        while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
        return text_.substr(start, pos_ - start);
    }

    std::optional<std::string_view> dotted_field() {
        if (pos_ >= text_.size() || text_[pos_] != '.') return std::nullopt;
        std::size_t start = pos_++;
        std::string_view name = ident();
        if (name.empty()) throw TemplateError(start, "expected a name after \".\"");
        return name;
    }

    std::string string_literal() {
        std::size_t start = pos_;
        char quote = text_[pos_++];
        std::string out;
        while (pos_ < text_.size() && text_[pos_] != quote) {
            char c = text_[pos_++];
            if (c == '\\' && quote == '"' && pos_ < text_.size()) {
                char e = text_[pos_++];
                switch (e) {
                    case 'n': out += '\n'; break;
                    case 't': out += '\t'; break;
                    case '\\': out += '\\'; break;
                    case '"': out += '"'; break;
                    default: throw TemplateError(pos_ - 2, std::string("unknown escape \"\\") + e + "\"");
                }
                continue;
            }
            if (c == '\n' && quote == '"') break;
            out += c;
        }
        if (pos_ >= text_.size() || text_[pos_] != quote) throw TemplateError(start, "unterminated string");
        ++pos_;
        return out;
    }

    double number() {
        std::size_t start = pos_;
        if (text_[pos_] == '+') ++pos_;
        double value = 0;
        auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), value);
        if (ec != std::errc{} || (end < text_.data() + text_.size() && is_ident_char(*end)))
            throw TemplateError(start, "bad number " + quoted_rest());
        pos_ = static_cast<std::size_t>(end - text_.data());
        return value;
    }

    void skip_space() {
        while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    }

    std::string quoted_rest() const {
        std::string_view rest = text_.substr(pos_, 10);
        if (auto nl = rest.find('\n'); nl != std::string_view::npos) rest = rest.substr(0, nl);
        return "\"" + std::string(rest) + "\"";
    }

    std::string_view text_;
    std::size_t pos_;
};

std::string go_special(double v) {
    if (std::isnan(v)) return "NaN";
    return v > 0 ? "+Inf" : "-Inf";
}

// C's %.<precision>g matches Go's for finite numbers; Go spells the others +Inf/-Inf/NaN.
std::string format_g(double v, int precision) {
    if (!std::isfinite(v)) return go_special(v);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    return buf;
}

std::string type_name(const Val& v) { return std::holds_alternative<double>(v) ? "float64" : "string"; }

std::string plain(const Val& v) {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    return go_float(std::get<double>(v));
}

double to_number(const Val& v, std::string_view func) {
    if (const auto* d = std::get_if<double>(&v)) return *d;
    const std::string& s = std::get<std::string>(v);
    double value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size())
        throw ExpandError(std::string(func) + ": cannot convert \"" + s + "\" to a number");
    return value;
}

const std::string& to_string(const Val& v, std::string_view func) {
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    throw ExpandError(std::string(func) + ": expected a string, got float64 " + go_float(std::get<double>(v)));
}

// Go's strings.Title: the first letter of every word upper-cased.
std::string title_case(std::string s) {
    bool at_word_start = true;
    for (char& c : s) {
        auto u = static_cast<unsigned char>(c);
        if (at_word_start) c = static_cast<char>(std::toupper(u));
        at_word_start = u < 0x80 && !std::isalnum(u) && c != '_';
    }
    return s;
}

std::string pad(std::string s, int width, bool left_align) {
    if (width > static_cast<int>(s.size())) {
        std::string fill(static_cast<std::size_t>(width) - s.size(), ' ');
        s = left_align ? s + fill : fill + s;
    }
    return s;
}

// The digits of a width or precision, saturating just past the limit: "%99999999999s"
// neither overflows nor passes.
std::size_t read_count(const std::string& format, std::size_t& i) {
    std::size_t n = 0;
    for (; i < format.size() && std::isdigit(static_cast<unsigned char>(format[i])); ++i)
        n = std::min(n * 10 + static_cast<std::size_t>(format[i] - '0'), kMaxPrintfWidth + 1);
    return n;
}

// Go's fmt.Sprintf for the verbs templates use: %s %q %v %d %f %F %e %E %g %G %%, with
// flags, width and precision; Go's %!verb(type=value) markers for mismatches.
std::string go_sprintf(const std::string& format, const std::vector<Val>& args) {
    std::string out;
    std::size_t next_arg = 0;
    for (std::size_t i = 0; i < format.size(); ++i) {
        if (out.size() > kMaxOutput)
            throw ExpandError("printf: result longer than " + std::to_string(kMaxOutput) + " bytes");
        if (format[i] != '%') {
            out += format[i];
            continue;
        }
        std::size_t spec_start = i++;
        bool left = false;
        for (; i < format.size() && std::string_view("+-# 0").find(format[i]) != std::string_view::npos; ++i)
            left = left || format[i] == '-';
        std::size_t width_digits = read_count(format, i);
        bool has_precision = i < format.size() && format[i] == '.';
        std::size_t precision = has_precision ? read_count(format, ++i) : 0;
        if (width_digits > kMaxPrintfWidth || precision > kMaxPrintfWidth) {
            std::string spec = format.substr(spec_start, std::min<std::size_t>(i + 1 - spec_start, 24));
            throw ExpandError("printf: " + std::string(width_digits > kMaxPrintfWidth ? "width" : "precision") +
                              " in \"" + spec + "\" is larger than " + std::to_string(kMaxPrintfWidth));
        }
        int width = static_cast<int>(width_digits);
        if (i >= format.size()) {
            out += "%!(NOVERB)";
            break;
        }
        char verb = format[i];
        std::string spec = format.substr(spec_start, i - spec_start);  // "%-8.2"
        if (verb == '%') {
            out += '%';
            continue;
        }
        if (next_arg >= args.size()) {
            out += std::string("%!") + verb + "(MISSING)";
            continue;
        }
        const Val& arg = args[next_arg++];
        const double* number = std::get_if<double>(&arg);
        // Room for the widest: %+1000.1000f of 1e308 is 1 + 309 + 1 + 1000 bytes.
        char buf[2 * kMaxPrintfWidth + 400];
        if (verb == 's' || verb == 'v' || verb == 'q') {
            if (number && verb != 'v') {
                out += std::string("%!") + verb + "(float64=" + go_float(*number) + ")";
            } else if (number && has_precision) {
                std::snprintf(buf, sizeof buf, (spec + "g").c_str(), *number);
                out += std::isfinite(*number) ? std::string(buf) : pad(go_special(*number), width, left);
            } else {
                std::string text = verb == 'q' ? "\"" + std::get<std::string>(arg) + "\"" : plain(arg);
                if (has_precision) text = text.substr(0, precision);
                out += pad(std::move(text), width, left);
            }
        } else if (std::string_view("fFeEgG").find(verb) != std::string_view::npos && number) {
            if (!std::isfinite(*number)) {
                out += pad(go_special(*number), width, left);
            } else if ((verb == 'g' || verb == 'G') && !has_precision) {
                out += pad(go_float(*number), width, left);
            } else {
                std::snprintf(buf, sizeof buf, (spec + verb).c_str(), *number);
                out += buf;
            }
        } else if (verb == 'd' && number && std::isfinite(*number) && *number == std::trunc(*number) &&
                   std::abs(*number) < 9.2e18) {
            // Go would refuse a float64 here; Prometheus values are floats, so whole ones print as integers.
            std::snprintf(buf, sizeof buf, (spec + "lld").c_str(), static_cast<long long>(*number));
            out += buf;
        } else {
            out += std::string("%!") + verb + "(" + type_name(arg) + "=" + plain(arg) + ")";
        }
    }
    if (next_arg < args.size()) {
        out += "%!(EXTRA ";
        for (std::size_t k = next_arg; k < args.size(); ++k)
            out += (k > next_arg ? ", " : "") + type_name(args[k]) + "=" + plain(args[k]);
        out += ")";
    }
    return out;
}

Val call(const Command& command, const std::vector<Val>& args) {
    std::string_view name = command.func_name;
    switch (*command.func) {
        case Func::humanize: return humanize(to_number(args[0], name));
        case Func::humanize1024: return humanize1024(to_number(args[0], name));
        case Func::humanize_percentage: return humanize_percentage(to_number(args[0], name));
        case Func::humanize_duration: return humanize_duration(to_number(args[0], name));
        case Func::printf: {
            std::vector<Val> rest(args.begin() + 1, args.end());
            return go_sprintf(to_string(args[0], name), rest);
        }
        case Func::to_upper: {
            std::string s = to_string(args[0], name);
            std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            return s;
        }
        case Func::to_lower: {
            std::string s = to_string(args[0], name);
            std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            return s;
        }
        case Func::title: return title_case(to_string(args[0], name));
    }
    return std::string();
}

Val resolve(const Operand& operand, const metrics::Labels& labels, double value) {
    switch (operand.kind) {
        case Operand::Kind::label: {
            // Prometheus runs templates with missingkey=zero: an absent label is "".
            return std::string(metrics::label_value(labels, operand.label));
        }
        case Operand::Kind::value: return value;
        case Operand::Kind::literal: return operand.literal;
    }
    return std::string();
}

}  // namespace

Template Template::parse(std::string_view text) {
    std::vector<Node> nodes;
    std::size_t pos = 0;
    bool trim_next = false;
    while (pos < text.size()) {
        std::size_t open = text.find("{{", pos);
        std::string literal(text.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
        if (trim_next) literal.erase(0, std::min(literal.size(), literal.find_first_not_of(" \t\r\n")));
        if (open == std::string_view::npos) {
            if (!literal.empty()) nodes.push_back({std::move(literal), {}});
            break;
        }
        std::size_t inner = open + 2;
        // "{{- " trims the space before the action, as in Go ("{{-3}}" is the number -3).
        if (text.substr(inner).starts_with("-") && inner + 1 < text.size() && is_space(text[inner + 1])) {
            literal.erase(literal.find_last_not_of(" \t\r\n") + 1);
            ++inner;
        }
        if (!literal.empty()) nodes.push_back({std::move(literal), {}});
        std::size_t end = 0;
        std::vector<Command> pipeline = ActionParser(text, inner).parse(end, trim_next);
        if (!pipeline.empty()) nodes.push_back({{}, std::move(pipeline)});
        pos = end;
    }
    Template t;
    t.text_ = std::string(text);
    t.nodes_ = std::make_shared<const std::vector<Node>>(std::move(nodes));
    return t;
}

std::string Template::expand(const metrics::Labels& labels, double value) const {
    std::string out;
    try {
        for (const Node& node : *nodes_) {
            if (node.pipeline.empty()) {
                out += node.text;
            } else {
                std::optional<Val> piped;
                for (const Command& command : node.pipeline) {
                    std::vector<Val> args;
                    for (const Operand& operand : command.args) args.push_back(resolve(operand, labels, value));
                    if (piped) args.push_back(std::move(*piped));
                    piped = command.func ? call(command, args) : std::move(args.front());
                }
                out += plain(*piped);
            }
            if (out.size() > kMaxOutput) {
                std::size_t cut = kMaxOutput;
                while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
                out.resize(cut);
                out += kTruncated;
                break;
            }
        }
    } catch (const ExpandError& e) {
        return std::string("<error expanding template: ") + e.what() + ">";
    }
    return out;
}

std::string go_float(double v) {
    if (!std::isfinite(v)) return go_special(v);
    char buf[64];
    auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view text(buf, static_cast<std::size_t>(sci.ptr - buf));
    // The text is not NUL-terminated: parse the exponent within it ("e-05", "e+06").
    const char* digits = buf + text.find('e') + 1;
    int exponent = 0;
    std::from_chars(digits + (*digits == '+'), sci.ptr, exponent);
    // Go's %v: exponent form below 1e-4 and from 1e+06 (shortest digits, "precision 6").
    if (exponent < -4 || exponent >= 6) return std::string(text);
    auto fixed = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    return std::string(buf, fixed.ptr);
}

std::string go_float_exponent(double v) {
    if (!std::isfinite(v)) return go_special(v);
    char buf[64];
    // C++ writes at least two exponent digits, as Go does: 2e-01, 1.234567e+06.
    auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    return std::string(buf, sci.ptr);
}

std::string humanize(double v) {
    if (v == 0 || !std::isfinite(v)) return format_g(v, 4);
    std::string prefix;
    if (std::abs(v) >= 1) {
        for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
            if (std::abs(v) < 1000) break;
            prefix = p;
            v /= 1000;
        }
    } else {
        for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
            if (std::abs(v) >= 1) break;
            prefix = p;
            v *= 1000;
        }
    }
    return format_g(v, 4) + prefix;
}

std::string humanize1024(double v) {
    if (std::abs(v) <= 1 || !std::isfinite(v)) return format_g(v, 4);
    std::string prefix;
    for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
        if (std::abs(v) < 1024) break;
        prefix = p;
        v /= 1024;
    }
    return format_g(v, 4) + prefix;
}

std::string humanize_percentage(double v) { return format_g(v * 100, 4) + "%"; }

std::string humanize_duration(double v) {
    if (!std::isfinite(v)) return format_g(v, 4);
    if (v == 0) return format_g(v, 4) + "s";
    if (std::abs(v) >= 1) {
        std::string sign = v < 0 ? "-" : "";
        v = std::abs(v);
        auto total = static_cast<long long>(v);
        long long seconds = total % 60, minutes = total / 60 % 60, hours = total / 3600 % 24, days = total / 86400;
        auto n = [](long long x) { return std::to_string(x); };
        if (days) return sign + n(days) + "d " + n(hours) + "h " + n(minutes) + "m " + n(seconds) + "s";
        if (hours) return sign + n(hours) + "h " + n(minutes) + "m " + n(seconds) + "s";
        if (minutes) return sign + n(minutes) + "m " + n(seconds) + "s";
        return sign + format_g(v, 4) + "s";
    }
    std::string prefix;
    for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
        if (std::abs(v) >= 1) break;
        prefix = p;
        v *= 1000;
    }
    return format_g(v, 4) + prefix + "s";
}

}  // namespace cargomon::alerts::rules
