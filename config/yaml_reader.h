#pragma once
// How every YAML document of cargomon is read (the config with its alerting and actions
// sections, the web config, the HTTP client config, rule files in alerts/rules): typed
// reads of YAML nodes that expand ${ENV} and collect positioned errors instead of
// throwing, so one pass over a file reports everything wrong with it. Public: a reader of
// a new document builds on it. What only config/ itself uses is in config/detail/.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace cargomon::config {

// Expands ${VAR}, ${VAR:-default} and $$; any other $ stays as is (SQL uses $__from).
std::optional<std::string> expand_env(std::string_view text, const Environment& env, std::string* error);

// The allowed word closest to `word`, if close enough to be a plausible typo.
std::optional<std::string_view> closest(std::string_view word, const std::vector<std::string_view>& allowed);

// The keys a mapping allows (check_map, top_level), each document's tables of them.
using Keys = std::vector<std::string_view>;

class YamlReader {
public:
    YamlReader(std::string file, const Environment& env) : file_(std::move(file)), env_(env) {}

    void error(const YAML::Mark& at, std::string message);
    void error(const YAML::Node& at, std::string message) { error(at.Mark(), std::move(message)); }
    std::vector<ConfigError> take_errors() { return std::move(errors_); }
    std::size_t error_count() const { return errors_.size(); }
    const Environment& env() const { return env_; }

    // The root of a whole file, its keys checked as check_map does ("at top level"): an
    // empty file is an empty mapping (all defaults); nullopt when it is no mapping.
    std::optional<YAML::Node> top_level(const YAML::Node& document, const std::vector<std::string_view>& allowed);
    // Reports every key of a mapping that is not a string, not in `allowed` or repeated;
    // false when `node` is no mapping at all, so there is nothing to read in it.
    // `where` ends unknown-key messages: "in collector \"runs\"".
    bool check_map(const YAML::Node& node, const std::vector<std::string_view>& allowed, std::string_view where);
    // The items of a sequence; `what` is the expectation, e.g. "a list of regexes".
    std::optional<std::vector<YAML::Node>> sequence(const YAML::Node& node, std::string_view what);
    // The entries of a mapping, keys and values, as sequence() gives a list's items: no
    // mapping at all is reported "expected <what>, got ..." (nullopt); an entry whose key
    // is no scalar, "expected <key_what>, got ..." (left out).
    std::optional<std::vector<std::pair<YAML::Node, YAML::Node>>> mapping(const YAML::Node& node, std::string_view what,
                                                                         std::string_view key_what);

    // Scalars, after ${ENV} expansion. Errors quote a value only when it has the wrong
    // format, never for a plain string, so secrets read with string() stay out of them.
    std::optional<std::string> string(const YAML::Node& node);
    std::optional<std::string> non_empty_string(const YAML::Node& node, std::string_view name);
    std::optional<Millis> duration(const YAML::Node& node);
    std::optional<Millis> positive_duration(const YAML::Node& node, std::string_view name);
    std::optional<long long> integer(const YAML::Node& node);
    std::optional<long long> integer_in(const YAML::Node& node, std::string_view name, long long min, long long max);
    // A size such as 64MiB (common/text.h's parse_byte_size), between min and max.
    std::optional<std::uint64_t> byte_size(const YAML::Node& node, std::string_view name, std::uint64_t min,
                                           std::uint64_t max);
    std::optional<double> number(const YAML::Node& node);
    std::optional<bool> boolean(const YAML::Node& node);
    // Index into `choices` of the value, which must be one of them.
    std::optional<std::size_t> choice(const YAML::Node& node, const std::vector<std::string_view>& choices);
    std::optional<std::vector<std::string>> strings(const YAML::Node& node, std::string_view what);
    // A list of matchers in Alertmanager's syntax (metrics::parse_matcher), as routes and
    // action rules take them; each bad one is reported at its item and left out.
    std::vector<metrics::Matcher> matchers(const YAML::Node& node);

private:
    // The expanded text of a scalar; reports a non-scalar as "expected <expected>, got ...".
    std::optional<std::string> scalar(const YAML::Node& node, std::string_view expected);

    std::string file_;
    const Environment& env_;
    std::vector<ConfigError> errors_;
};

// The base of each reader of one document (the config, its alerting section, the web
// config, the HTTP client config): the YamlReader its errors go to, and the folder that
// relative paths in the document are relative to.
class DocumentReader {
public:
    DocumentReader(YamlReader& reader, std::filesystem::path dir) : r_(reader), dir_(std::move(dir)) {}

protected:
    // `path` relative to the document's folder; an empty or absolute one as it is.
    std::string resolve(const std::string& path) const;
    // The text of the file at `path` (resolved already) that `key` names, or nullopt with
    // the error "<key>: cannot read <path>: <reason>" at `at`.
    std::optional<std::string> read_key_file(const YAML::Node& at, std::string_view key, const std::string& path);

    YamlReader& r_;
    std::filesystem::path dir_;
};

namespace detail {
// read_document's: errors in file order, those without a position last.
void sort_errors(std::vector<ConfigError>& errors);
}  // namespace detail

// Parses `yaml_text` (named `file_name` in errors) and reads its root with
// `load(reader, root, dir)`, `dir` being the absolute folder of the file (what relative
// paths in it are relative to): the value, or every error in file order.
template <typename T, typename Load>
std::variant<T, std::vector<ConfigError>> read_document(std::string_view yaml_text, std::string_view file_name,
                                                        const Environment& env, Load load) {
    std::string file(file_name);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        return std::vector<ConfigError>{{file, e.mark.line + 1, e.mark.column + 1, e.msg}};
    }
    YamlReader reader(file, env);
    std::filesystem::path dir = std::filesystem::path(file).parent_path();
    if (dir.empty()) dir = ".";
    T value = load(reader, root, std::filesystem::absolute(dir));
    std::vector<ConfigError> errors = reader.take_errors();
    if (errors.empty()) return value;
    detail::sort_errors(errors);
    return errors;
}

// The whole file, or nullopt with the reason (strerror) in `why`.
std::optional<std::string> read_file(const std::string& path, std::string* why);

// Reads the file at `path` and parses its text with `parse` (a parse_* function built on
// read_document), naming it `path` in errors. A file that cannot be read is one error
// naming the path, without a position: "cannot read <what>: <reason>".
template <typename Result>
Result load_document(const std::string& path, std::string_view what, const Environment& env,
                     Result (*parse)(std::string_view yaml_text, std::string_view file_name, const Environment& env)) {
    std::string why;
    std::optional<std::string> text = read_file(path, &why);
    if (!text) return std::vector<ConfigError>{{path, 0, 0, "cannot read " + std::string(what) + ": " + why}};
    return parse(*text, path, env);
}

// read_document's `load` for a reader class of one document: Loader(reader, dir).load(root).
template <typename Loader>
auto load_with() {
    return [](YamlReader& reader, const YAML::Node& root, const std::filesystem::path& dir) {
        return Loader(reader, dir).load(root);
    };
}

// "a mapping", "a list", "an empty value" or the quoted scalar, for "got ..." in messages.
std::string describe(const YAML::Node& node);
std::string quote(std::string_view text);

}  // namespace cargomon::config
