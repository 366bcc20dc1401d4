#include "daemon/cli/export.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include "cargo/download.h"
#include "common/atomic_file.h"
#include "common/cli.h"
#include "common/duration.h"
#include "common/json.h"
#include "common/log.h"
#include "common/text.h"
#include "common/timefmt.h"
#include "daemon/cli/api_session.h"
#include "daemon/cli/path_flags.h"

namespace cargomon::cli {
namespace {

constexpr const char* kUsage = R"(usage: cargomon export runs --workflow=UUID [run filters] [--output=FILE]
       cargomon export outputs --workflow=UUID [--node=SLUG] [--format=csv|json] [run filters] [--output=FILE]
       cargomon export batch BATCH_UUID [--node=SLUG] [--output=FILE]
       cargomon export segment --model=UUID [--filter=EXPR ...] [--match=all|any] [--sort=COLUMN[:desc],...] [--limit=N] [--output=FILE]
       cargomon export query --sql=SQL [--format=csv|jsonl] [--output=FILE]

Downloads from the Cargo API to FILE (default: a name in the current folder, printed;
"-" for stdout), written whole or not at all. runs: runs/download, as plain CSV (the
API's gzip is undone). outputs: each run's output on a node (default: the last node of
the workflow's deployed release), paged past the API's 10,000 runs. batch: a finished
batch's outputs. segment: a model's records. query: ad-hoc SQL, paged past the API's
10,000 rows. Run filters: --status, --batch, --release, --record-id, --created-after,
--created-before. Exit 0 written, 1 nothing to export, 2 usage or API error.
See docs/export.md.

)";

// The API's page for runs/download-outputs (over it: tooManyRuns) and a query's cap on
// result rows (over it: Code 396); exports page by this many.
constexpr int kPage = 10'000;
// An API message is printed cut to this length, control characters replaced.
constexpr std::size_t kMaxMessage = 300;

struct Options {
    std::string command;
    std::string batch_uuid;
    std::string config_file;
    std::string output;
    std::string output_mode = "0600";
    mode_t mode = 0600;
    std::string workflow;
    std::string statuses;
    std::string batch;
    std::string release;
    std::string record_id;
    std::string created_after;
    std::string created_before;
    std::string node;
    std::string format = "csv";
    std::string model;
    std::vector<std::string> filters;
    std::string match = "all";
    std::string sort;
    int limit = 0;
    std::string sql;
};

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        if (auto part = trim(std::string_view(text).substr(start, end - start)); !part.empty()) out.emplace_back(part);
        start = end + 1;
    }
    return out;
}

// --output.mode: permission bits in octal (600, 0640); no setuid, setgid or sticky bit.
mode_t parse_mode(const std::string& text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 8);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > 0777)
        throw UsageError("--output.mode wants permissions in octal such as 0600 or 0640, got \"" +
                         printable(text, kMaxMessage) + "\"");
    return static_cast<mode_t>(value);
}

