#pragma once
// Label sets, label names and label matchers: the one place cargomon looks up, renders
// and validates labels, and the one way it decides whether a label value is selected,
// shared by PromQL selectors, routes, silences and the silence CLI, so `=~` means the
// same everywhere. Regexes are RE2 (Go's syntax, as in Prometheus and
// Alertmanager), which matches in time linear in the input: no pattern can pin a core,
// so matching needs no timeout and may run where latency matters.
//
// Thread-safety: a Matcher is immutable after make_matcher/parse_matcher and may be
// used from any number of threads at once (RE2 matching is thread-safe); copies share
// the compiled program.
#include <rapidjson/fwd.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include "metrics/model.h"

namespace re2 {
class RE2;
}

namespace cargomon::metrics {

// Prometheus' label name syntax, [a-zA-Z_][a-zA-Z0-9_]*; reserved names such as
// __name__ pass (a selector, a rule or a route may name them).
bool is_label_name(std::string_view name);
// What an exposition may carry: is_label_name without a leading "__" (reserved).
bool is_valid_label_name(std::string_view name);

// The value of label `name`, or nullptr when the set has none (Prometheus' Labels.Get,
// which cannot tell a missing label from an empty one; this can).
const std::string* find_label(const Labels& labels, std::string_view name);
// The value of label `name`, "" when the set has none: a missing label reads as empty,
// as it does in matchers and templates.
std::string_view label_value(const Labels& labels, std::string_view name);
// Sets label `name` in a sorted set, where it sorts (replacing its value if present).
void set_label(Labels& labels, const std::string& name, std::string value);
// The set without its metric name (__name__), as a rule's alert and a series' text take it.
Labels without_name(Labels labels);

// Prometheus' labels.String(): {a="1", b="2"}, each value quoted as PromQL writes it
// (common/text.h quoted()). For people: logs, errors, `rules preview`.
std::string labels_text(const Labels& labels);

// Longer patterns are refused before RE2 sees them: every one comes from a config file or
// the silence API, and none has a reason to be this long.
inline constexpr std::size_t kMaxRegexLength = 4096;

// Whether a compiled regex keeps its capture groups: only relabelling's replacements
// read them, and a program without them is smaller and faster.
enum class RegexCaptures { drop, keep };

// Compiles `pattern` (unanchored, Go RE2 syntax) with a bounded program size; a pattern
// over kMaxRegexLength or RE2's memory budget comes back as an error, as does bad syntax.
// The error reads `bad regex "<pattern>": <RE2's reason>`.
std::variant<std::shared_ptr<const re2::RE2>, std::string> compile_regex(std::string_view pattern,
                                                                         RegexCaptures captures = RegexCaptures::drop);

// `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"`. Regexes are fully
// anchored as in Prometheus (`^(?:regex)$`), so `billing-.*` does not match
// `old-billing-x`; `(?i)` makes them case-insensitive. A missing label matches as "".
class Matcher {
public:
    enum class Op { equal, not_equal, regex, not_regex };

    const std::string& name() const { return name_; }
    Op op() const { return op_; }
    const std::string& value() const { return value_; }
    bool is_regex() const { return op_ == Op::regex || op_ == Op::not_regex; }

    bool matches(std::string_view label_value) const;
    bool matches(const Labels& labels) const;
    // Prometheus' form: name="value" with the value quoted as PromQL writes it.
    std::string to_string() const;
    // Same name, op and value: the compiled form follows from them.
    bool operator==(const Matcher& other) const {
        return name_ == other.name_ && op_ == other.op_ && value_ == other.value_;
    }

private:
    friend std::variant<Matcher, std::string> make_matcher(std::string name, Op op, std::string value);
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    using Literals = std::unordered_set<std::string, Hash, std::equal_to<>>;

    std::string name_;
    Op op_ = Op::equal;
    std::string value_;
    // Regex ops only, exactly one set: a pattern that is an alternation of plain words
    // (a|b|c, the common case in rules) matches by set lookup instead of running RE2.
    std::shared_ptr<const re2::RE2> re_;
    std::shared_ptr<const Literals> literals_;
};

// Never throws; errors come back as text naming the matcher: `matcher "a": bad regex ...`,
// `matcher: "1x" is not a label name`.
std::variant<Matcher, std::string> make_matcher(std::string name, Matcher::Op op, std::string value);
// Alertmanager/amtool syntax: `name="value"`, `name=~"re"`, `name != value` (unquoted values
// run to the end of the text; quoted ones take \" \\ \n escapes).
std::variant<Matcher, std::string> parse_matcher(std::string_view text);

bool matches_all(const std::vector<Matcher>& matchers, const Labels& labels);

// Matchers as JSON, Alertmanager's matcher objects: [{"name", "value", "isRegex", "isEqual"}].
// The one shape of the silence API (web/api.h), its command-line client and the silences
// table. Reading, a missing isRegex means false and a missing isEqual true, as in
// Alertmanager's API; errors name what is wrong ("matchers: ...", or make_matcher's).
std::string matchers_to_json(const std::vector<Matcher>& matchers);
std::variant<Matcher, std::string> matcher_from_json(const rapidjson::Value& object);
std::variant<std::vector<Matcher>, std::string> matchers_from_json(const rapidjson::Value& array);

// The one shape of a label set on disk (alert state, counter totals): a JSON object,
// {"name":"value",...}, in the set's order, as Prometheus' and Alertmanager's APIs
// write labels. labels_from_json gives nullopt for anything else (another shape, a
// non-string value, a repeated name, a document nested past common/json's bound).
std::string labels_to_json(const Labels& labels);
// The same object written into a document being built (API answers, notification bodies).
void write_labels_json(rapidjson::Writer<rapidjson::StringBuffer>& w, const Labels& labels);
std::optional<Labels> labels_from_json(std::string_view json);

}  // namespace cargomon::metrics
