#include "metrics/labels.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "common/json.h"
#include "common/text.h"

namespace cargomon::metrics {
namespace {

// RE2's budget for one compiled program (its default is 8 MiB): enough for any
// alternation of a few thousand words, small enough that thousands of silences stay cheap.
constexpr int64_t kMaxRegexMemory = 1 << 20;

bool is_word_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Characters that mean themselves in RE2 and cannot start a construct, so a pattern made
// of them and '|' is a set of literal alternatives.
bool is_plain(char c) {
    return is_word_char(c) || c == '-' || c == ' ' || c == ':' || c == '/' || c == '=' || c == ',';
}

}  // namespace

bool is_label_name(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    return std::all_of(name.begin(), name.end(), is_word_char);
}

bool is_valid_label_name(std::string_view name) { return is_label_name(name) && !name.starts_with("__"); }

const std::string* find_label(const Labels& labels, std::string_view name) {
    for (const auto& [k, v] : labels)
        if (k == name) return &v;
    return nullptr;
}

std::string_view label_value(const Labels& labels, std::string_view name) {
    const std::string* value = find_label(labels, name);
    return value ? std::string_view(*value) : std::string_view();
}

void set_label(Labels& labels, const std::string& name, std::string value) {
    auto it = std::lower_bound(labels.begin(), labels.end(), name,
                               [](const auto& label, const std::string& n) { return label.first < n; });
    if (it != labels.end() && it->first == name)
        it->second = std::move(value);
    else
        labels.emplace(it, name, std::move(value));
}

Labels without_name(Labels labels) {
    std::erase_if(labels, [](const auto& label) { return label.first == "__name__"; });
    return labels;
}

std::string labels_text(const Labels& labels) {
    std::string text = "{";
    for (const auto& [name, value] : labels) {
        if (text.size() > 1) text += ", ";
        text += name + "=" + quoted(value);
    }
    return text + "}";
}

std::variant<std::shared_ptr<const re2::RE2>, std::string> compile_regex(std::string_view pattern,
                                                                         RegexCaptures captures) {
    if (pattern.size() > kMaxRegexLength) {
        return "bad regex of " + std::to_string(pattern.size()) + " bytes: longer than " +
               std::to_string(kMaxRegexLength);
    }
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(kMaxRegexMemory);
    options.set_never_capture(captures == RegexCaptures::drop);
    auto re = std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
    if (!re->ok()) return "bad regex " + quoted(pattern) + ": " + re->error();
    return re;
}

bool Matcher::matches(std::string_view label_value) const {
    switch (op_) {
        case Op::equal: return label_value == value_;
        case Op::not_equal: return label_value != value_;
        case Op::regex:
        case Op::not_regex: {
            // FullMatch anchors the pattern as a whole, which is Prometheus' ^(?:re)$ without
            // the text splice that would let "a)|(b" escape the anchors.
            bool hit = literals_ ? literals_->contains(label_value)
                                 : re2::RE2::FullMatch(re2::StringPiece(label_value.data(), label_value.size()), *re_);
            return hit == (op_ == Op::regex);
        }
    }
    return false;
}

bool Matcher::matches(const Labels& labels) const { return matches(label_value(labels, name_)); }

std::string Matcher::to_string() const {
    static constexpr std::string_view ops[] = {"=", "!=", "=~", "!~"};
    return name_ + std::string(ops[static_cast<int>(op_)]) + quoted(value_);
}

std::variant<Matcher, std::string> make_matcher(std::string name, Matcher::Op op, std::string value) {
    if (!is_label_name(name)) return "matcher: " + quoted(name) + " is not a label name";
    Matcher m;
    m.name_ = std::move(name);
    m.op_ = op;
    m.value_ = std::move(value);
    if (!m.is_regex()) return m;
    if (std::all_of(m.value_.begin(), m.value_.end(), [](char c) { return c == '|' || is_plain(c); })) {
        auto set = std::make_shared<Matcher::Literals>();
        std::string_view rest = m.value_;
        for (;;) {
            auto bar = rest.find('|');
            set->emplace(rest.substr(0, bar));
            if (bar == std::string_view::npos) break;
            rest.remove_prefix(bar + 1);
        }
        m.literals_ = std::move(set);
        return m;
    }
    auto compiled = compile_regex(m.value_);
    if (auto* error = std::get_if<std::string>(&compiled)) return "matcher " + quoted(m.name_) + ": " + *error;
    m.re_ = std::get<0>(std::move(compiled));
    return m;
}

std::variant<Matcher, std::string> parse_matcher(std::string_view text) {
    std::string_view s = trim(text);
    std::size_t i = 0;
    while (i < s.size() && is_word_char(s[i])) ++i;
    std::string name(s.substr(0, i));
    std::string_view rest = trim(s.substr(i));
    Matcher::Op op;
    if (rest.starts_with("=~")) op = Matcher::Op::regex;
    else if (rest.starts_with("!~")) op = Matcher::Op::not_regex;
    else if (rest.starts_with("!=")) op = Matcher::Op::not_equal;
    else if (rest.starts_with("=")) op = Matcher::Op::equal;
    else return "matcher " + quoted(text) + ": expected name, then =, !=, =~ or !~, then a value";
    rest = trim(rest.substr(op == Matcher::Op::equal ? 1 : 2));
    std::string value;
    if (rest.starts_with('"')) {
        std::size_t j = 1;
        for (; j < rest.size() && rest[j] != '"'; ++j) {
            if (rest[j] == '\\' && j + 1 < rest.size()) {
                ++j;
                value += rest[j] == 'n' ? '\n' : rest[j];
            } else {
                value += rest[j];
            }
        }
        if (j + 1 != rest.size()) return "matcher " + quoted(text) + ": unterminated quote or text after the value";
    } else {
        value = std::string(rest);
    }
    return make_matcher(std::move(name), op, std::move(value));
}

bool matches_all(const std::vector<Matcher>& matchers, const Labels& labels) {
    return std::all_of(matchers.begin(), matchers.end(), [&](const Matcher& m) { return m.matches(labels); });
}

std::string matchers_to_json(const std::vector<Matcher>& matchers) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartArray();
    for (const Matcher& m : matchers) {
        w.StartObject();
        w.Key("name");
        w.String(m.name());
        w.Key("value");
        w.String(m.value());
        w.Key("isRegex");
        w.Bool(m.is_regex());
        w.Key("isEqual");
        w.Bool(m.op() == Matcher::Op::equal || m.op() == Matcher::Op::regex);
        w.EndObject();
    }
    w.EndArray();
    return buffer.GetString();
}