bool parse_options(const std::vector<std::string>& args, Options& o, std::ostream& out) {
    auto app = make_app(kUsage, '=', 26);
    app->add_option("COMMAND", o.command, "runs, outputs, batch, segment or query");
    app->add_option("BATCH_UUID", o.batch_uuid, "batch: the batch");
    add_config_file_flag(*app, o.config_file, "configuration file (the API URL, token, client)");
    app->add_option("--output", o.output, "where to write; - for stdout (default: a name in the\ncurrent folder)")
        ->type_name("FILE");
    app->add_option("--output.mode", o.output_mode, "the file's permissions, in octal, whatever the umask")
        ->type_name("MODE")
        ->default_str(o.output_mode);
    app->add_option("--workflow", o.workflow, "runs, outputs: the workflow (required)")->type_name("UUID");
    app->add_option("--status", o.statuses, "runs, outputs: run statuses, comma-separated (error,cancelled)")
        ->type_name("LIST");
    app->add_option("--batch", o.batch, "runs, outputs: runs of this batch")->type_name("UUID");
    app->add_option("--release", o.release, "runs, outputs: runs of this release")->type_name("UUID");
    app->add_option("--record-id", o.record_id, "runs, outputs: runs of this record")->type_name("ID");
    app->add_option("--created-after", o.created_after,
                    "runs, outputs: runs created at or after TIME (ISO-8601,\nor a duration ago: 24h)")
        ->type_name("TIME");
    app->add_option("--created-before", o.created_before,
                    "runs, outputs: runs created before TIME (default for\noutputs: now, so paging sees a fixed set)")
        ->type_name("TIME");
    app->add_option("--node", o.node,
                    "outputs, batch: the output node (default: the last node\nof the workflow's deployed release)")
        ->type_name("SLUG");
    app->add_option("--format", o.format, "outputs: csv or json; query: csv or jsonl")
        ->type_name("FORMAT")
        ->default_str(o.format);
    app->add_option("--model", o.model, "segment: the model (required)")->type_name("UUID");
    app->add_option("--filter", o.filters, "segment: a condition, repeatable: COLUMN OP VALUE\n(docs/export.md)")
        ->type_name("EXPR")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app->add_option("--match", o.match, "segment: records matching all or any of the filters")
        ->type_name("HOW")
        ->default_str(o.match);
    app->add_option("--sort", o.sort, "segment: columns, comma-separated, each COLUMN[:asc|desc]")
        ->type_name("LIST");
    app->add_option("--limit", o.limit, "segment: at most N records")->type_name("N");
    app->add_option("--sql", o.sql, "query: the SELECT to run (ClickHouse SQL, no FORMAT)")->type_name("SQL");
    finish(*app);
    if (!parse(*app, args, out, UnknownFlag::whole)) return false;

    static const std::vector<std::string> kCommands = {"runs", "outputs", "batch", "segment", "query"};
    if (std::find(kCommands.begin(), kCommands.end(), o.command) == kCommands.end())
        throw UsageError(o.command.empty() ? "missing command: runs, outputs, batch, segment or query"
                                           : "unknown command \"" + o.command + "\": runs, outputs, batch, segment or query");
    if (o.command == "batch" && o.batch_uuid.empty()) throw UsageError("missing BATCH_UUID");
    if (o.command != "batch" && !o.batch_uuid.empty()) throw UsageError("unexpected argument \"" + o.batch_uuid + "\"");
    // A flag of another subcommand is a mistake worth naming, not something to ignore.
    auto only = [&](const char* flag, bool given, std::initializer_list<const char*> commands) {
        if (!given) return;
        for (const char* c : commands)
            if (o.command == c) return;
        throw UsageError(std::string(flag) + " does not apply to export " + o.command);
    };
    const bool run_filters = !o.statuses.empty() || !o.batch.empty() || !o.release.empty() || !o.record_id.empty() ||
                             !o.created_after.empty() || !o.created_before.empty();
    only("--workflow", !o.workflow.empty(), {"runs", "outputs"});
    only("--status, --batch, --release, --record-id and --created-*", run_filters, {"runs", "outputs"});
    only("--node", !o.node.empty(), {"outputs", "batch"});
    only("--format", app->count("--format") > 0, {"outputs", "query"});
    only("--model", !o.model.empty(), {"segment"});
    only("--filter", !o.filters.empty(), {"segment"});
    only("--match", app->count("--match") > 0, {"segment"});
    only("--sort", !o.sort.empty(), {"segment"});
    only("--limit", app->count("--limit") > 0, {"segment"});
    only("--sql", !o.sql.empty(), {"query"});
    if ((o.command == "runs" || o.command == "outputs") && o.workflow.empty()) throw UsageError("missing --workflow");
    if (o.command == "segment" && o.model.empty()) throw UsageError("missing --model");
    if (o.command == "query" && trim(o.sql).empty()) throw UsageError("missing --sql");
    if (o.command == "outputs" && o.format != "csv" && o.format != "json")
        throw UsageError("--format must be csv or json for outputs, got \"" + o.format + "\"");
    if (o.command == "query" && o.format != "csv" && o.format != "jsonl")
        throw UsageError("--format must be csv or jsonl for query, got \"" + o.format + "\"");
    if (o.match != "all" && o.match != "any") throw UsageError("--match must be all or any, got \"" + o.match + "\"");
    if (app->count("--limit") > 0 && o.limit < 1) throw UsageError("--limit must be at least 1");
    o.mode = parse_mode(o.output_mode);
    return true;
}

