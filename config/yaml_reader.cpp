#include "config/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "common/text.h"

namespace cargomon::config {
namespace {

bool is_var_name(std::string_view name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::size_t levenshtein(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::optional<std::string> expand_env(std::string_view text, const Environment& env, std::string* error) {
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t dollar = text.find('$', pos);
        if (dollar == std::string_view::npos || dollar + 1 == text.size()) {
            out.append(text.substr(pos));
            break;
        }
        out.append(text.substr(pos, dollar - pos));
        char next = text[dollar + 1];
        if (next == '$') {
            out += '$';
            pos = dollar + 2;
            continue;
        }
        if (next != '{') {
            out += '$';
            pos = dollar + 1;
            continue;
        }
        std::size_t close = text.find('}', dollar);
        if (close == std::string_view::npos) {
            *error = "unterminated \"${\" (write $$ for a literal $)";
            return std::nullopt;
        }
        std::string_view inside = text.substr(dollar + 2, close - dollar - 2);
        std::size_t sep = inside.find(":-");
        std::string_view name = inside.substr(0, sep);
        if (!is_var_name(name)) {
            *error = "bad environment variable name " + quote(name) + " in \"${...}\"";
            return std::nullopt;
        }
        std::optional<std::string> value = env.get(std::string(name));
        if (sep != std::string_view::npos) {
            if (!value || value->empty()) value = std::string(inside.substr(sep + 2));
        } else if (!value) {
            *error = "environment variable " + quote(name) + " is not set (use ${" + std::string(name) +
                     ":-default} for a fallback)";
            return std::nullopt;
        }
        out += *value;
        pos = close + 1;
    }
    return out;
}

std::optional<std::string_view> closest(std::string_view word, const std::vector<std::string_view>& allowed) {
    std::optional<std::string_view> best;
    std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
    for (std::string_view candidate : allowed) {
        std::size_t d = levenshtein(word, candidate);
        if (d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    if (best || word.size() < 3) return best;
    // A shortened name ("workflow" for "workflow_uuid") is too far for the distance above.
    for (std::string_view candidate : allowed)
        if (candidate.starts_with(word)) return candidate;
    return best;
}

void detail::sort_errors(std::vector<ConfigError>& errors) {
    std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
        auto key = [](const ConfigError& e) { return std::pair(e.line == 0 ? INT_MAX : e.line, e.column); };
        return key(a) < key(b);
    });
}

std::string quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string DocumentReader::resolve(const std::string& path) const {
    if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
    return (dir_ / path).lexically_normal().string();
}

std::optional<std::string> DocumentReader::read_key_file(const YAML::Node& at, std::string_view key,
                                                         const std::string& path) {
    std::string why;
    std::optional<std::string> text = read_file(path, &why);
    if (!text) r_.error(at, std::string(key) + ": cannot read " + quote(path) + ": " + why);
    return text;
}

std::optional<std::string> read_file(const std::string& path, std::string* why) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        *why = std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Sequence: return "a sequence";
        case YAML::NodeType::Scalar: return quote(node.Scalar());
        default: return "an empty value";
    }
}

void YamlReader::error(const YAML::Mark& at, std::string message) {
    // yaml-cpp counts from 0; a node without a position (-1) becomes 0 = no position.
    errors_.push_back({file_, at.line + 1, at.column + 1, std::move(message)});
}

std::optional<YAML::Node> YamlReader::top_level(const YAML::Node& document,
                                                const std::vector<std::string_view>& allowed) {
    const YAML::Node root = document.IsNull() ? YAML::Node(YAML::NodeType::Map) : document;
    if (!check_map(root, allowed, "at top level")) return std::nullopt;
    return root;
}

bool YamlReader::check_map(const YAML::Node& node, const std::vector<std::string_view>& allowed,
                           std::string_view where) {
    if (!node.IsMap()) {
        error(node, "expected a mapping, got " + describe(node));
        return false;
    }
    std::map<std::string, int> seen;  // key -> line
    for (const auto& entry : node) {
        const YAML::Node& key = entry.first;
        if (!key.IsScalar()) {
            error(key, "expected a key name, got " + describe(key));
            continue;
        }
        const std::string& name = key.Scalar();
        if (auto [first, inserted] = seen.emplace(name, key.Mark().line + 1); !inserted) {
            error(key, "duplicate key " + quote(name) + " (first at line " + std::to_string(first->second) + ")");
        }
        if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
        std::string message = "unknown key " + quote(name);
        if (!where.empty()) message += " " + std::string(where);
        if (auto guess = closest(name, allowed)) message += " (did you mean " + quote(*guess) + "?)";
        error(key, std::move(message));
    }
    return true;
}

std::optional<std::vector<YAML::Node>> YamlReader::sequence(const YAML::Node& node, std::string_view what) {
    if (!node.IsSequence()) {
        error(node, "expected " + std::string(what) + ", got " + describe(node));
        return std::nullopt;
    }
    return std::vector<YAML::Node>(node.begin(), node.end());
}

std::optional<std::vector<std::pair<YAML::Node, YAML::Node>>> YamlReader::mapping(const YAML::Node& node,
                                                                                    std::string_view what,
                                                                                    std::string_view key_what) {
    if (!node.IsMap()) {
        error(node, "expected " + std::string(what) + ", got " + describe(node));
        return std::nullopt;
    }
    std::vector<std::pair<YAML::Node, YAML::Node>> entries;
    for (const auto& entry : node) {
        if (entry.first.IsScalar())
            entries.emplace_back(entry.first, entry.second);
        else
            error(entry.first, "expected " + std::string(key_what) + ", got " + describe(entry.first));
    }
    return entries;
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& node, std::string_view expected) {
    if (!node.IsScalar()) {
        error(node, "expected " + std::string(expected) + ", got " + describe(node));
        return std::nullopt;
    }
    std::string why;
    auto expanded = expand_env(node.Scalar(), env_, &why);
    if (!expanded) error(node, why);
    return expanded;
}

std::optional<std::string> YamlReader::string(const YAML::Node& node) { return scalar(node, "a string"); }

std::optional<std::string> YamlReader::non_empty_string(const YAML::Node& node, std::string_view name) {
    auto text = string(node);
    if (text && text->empty()) {
        error(node, std::string(name) + " must not be empty");
        return std::nullopt;
    }
    return text;
}

std::optional<Millis> YamlReader::duration(const YAML::Node& node) {
    auto text = scalar(node, "a duration like 30s");
    if (!text) return std::nullopt;
    std::string why;
    auto d = parse_duration(*text, &why);
    if (!d) error(node, "bad duration " + quote(*text) + ": " + why);
    return d;
}

std::optional<Millis> YamlReader::positive_duration(const YAML::Node& node, std::string_view name) {
    auto d = duration(node);
    if (d && d->count() <= 0) {
        error(node, std::string(name) + " must be greater than 0");
        return std::nullopt;
    }
    return d;
}

std::optional<long long> YamlReader::integer(const YAML::Node& node) {
    auto text = scalar(node, "an integer");
    if (!text) return std::nullopt;
    long long value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || end != text->data() + text->size()) {
        error(node, "expected an integer, got " + quote(*text));
        return std::nullopt;
    }
    return value;
}