std::variant<Matcher, std::string> matcher_from_json(const rapidjson::Value& item) {
    if (!item.IsObject() || !item.HasMember("name") || !item["name"].IsString() || !item.HasMember("value") ||
        !item["value"].IsString()) {
        return std::string("matchers: every matcher needs string name and value");
    }
    auto flag = [&](const char* key, bool fallback) -> std::optional<bool> {
        if (!item.HasMember(key)) return fallback;
        if (!item[key].IsBool()) return std::nullopt;
        return item[key].GetBool();
    };
    std::optional<bool> is_regex = flag("isRegex", false), is_equal = flag("isEqual", true);
    if (!is_regex || !is_equal) return std::string("matchers: isRegex and isEqual must be true or false");
    Matcher::Op op = *is_regex ? (*is_equal ? Matcher::Op::regex : Matcher::Op::not_regex)
                               : (*is_equal ? Matcher::Op::equal : Matcher::Op::not_equal);
    return make_matcher(item["name"].GetString(), op, item["value"].GetString());
}

std::variant<std::vector<Matcher>, std::string> matchers_from_json(const rapidjson::Value& array) {
    if (!array.IsArray()) return std::string("matchers: expected a list of {name, value, isRegex, isEqual}");
    std::vector<Matcher> out;
    for (const auto& item : array.GetArray()) {
        auto m = matcher_from_json(item);
        if (auto* error = std::get_if<std::string>(&m)) return *error;
        out.push_back(std::get<Matcher>(std::move(m)));
    }
    return out;
}

void write_labels_json(rapidjson::Writer<rapidjson::StringBuffer>& w, const Labels& labels) {
    w.StartObject();
    for (const auto& [name, value] : labels) {
        w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
        w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    }
    w.EndObject();
}

std::string labels_to_json(const Labels& labels) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    write_labels_json(w, labels);
    return {buffer.GetString(), buffer.GetSize()};
}

std::optional<Labels> labels_from_json(std::string_view json) {
    rapidjson::Document doc;
    if (parse_json(json, doc) || !doc.IsObject()) return std::nullopt;
    Labels labels;
    std::set<std::string_view> seen;
    for (const auto& m : doc.GetObject()) {
        if (!m.value.IsString()) return std::nullopt;
        std::string_view name(m.name.GetString(), m.name.GetStringLength());
        if (!seen.insert(name).second) return std::nullopt;
        labels.emplace_back(std::string(name), std::string(m.value.GetString(), m.value.GetStringLength()));
    }
    return labels;
}

}  // namespace cargomon::metrics