// ---- segment filters: "COLUMN OP VALUE" to the API's condition objects ----

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::optional<double> as_number(std::string_view text) {
    if (text.empty()) return std::nullopt;
    char* end = nullptr;
    const std::string s(text);
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

bool is_date(std::string_view text) {
    return parse_iso8601(text).has_value() ||
           (text.size() == 10 && parse_iso8601(std::string(text) + "T00:00:00Z").has_value());
}

// One --filter: COLUMN OP VALUE, or COLUMN is [not] empty|null. A quoted VALUE is text;
// a bare one is a number or a date when it reads as one. Writes the condition.
void write_condition(const std::string& expr, Writer& w) {
    const std::string_view e = trim(expr);
    std::size_t col_end = 0;
    while (col_end < e.size() && (std::isalnum(static_cast<unsigned char>(e[col_end])) || e[col_end] == '_' ||
                                  e[col_end] == '.'))
        ++col_end;
    const std::string column(e.substr(0, col_end));
    std::string_view rest = trim(e.substr(col_end));
    auto bad = [&](const std::string& why) -> UsageError {
        return UsageError("--filter \"" + printable(expr, kMaxMessage) + "\": " + why + " (COLUMN OP VALUE, e.g. country = \"FR\"; "
                          "see docs/export.md)");
    };
    if (column.empty()) throw bad("it must start with a column name");

    static const std::pair<const char*, const char*> kWords[] = {
        {"is not empty", "isNotEmpty"}, {"is empty", "isEmpty"}, {"is not null", "isNotNull"}, {"is null", "isNull"}};
    for (const auto& [words, op] : kWords) {
        if (to_lower(rest) != words) continue;
        w.StartObject();
        // Emptiness is a text notion; null applies to any column.
        w.Key("kind"), w.String(std::string_view(op).find("Empty") != std::string_view::npos ? "string" : "any");
        w.Key("columnSlug"), w.String(column);
        w.Key("operator"), w.String(op);
        w.EndObject();
        return;
    }
    static const std::pair<const char*, const char*> kOps[] = {{"!=", "isNot"},       {"!~", "doesNotContain"},
                                                              {"^=", "startsWith"},  {"$=", "endsWith"},
                                                              {"=", "is"},           {"~", "contains"},
                                                              {">", "greaterThan"},  {"<", "lowerThan"}};
    std::string op, symbol;
    for (const auto& [sym, name] : kOps)
        if (rest.substr(0, std::strlen(sym)) == sym) {
            op = name, symbol = sym;
            break;
        }
    if (op.empty()) throw bad("no operator after \"" + column + "\"");
    std::string_view value = trim(rest.substr(symbol.size()));
    if (value.empty()) throw bad("no value after " + symbol);
    const bool quoted_value = value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
                              value.back() == value.front();
    if (quoted_value) value = value.substr(1, value.size() - 2);
    const auto number = quoted_value ? std::nullopt : as_number(value);
    const bool date = !quoted_value && !number && is_date(value);
    const bool ordered = op == "greaterThan" || op == "lowerThan";
    const bool equality = op == "is" || op == "isNot";
    if (ordered && !number && !date) throw bad(symbol + " needs a number or a date");

    w.StartObject();
    if (number && (ordered || equality)) {
        w.Key("kind"), w.String("number");
        w.Key("columnSlug"), w.String(column);
        w.Key("operator"), w.String(op);
        w.Key("value"), w.Double(*number);
    } else if (date && (ordered || equality)) {
        w.Key("kind"), w.String("date");
        w.Key("columnSlug"), w.String(column);
        w.Key("operator"), w.String(op);
        w.Key("value"), w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    } else {
        w.Key("kind"), w.String("string");
        w.Key("columnSlug"), w.String(column);
        w.Key("operator"), w.String(op);
        w.Key("values"), w.StartArray(), w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
        w.EndArray();
    }
    w.EndObject();
}

// The API's filter (its key really is spelled "conjonction"): one group of the --filter
// conditions, joined by "and" (--match=all) or "or" (--match=any).
std::string segment_filter(const Options& o) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("conjonction"), w.String("and");
    w.Key("groups"), w.StartArray();
    if (!o.filters.empty()) {
        w.StartObject();
        w.Key("conjonction"), w.String(o.match == "any" ? "or" : "and");
        w.Key("conditions"), w.StartArray();
        for (const auto& f : o.filters) write_condition(f, w);
        w.EndArray();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return buf.GetString();
}

std::string segment_sort(const Options& o) {
    const auto columns = split_list(o.sort);
    if (columns.empty()) return "";
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartArray();
    for (const auto& c : columns) {
        const auto colon = c.find(':');
        const std::string column = c.substr(0, colon);
        const std::string kind = colon == std::string::npos ? "asc" : to_lower(c.substr(colon + 1));
        if (column.empty() || (kind != "asc" && kind != "desc"))
            throw UsageError("--sort \"" + printable(c, kMaxMessage) + "\": want COLUMN, COLUMN:asc or COLUMN:desc");
        w.StartObject();
        w.Key("columnSlug"), w.String(column);
        w.Key("kind"), w.String(kind);
        w.EndObject();
    }
    w.EndArray();
    return buf.GetString();
}

// ---- where the bytes go ----

// Rows in what is written, counted as it streams by: CSV records (a quoted newline is
// inside a record) less the header, objects of a JSON array, or lines of JSON Lines.
class RowCounter {
public:
    enum class Kind { csv, json_array, lines };
    explicit RowCounter(Kind kind) : kind_(kind) {}

    void feed(std::string_view data) {
        for (char c : data) {
            switch (kind_) {
                case Kind::csv:
                    if (c == '"') in_quotes_ = !in_quotes_;
                    else if (c == '\n' && !in_quotes_) ++records_, pending_ = false;
                    else pending_ = true;
                    break;
                case Kind::lines:
                    if (c == '\n') ++records_;
                    break;
                case Kind::json_array:
                    if (in_string_) {
                        if (escaped_) escaped_ = false;
                        else if (c == '\\') escaped_ = true;
                        else if (c == '"') in_string_ = false;
                    } else if (c == '"') {
                        in_string_ = true;
                    } else if (c == '{' || c == '[') {
                        if (++depth_ == 2 && c == '{') ++records_;
                    } else if (c == '}' || c == ']') {
                        --depth_;
                    }
                    break;
            }
        }
    }
    std::int64_t rows() const {
        if (kind_ != Kind::csv) return records_;
        return std::max<std::int64_t>(0, records_ + (pending_ ? 1 : 0) - 1);
    }

private:
    Kind kind_;
    std::int64_t records_ = 0;
    bool in_quotes_ = false, pending_ = false, in_string_ = false, escaped_ = false;
    int depth_ = 0;
};

std::string human_bytes(std::uint64_t bytes) {
    char buf[32];
    if (bytes < 1024) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else if (bytes < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
    else std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024.0));
    return buf;
}