std::optional<long long> YamlReader::integer_in(const YAML::Node& node, std::string_view name, long long min,
                                                long long max) {
    auto value = integer(node);
    if (value && (*value < min || *value > max)) {
        error(node, std::string(name) + " must be between " + std::to_string(min) + " and " + std::to_string(max) +
                        ", got " + std::to_string(*value));
        return std::nullopt;
    }
    return value;
}

std::optional<std::uint64_t> YamlReader::byte_size(const YAML::Node& node, std::string_view name, std::uint64_t min,
                                                   std::uint64_t max) {
    auto text = scalar(node, "a size in bytes");
    if (!text) return std::nullopt;
    auto value = parse_byte_size(*text);
    if (!value) {
        error(node, std::string(name) + " expects a size in bytes such as 64MiB (a whole number, optionally KiB, " +
                        "MiB, GiB or TiB), got " + quote(*text));
        return std::nullopt;
    }
    if (*value < min || *value > max) {
        error(node, std::string(name) + " must be between " + format_byte_size(min) + " and " + format_byte_size(max) +
                        ", got " + quote(*text));
        return std::nullopt;
    }
    return value;
}

std::optional<double> YamlReader::number(const YAML::Node& node) {
    auto text = scalar(node, "a number");
    if (!text) return std::nullopt;
    double value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || end != text->data() + text->size() || !std::isfinite(value)) {
        error(node, "expected a number, got " + quote(*text));
        return std::nullopt;
    }
    return value;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& node) {
    auto text = scalar(node, "true or false");
    if (!text) return std::nullopt;
    if (*text == "true") return true;
    if (*text == "false") return false;
    error(node, "expected true or false, got " + quote(*text));
    return std::nullopt;
}

std::optional<std::size_t> YamlReader::choice(const YAML::Node& node, const std::vector<std::string_view>& choices) {
    std::string expected = "one of ";
    for (std::size_t i = 0; i < choices.size(); ++i) expected += (i ? ", " : "") + std::string(choices[i]);
    auto text = scalar(node, expected);
    if (!text) return std::nullopt;
    auto found = std::find(choices.begin(), choices.end(), *text);
    if (found != choices.end()) return static_cast<std::size_t>(found - choices.begin());
    std::string message = "expected " + expected + ", got " + quote(*text);
    if (auto guess = closest(*text, choices)) message += " (did you mean " + quote(*guess) + "?)";
    error(node, std::move(message));
    return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::strings(const YAML::Node& node, std::string_view what) {
    auto items = sequence(node, what);
    if (!items) return std::nullopt;
    std::vector<std::string> out;
    bool ok = true;
    for (const YAML::Node& item : *items) {
        auto text = string(item);
        if (text)
            out.push_back(std::move(*text));
        else
            ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
}

std::vector<metrics::Matcher> YamlReader::matchers(const YAML::Node& node) {
    std::vector<metrics::Matcher> out;
    auto items = sequence(node, "a list of matchers");
    if (!items) return out;
    for (const YAML::Node& item : *items) {
        std::optional<std::string> text = string(item);
        if (!text) continue;
        auto parsed = metrics::parse_matcher(*text);
        if (auto* m = std::get_if<metrics::Matcher>(&parsed))
            out.push_back(std::move(*m));
        else
            error(item, std::get<std::string>(parsed));
    }
    return out;
}

}  // namespace cargomon::config
