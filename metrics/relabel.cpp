#include "metrics/relabel.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "common/text.h"
#include "metrics/labels.h"

namespace cargomon::metrics {
namespace {

constexpr std::array<std::pair<std::string_view, RelabelAction>, 9> kActions{{
    {"replace", RelabelAction::replace},
    {"keep", RelabelAction::keep},
    {"drop", RelabelAction::drop},
    {"keepequal", RelabelAction::keepequal},
    {"dropequal", RelabelAction::dropequal},
    {"hashmod", RelabelAction::hashmod},
    {"labelmap", RelabelAction::labelmap},
    {"labeldrop", RelabelAction::labeldrop},
    {"labelkeep", RelabelAction::labelkeep},
}};

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// A label name with $-references in it: what Prometheus allows as replace's target_label
// and labelmap's replacement (its relabelTarget pattern).
bool is_target_template(std::string_view text) {
    static const re2::RE2 pattern(R"((?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+)");
    return re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), pattern);
}

// Label set edits as Prometheus' labels.Builder makes them: an empty value removes the label.
void put(Labels& labels, const std::string& name, std::string value) {
    if (value.empty())
        std::erase_if(labels, [&](const auto& label) { return label.first == name; });
    else
        set_label(labels, name, std::move(value));
}

std::string joined_sources(const Labels& labels, const RelabelConfig& config) {
    std::string out;
    for (std::size_t i = 0; i < config.source_labels.size(); ++i) {
        if (i) out += config.separator;
        out += label_value(labels, config.source_labels[i]);
    }
    return out;
}

}  // namespace

std::string_view relabel_action_name(RelabelAction action) {
    for (const auto& [name, a] : kActions)
        if (a == action) return name;
    return "replace";
}

std::optional<RelabelAction> relabel_action(std::string_view name) {
    for (const auto& [n, a] : kActions)
        if (n == name) return a;
    return std::nullopt;
}

std::variant<RelabelConfig, RelabelError> make_relabel_config(RelabelConfig config) {
    // Syntax and bounds are checked on the regex as written, so errors quote it so.
    auto checked = compile_regex(config.regex);
    if (auto* error = std::get_if<std::string>(&checked)) return RelabelError{"regex", *error};
    auto anchored = compile_regex("^(?:" + config.regex + ")$", RegexCaptures::keep);
    if (auto* error = std::get_if<std::string>(&anchored)) return RelabelError{"regex", *error};
    config.compiled = std::get<0>(std::move(anchored));

    for (const std::string& name : config.source_labels)
        if (!is_label_name(name)) return RelabelError{"source_labels", quoted(name) + " is not a label name"};
    const RelabelConfig defaults;
    const std::string action(relabel_action_name(config.action));
    auto only = [&](std::string what) { return RelabelError{"", action + " takes " + what + ", and no other field"}; };
    switch (config.action) {
        case RelabelAction::replace:
            if (config.target_label.empty()) return RelabelError{"", "replace needs a target_label"};
            if (!is_target_template(config.target_label))
                return RelabelError{"target_label", quoted(config.target_label) +
                                                        " is not a label name (which may hold $ references)"};
            break;
        case RelabelAction::hashmod:
            if (config.modulus == 0) return RelabelError{"modulus", "hashmod needs a modulus above 0"};
            if (!is_label_name(config.target_label))
                return RelabelError{config.target_label.empty() ? "" : "target_label",
                                    "hashmod needs a target_label that is a label name"};
            break;
        case RelabelAction::keepequal:
        case RelabelAction::dropequal:
            if (!is_label_name(config.target_label))
                return RelabelError{config.target_label.empty() ? "" : "target_label",
                                    action + " needs a target_label that is a label name"};
            if (config.regex != defaults.regex || config.modulus != defaults.modulus ||
                config.separator != defaults.separator || config.replacement != defaults.replacement)
                return only("source_labels and target_label");
            break;
        case RelabelAction::labelmap:
            if (!is_target_template(config.replacement))
                return RelabelError{"replacement", quoted(config.replacement) +
                                                       " is not a label name (which may hold $ references)"};
            break;
        case RelabelAction::labeldrop:
        case RelabelAction::labelkeep:
            if (!config.source_labels.empty() || config.target_label != defaults.target_label ||
                config.modulus != defaults.modulus || config.separator != defaults.separator ||
                config.replacement != defaults.replacement)
                return only("a regex (matched against label names)");
            break;
        case RelabelAction::keep:
        case RelabelAction::drop: break;
    }
    return config;
}