// The export's destination, row count and progress line. The progress line is drawn on
// `err` at most ten times a second, only when stderr is a terminal.
class Sink {
public:
    Sink(const std::string& output, mode_t mode, RowCounter::Kind kind, std::ostream& out, std::ostream& err)
        : out_(out), err_(err), counter_(kind), progress_(::isatty(STDERR_FILENO) == 1) {
        if (output != "-")
            file_ = std::make_unique<AtomicFile>(output, AtomicFile::Options{.mode = mode, .remove_on_signal = true});
    }

    void write(std::string_view data) {
        if (data.empty()) return;
        counter_.feed(data);
        bytes_ += data.size();
        if (file_) {
            file_->write(data);
        } else {
            out_.write(data.data(), static_cast<std::streamsize>(data.size()));
            if (!out_) throw std::runtime_error("cannot write to stdout");
        }
        draw(false);
    }
    // Writes the file in place (or flushes stdout). Without rows, nothing is written and
    // false is returned: there was nothing to export.
    bool commit() {
        draw(true);
        if (!file_) {
            out_.flush();
            return rows() > 0;
        }
        if (rows() == 0) return false;
        file_->commit();
        return true;
    }
    std::int64_t rows() const { return counter_.rows(); }
    std::uint64_t bytes() const { return bytes_; }

private:
    void draw(bool last) {
        if (!progress_) return;
        const auto now = std::chrono::steady_clock::now();
        if (!last && now - drawn_ < std::chrono::milliseconds(100)) return;
        drawn_ = now;
        err_ << "\r\033[K" << human_bytes(bytes_) << ", " << rows() << " rows" << (last ? "\r\033[K" : "")
             << std::flush;
    }

    std::ostream& out_;
    std::ostream& err_;
    RowCounter counter_;
    bool progress_;
    std::unique_ptr<AtomicFile> file_;
    std::uint64_t bytes_ = 0;
    std::chrono::steady_clock::time_point drawn_{};
};

// Pages of one export joined into one file: a CSV page after the first loses its header
// line; JSON array pages are spliced into one array.
class PageJoiner {
public:
    PageJoiner(bool json, Sink& sink) : json_(json), sink_(sink) {}

    void begin_page() {
        skip_header_ = !json_ && pages_ > 0;
        opened_ = false;
        page_has_elements_ = false;
        held_.clear();
        ++pages_;
    }
    void write(std::string_view data) {
        if (!json_) {
            if (skip_header_) {
                const auto nl = data.find('\n');
                if (nl == std::string_view::npos) return;
                data.remove_prefix(nl + 1);
                skip_header_ = false;
            }
            return sink_.write(data);
        }
        std::string out;
        for (char c : data) {
            if (!opened_) {
                if (std::isspace(static_cast<unsigned char>(c))) continue;
                if (c != '[') throw cargo::ParseError("the downloaded JSON is not an array", 200, "", "");
                opened_ = true;
                continue;
            }
            // White space and ']' wait: the page's last ']' closes its array and is dropped.
            if (std::isspace(static_cast<unsigned char>(c)) || c == ']') {
                held_ += c;
                continue;
            }
            if (!page_has_elements_) {
                out += any_elements_ ? "," : "[";
                page_has_elements_ = any_elements_ = true;
            }
            out += held_;
            held_.clear();
            out += c;
        }
        sink_.write(out);
    }
    void end_page() {
        if (!json_) return;
        while (!held_.empty() && std::isspace(static_cast<unsigned char>(held_.back()))) held_.pop_back();
        if (!opened_ || held_.empty() || held_.back() != ']')
            throw cargo::ParseError("the downloaded JSON array is cut short", 200, "", "");
        held_.pop_back();
        sink_.write(held_);
    }
    void finish() {
        if (json_) sink_.write(any_elements_ ? "]\n" : "[]\n");
    }

private:
    bool json_;
    Sink& sink_;
    int pages_ = 0;
    bool skip_header_ = false;
    bool opened_ = false, page_has_elements_ = false, any_elements_ = false;
    std::string held_;
};

// ---- the commands ----

struct Context {
    const Options& options;
    cargo::ApiClient& client;
    const cargo::ClientOptions& client_options;
    const Clock& clock;
};

std::optional<SystemTime> parse_time(const std::string& flag, const std::string& text, const Clock& clock) {
    if (text.empty()) return std::nullopt;
    if (auto t = parse_iso8601(text)) return t;
    if (text.size() == 10)
        if (auto t = parse_iso8601(text + "T00:00:00Z")) return t;
    if (auto d = parse_duration(text)) return clock.now() - *d;
    throw UsageError(flag + " wants an ISO-8601 time (2026-11-30T12:00:00Z) or a duration ago (24h), got \"" +
                     printable(text, kMaxMessage) + "\"");
}

cargo::RunFilter run_filter(const Options& o, const Clock& clock) {
    cargo::RunFilter f;
    f.workflow_uuid = o.workflow;
    f.statuses = split_list(o.statuses);
    if (!o.batch.empty()) f.batch_uuid = o.batch;
    if (!o.release.empty()) f.release_uuid = o.release;
    if (!o.record_id.empty()) f.record_id = o.record_id;
    f.created_after = parse_time("--created-after", o.created_after, clock);
    f.created_before = parse_time("--created-before", o.created_before, clock);
    return f;
}