std::string expand_template(std::string_view tmpl, const re2::RE2& re, const std::vector<re2::StringPiece>& groups) {
    std::string out;
    for (std::size_t i = 0; i < tmpl.size();) {
        const std::size_t dollar = tmpl.find('$', i);
        if (dollar == std::string_view::npos) {
            out.append(tmpl.substr(i));
            break;
        }
        out.append(tmpl.substr(i, dollar - i));
        i = dollar + 1;
        if (i < tmpl.size() && tmpl[i] == '$') {
            out += '$';
            ++i;
            continue;
        }
        std::size_t j = i;
        const bool braced = j < tmpl.size() && tmpl[j] == '{';
        if (braced) ++j;
        const std::size_t start = j;
        while (j < tmpl.size() && is_name_char(tmpl[j])) ++j;
        const std::string_view name = tmpl.substr(start, j - start);
        if (name.empty() || (braced && (j >= tmpl.size() || tmpl[j] != '}'))) {
            out += '$';  // malformed: the dollar is text, and what follows is read on
            continue;
        }
        i = braced ? j + 1 : j;
        int index = -1;
        const bool numeric = std::all_of(name.begin(), name.end(), [](char d) { return d >= '0' && d <= '9'; });
        if (numeric && (name.size() == 1 || name[0] != '0') && name.size() <= 8) {
            std::from_chars(name.data(), name.data() + name.size(), index);
        } else {
            const auto& named = re.NamedCapturingGroups();
            if (auto found = named.find(std::string(name)); found != named.end()) index = found->second;
        }
        if (index >= 0 && static_cast<std::size_t>(index) < groups.size() && groups[index].data())
            out.append(groups[index].data(), groups[index].size());
    }
    return out;
}

bool relabel(Labels& labels, const std::vector<RelabelConfig>& configs) {
    std::vector<re2::StringPiece> groups;
    for (const RelabelConfig& config : configs) {
        if (!config.compiled) throw std::logic_error("relabel: a RelabelConfig not made by make_relabel_config");
        const re2::RE2& re = *config.compiled;
        groups.assign(static_cast<std::size_t>(re.NumberOfCapturingGroups()) + 1, re2::StringPiece());
        // Whether `text` matches, its groups in `groups`.
        auto match = [&](std::string_view text) {
            return re.Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), re2::RE2::UNANCHORED,
                            groups.data(), static_cast<int>(groups.size()));
        };
        const std::string value = joined_sources(labels, config);
        switch (config.action) {
            case RelabelAction::keep:
                if (!match(value)) return false;
                break;
            case RelabelAction::drop:
                if (match(value)) return false;
                break;
            case RelabelAction::keepequal:
                if (label_value(labels, config.target_label) != value) return false;
                break;
            case RelabelAction::dropequal:
                if (label_value(labels, config.target_label) == value) return false;
                break;
            case RelabelAction::replace: {
                if (!match(value)) break;
                const std::string target = expand_template(config.target_label, re, groups);
                if (!is_label_name(target)) break;
                put(labels, target, expand_template(config.replacement, re, groups));
                break;
            }
            case RelabelAction::hashmod:
                put(labels, config.target_label, std::to_string(hashmod(value, config.modulus)));
                break;
            case RelabelAction::labelmap: {
                const Labels before = labels;  // each label as it was, whatever earlier ones set
                for (const auto& [name, v] : before) {
                    if (!match(name)) continue;
                    const std::string mapped = expand_template(config.replacement, re, groups);
                    if (is_label_name(mapped)) put(labels, mapped, v);
                }
                break;
            }
            case RelabelAction::labeldrop:
                std::erase_if(labels, [&](const auto& label) { return match(label.first); });
                break;
            case RelabelAction::labelkeep:
                std::erase_if(labels, [&](const auto& label) { return !match(label.first); });
                break;
        }
    }
    return true;
}

std::uint64_t hashmod(std::string_view value, std::uint64_t modulus) {
    if (modulus == 0) throw std::invalid_argument("hashmod: modulus 0");
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(value.data(), value.size(), digest, &length, EVP_md5(), nullptr) != 1 || length != 16)
        throw std::runtime_error("hashmod: MD5 is not available from OpenSSL");
    std::uint64_t tail = 0;
    for (unsigned int i = 8; i < 16; ++i) tail = (tail << 8) | digest[i];
    return tail % modulus;
}

}  // namespace cargomon::metrics