// A default file name from ids the user typed: only characters safe in a name.
std::string file_name(const std::string& kind, const std::string& id, const std::string& extension) {
    std::string safe;
    for (char c : id) safe += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
    return kind + (safe.empty() ? "" : "-" + safe) + "." + extension;
}

// The output node when --node is not given: the last node of the workflow's deployed
// release (its node list, in order), else of the workflow's own nodes; none when unknown.
std::optional<std::string> output_node(Context& c, const std::string& workflow_uuid) {
    if (!c.options.node.empty()) return c.options.node;
    for (const auto& w : c.client.list_workflows()) {
        if (w.uuid != workflow_uuid) continue;
        const auto& nodes = w.deployed_release_nodes.empty() ? w.nodes : w.deployed_release_nodes;
        if (!nodes.empty() && !nodes.back().slug.empty()) return nodes.back().slug;
    }
    return std::nullopt;
}

void fetch_page(Context& c, PageJoiner& joiner, const std::string& url, bool gzipped = false) {
    joiner.begin_page();
    if (gzipped) {
        cargo::Gunzip gunzip([&](std::string_view chunk) { joiner.write(chunk); }, c.client_options);
        cargo::fetch_signed_url(url, c.client_options, [&](std::string_view chunk) { gunzip.write(chunk); },
                                cargo::FileCoding::gzip);
        gunzip.finish();
    } else {
        cargo::fetch_signed_url(url, c.client_options, [&](std::string_view chunk) { joiner.write(chunk); });
    }
    joiner.end_page();
}

void export_runs(Context& c, Sink& sink) {
    PageJoiner joiner(false, sink);
    fetch_page(c, joiner, c.client.download_runs(run_filter(c.options, c.clock)), true);
}

void export_outputs(Context& c, Sink& sink) {
    const Options& o = c.options;
    cargo::RunFilter filter = run_filter(o, c.clock);
    // Pages are counted from the newest run: runs created while paging would shift them.
    if (!filter.created_before) filter.created_before = c.clock.now();
    const auto node = output_node(c, o.workflow);
    const std::int64_t total = c.client.count_runs(filter);
    PageJoiner joiner(o.format == "json", sink);
    for (std::int64_t offset = 0; offset < total; offset += kPage) {
        const int limit = static_cast<int>(std::min<std::int64_t>(kPage, total - offset));
        fetch_page(c, joiner, c.client.download_outputs(filter, node, o.format, limit, static_cast<int>(offset)));
    }
    joiner.finish();
}

void export_batch(Context& c, Sink& sink) {
    const cargo::Batch batch = c.client.get_batch(c.options.batch_uuid);
    const auto node = output_node(c, batch.workflow_uuid);
    PageJoiner joiner(false, sink);
    fetch_page(c, joiner, c.client.download_batch(batch.uuid, node));
}

void export_segment(Context& c, Sink& sink) {
    const Options& o = c.options;
    const auto urls = c.client.download_segment(o.model, segment_filter(o), segment_sort(o),
                                                o.limit > 0 ? std::optional(o.limit) : std::nullopt);
    PageJoiner joiner(false, sink);
    for (const auto& url : urls) fetch_page(c, joiner, url);
}

// ---- query ----

// What paging needs to know of the user's SQL: its words outside strings, comments and
// parentheses. Reading tokens, not the grammar, is enough for these three questions.
struct SqlShape {
    std::string text;        // without a trailing ';'
    bool has_order = false;  // a top-level ORDER BY
    bool has_format = false;
};

SqlShape sql_shape(std::string_view sql) {
    SqlShape shape;
    std::vector<std::string> words;
    int depth = 0;
    std::size_t end = sql.size();
    for (std::size_t i = 0; i < sql.size();) {
        const char c = sql[i];
        if (c == '\'' || c == '"' || c == '`') {
            for (++i; i < sql.size() && sql[i] != c; ++i)
                if (sql[i] == '\\') ++i;
            ++i;
        } else if (sql.substr(i, 2) == "--") {
            i = std::min(sql.size(), sql.find('\n', i));
        } else if (sql.substr(i, 2) == "/*") {
            const std::size_t close = sql.find("*/", i + 2);
            i = close == std::string_view::npos ? sql.size() : close + 2;
        } else if (c == '(') {
            ++depth, ++i;
        } else if (c == ')') {
            --depth, ++i;
        } else if (c == ';' && depth == 0) {
            end = std::min(end, i);
            ++i;
        } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::size_t start = i;
            while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_')) ++i;
            if (depth == 0) words.push_back(to_lower(sql.substr(start, i - start)));
        } else {
            ++i;
        }
    }
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (words[i] == "order" && i + 1 < words.size() && words[i + 1] == "by") shape.has_order = true;
        if (words[i] == "format") shape.has_format = true;
    }
    shape.text = std::string(trim(sql.substr(0, end)));
    return shape;
}

bool over_row_cap(const cargo::ApiError& e) {
    const auto& m = e.error_message();
    return e.status() == 400 &&
           (m.find("Code: 396") != std::string::npos || m.find("Code: 158") != std::string::npos ||
            m.find("Limit for result exceeded") != std::string::npos);
}

void csv_field(std::string& out, std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos && trim(text).size() == text.size()) {
        out += text;
        return;
    }
    out += '"';
    for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    out += '"';
}

// One page of rows written out; returns how many rows it held.
std::size_t write_rows(std::string& body, const std::string& format, std::vector<std::string>& columns, Sink& sink) {
    rapidjson::Document doc;
    if (auto error = parse_json_in_place(body, doc, {.nan_and_inf = true}))
        throw cargo::ParseError("the query's answer is malformed JSON at " + *error, 200, "", "");
    if (!doc.IsObject() || !doc.HasMember("rows") || !doc["rows"].IsArray())
        throw cargo::ParseError("the query's answer has no rows array", 200, "", "");
    const auto rows = doc["rows"].GetArray();
    std::string out;
    auto json_text = [](const rapidjson::Value& v) {
        rapidjson::StringBuffer buf;
        Writer w(buf);
        v.Accept(w);
        return std::string(buf.GetString(), buf.GetSize());
    };
    for (const auto& row : rows) {
        if (!row.IsObject()) throw cargo::ParseError("a row of the query's answer is not an object", 200, "", "");
        if (format == "jsonl") {
            out += json_text(row) + "\n";
        } else {
            if (columns.empty()) {
                for (const auto& m : row.GetObject()) columns.emplace_back(m.name.GetString(), m.name.GetStringLength());
                for (std::size_t i = 0; i < columns.size(); ++i) (i ? out += ',' : out), csv_field(out, columns[i]);
                out += '\n';
            }
            for (std::size_t i = 0; i < columns.size(); ++i) {
                if (i) out += ',';
                auto m = row.FindMember(rapidjson::StringRef(columns[i].data(), columns[i].size()));
                if (m == row.MemberEnd() || m->value.IsNull()) continue;
                if (m->value.IsString()) csv_field(out, {m->value.GetString(), m->value.GetStringLength()});
                else csv_field(out, json_text(m->value));
            }
            out += '\n';
        }
        if (out.size() >= 1 << 20) sink.write(out), out.clear();
    }
    sink.write(out);
    return rows.Size();
}

// The query as written first: an answer under the API's 10,000-row cap is exactly the
// user's. Over the cap it is run again in pages, SELECT * FROM (query) LIMIT offset, 10000,
// in the query's own order when it has a top-level ORDER BY, else ordered by every column
// (ORDER BY tuple(*)) so that pages neither overlap nor miss rows. Each page runs the
// query again: what changes between pages (live rows, now()) can shift them.
void export_query(Context& c, Sink& sink) {
    const SqlShape shape = sql_shape(c.options.sql);
    if (shape.has_format)
        throw UsageError("--sql has a FORMAT clause; remove it: --format chooses the file's format");
    std::vector<std::string> columns;
    std::string body;
    try {
        body = c.client.query_body(shape.text);
    } catch (const cargo::ApiError& e) {
        if (!over_row_cap(e)) throw;
    }
    if (!body.empty()) {
        write_rows(body, c.options.format, columns, sink);
        return;
    }
    const std::string order = shape.has_order ? "" : " ORDER BY tuple(*)";
    for (std::int64_t offset = 0;; offset += kPage) {
        body = c.client.query_body("SELECT * FROM (" + shape.text + "\n)" + order + " LIMIT " + std::to_string(offset) +
                                   ", " + std::to_string(kPage));
        if (write_rows(body, c.options.format, columns, sink) < static_cast<std::size_t>(kPage)) break;
    }
}

// ---- errors in plain words ----

std::string explained(const cargo::ApiError& e) {
    static const std::map<std::string, std::string> kWords = {
        {"noRunsFound", "no runs match the filters"},
        {"tooManyRuns", "too many runs for one download; narrow the filters (--created-after, --status, --batch)"},
        {"batchNotFound", "there is no such batch in this workspace"},
        {"batchNotFinished", "the batch is not finished yet; export it once it is"},
        {"workflowNotFound", "there is no such workflow in this workspace"},
        {"modelNotFound", "there is no such model in this workspace"},
        {"invalidFilter", "the API refused the filter (see --filter in docs/export.md)"},
        {"queryRefused", "the API refused the query"},
        {"queryFailed", "the query failed"},
        {"urlExpired", "the download URL expired before it was read; run the export again"},
        {"invalidSignature", "the download URL was refused"},
    };
    return plain_words(e, kWords);
}

std::string default_output(const Options& o) {
    if (o.command == "runs") return file_name("runs", o.workflow, "csv");
    if (o.command == "outputs") return file_name("outputs", o.workflow, o.format);
    if (o.command == "batch") return file_name("batch", o.batch_uuid, "csv");
    if (o.command == "segment") return file_name("segment", o.model, "csv");
    return file_name("query", "", o.format);
}

int run(const Options& options, std::ostream& out, std::ostream& err) {
    const std::string prefix = "cargomon export " + options.command + ": ";
    const auto config = load_cli_config(options.config_file, err);
    if (!config) return 2;
    const std::string output = options.output.empty() ? default_output(options) : options.output;
    const auto kind = options.command == "query" && options.format == "jsonl" ? RowCounter::Kind::lines
                      : options.command == "outputs" && options.format == "json" ? RowCounter::Kind::json_array
                                                                                 : RowCounter::Kind::csv;
    try {
        ApiSession api(*config);
        Context context{options, api.client, api.options, api.clock};
        Sink sink(output, options.mode, kind, out, err);
        if (options.command == "runs") export_runs(context, sink);
        else if (options.command == "outputs") export_outputs(context, sink);
        else if (options.command == "batch") export_batch(context, sink);
        else if (options.command == "segment") export_segment(context, sink);
        else export_query(context, sink);
        if (!sink.commit()) {
            err << prefix << "nothing to export: no rows" << (output == "-" ? "" : "; " + output + " not written")
                << "\n";
            return 1;
        }
        err << prefix << sink.rows() << " rows, " << human_bytes(sink.bytes()) << " written to "
            << (output == "-" ? "stdout" : output) << "\n";
        return 0;
    } catch (const UsageError& e) {
        return usage_error(err, "cargomon export", e.what());
    } catch (const cargo::ApiError& e) {
        if (e.reason() == "noRunsFound") {
            err << prefix << "nothing to export: " << explained(e) << "\n";
            return 1;
        }
        err << prefix << explained(e) << "\n";
        return 2;
    } catch (const std::exception& e) {  // a client option the daemon would refuse, a file that cannot be written
        err << prefix << printable(e.what(), kMaxMessage) << "\n";
        return 2;
    }
}

}  // namespace

int export_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    Options options;
    try {
        if (!parse_options(args, options, out)) return 0;
    } catch (const UsageError& e) {
        return usage_error(err, "cargomon export", e.what());
    }
    // The client logs its retries; what failed is in the report already.
    setup_logging("error", "logfmt", "cargomon");
    return run(options, out, err);
}

}  // namespace cargomon::cli
