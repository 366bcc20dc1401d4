#include "daemon/cli/export.h"

#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

#include "cargo/download.h"
#include "cargo/output_node.h"
#include "cargo/query_pages.h"
#include "cargo/segment_filter.h"
#include "common/cli.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/text.h"
#include "common/timefmt.h"
#include "daemon/cli/api_session.h"
#include "daemon/cli/export_output.h"
#include "daemon/cli/path_flags.h"

namespace cargomon::cli {
namespace {

constexpr const char* kUsage = R"(usage: cargomon export runs --workflow=UUID [run filters] [--output=FILE]
       cargomon export outputs --workflow=UUID [--node=SLUG] [--format=csv|json] [run filters] [--output=FILE]
       cargomon export batch BATCH_UUID [--node=SLUG] [--output=FILE]
       cargomon export segment --model=UUID [--filter=EXPR ...] [--match=all|any] [--sort=COLUMN[:desc],...] [--limit=N] [--output=FILE]
       cargomon export query --sql=SQL [--format=csv|jsonl] [--output=FILE]

Downloads from the Cargo API to FILE (default: a name in the current folder, printed;
"-" for stdout), written whole or not at all. Downloads are read by their content
(gzip undone; CSV, JSON Lines or a JSON array). runs: runs/download, the full run
records. outputs: each run's output on a node (default: the node the release's graph
ends at: the batch's or --release's own, else the deployed one), paged past the API's
10,000 runs. batch: a finished batch's outputs, on its own release's output node.
segment: a model's records. query: ad-hoc SQL, paged past the API's 10,000 rows. Run filters: --status, --batch, --release, --record-id,
--record-title, --is-finished, --created-after, --created-before. Exit 0 written, 1 nothing to export, 2 usage or API error.
See docs/export.md.

)";

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
    std::string record_title;
    std::optional<bool> is_finished;
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
    app->add_option("--record-title", o.record_title, "runs, outputs: runs of the record of this title")
        ->type_name("TITLE");
    bool finished = true;
    app->add_flag("--is-finished", finished, "runs, outputs: only finished runs (=false: only unfinished)");
    app->add_option("--created-after", o.created_after,
                    "runs, outputs: runs created at or after TIME (ISO-8601,\nor a duration ago: 24h)")
        ->type_name("TIME");
    app->add_option("--created-before", o.created_before,
                    "runs, outputs: runs created before TIME (default for\noutputs: now, so paging sees a fixed set)")
        ->type_name("TIME");
    app->add_option("--node", o.node,
                    "outputs, batch: the output node (default: where the\nrelease's node graph ends)")
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
    if (app->count("--is-finished") > 0) o.is_finished = finished;  // absent: no isFinished sent

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
                             !o.record_title.empty() || o.is_finished || !o.created_after.empty() ||
                             !o.created_before.empty();
    only("--workflow", !o.workflow.empty(), {"runs", "outputs"});
    only("--status, --batch, --release, --record-*, --is-finished and --created-*", run_filters, {"runs", "outputs"});
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
    if (!o.record_title.empty()) f.record_title = o.record_title;
    f.is_finished = o.is_finished;
    f.created_after = parse_time("--created-after", o.created_after, clock);
    f.created_before = parse_time("--created-before", o.created_before, clock);
    return f;
}

// A default file name from ids the user typed: only characters safe in a name.
std::string file_name(const std::string& kind, const std::string& id) {
    std::string safe;
    for (char c : id) safe += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
    return kind + (safe.empty() ? "" : "-" + safe);
}

// The node graph an export's output node comes from, and what it is called in messages.
struct ReleaseNodes {
    std::string what;  // "release <uuid>", "the deployed release of workflow <uuid>"
    std::vector<cargo::WorkflowNode> nodes;  // empty: unknown (the API's default node is used)
};

// A batch runs on its own release, kept when another is deployed: its graph, not the
// workflow's current one, says which node its outputs are on.
ReleaseNodes batch_release(Context& c, const cargo::Batch& batch) {
    if (!batch.release_uuid) return {"batch " + batch.uuid + " (no release)", {}};
    return {"release " + *batch.release_uuid, c.client.get_release(*batch.release_uuid).nodes};
}

ReleaseNodes deployed_release(Context& c, const std::string& workflow_uuid) {
    for (const auto& w : c.client.list_workflows())
        if (w.uuid == workflow_uuid)
            return {"the deployed release of workflow " + workflow_uuid, w.deployed_release_nodes};
    return {"workflow " + workflow_uuid, {}};
}

std::string slugs(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& s : list) out += (out.empty() ? "" : ", ") + printable(s, 80);
    return out;
}

// The output node: --node when given (and in the release, when its nodes are known), else
// the one the release's graph ends at (cargo/output_node.h); several: refused, listed.
// Unknown nodes: none, and the API picks its default.
std::optional<std::string> output_node(Context& c, const ReleaseNodes& release) {
    const std::string& wanted = c.options.node;
    if (!wanted.empty()) {
        if (release.nodes.empty() ||
            std::any_of(release.nodes.begin(), release.nodes.end(), [&](const auto& n) { return n.slug == wanted; }))
            return wanted;
        std::vector<std::string> all;
        for (const auto& n : release.nodes) all.push_back(n.slug);
        throw std::runtime_error("--node " + printable(wanted, 80) + " is not a node of " + release.what + ": " +
                                 slugs(all));
    }
    if (release.nodes.empty()) return std::nullopt;
    const cargo::OutputNode chosen = cargo::output_node(release.nodes);
    if (chosen.slug) return chosen.slug;
    throw std::runtime_error(release.what + " has " + std::to_string(chosen.candidates.size()) +
                             " possible output nodes (" + slugs(chosen.candidates) +
                             "): choose one with --node=SLUG");
}

// A download read by its content: gzip by its magic bytes, then CSV, JSON Lines or a JSON
// array (PageJoiner). `gzipped`: the API documents it as gzip (runs/download), so its
// compressed size has the compressed cap.
void fetch_page(Context& c, PageJoiner& joiner, const std::string& url, bool gzipped = false) {
    joiner.begin_page();
    cargo::Gunzip gunzip([&](std::string_view chunk) { joiner.write(chunk); }, c.client_options);
    cargo::fetch_signed_url(url, c.client_options, [&](std::string_view chunk) { gunzip.write(chunk); },
                            gzipped ? cargo::FileCoding::gzip : cargo::FileCoding::plain);
    gunzip.finish();
    joiner.end_page();
}

void export_runs(Context& c, Sink& sink) {
    PageJoiner joiner(std::nullopt, sink);
    fetch_page(c, joiner, c.client.download_runs(run_filter(c.options, c.clock)), true);
    joiner.finish();
}

void export_outputs(Context& c, Sink& sink) {
    const Options& o = c.options;
    cargo::RunFilter filter = run_filter(o, c.clock);
    // Pages are counted from the newest run: runs created while paging would shift them.
    if (!filter.created_before) filter.created_before = c.clock.now();
    // The runs' own release when the filter names one: a batch's, or the release asked.
    const ReleaseNodes release = !o.batch.empty()     ? batch_release(c, c.client.get_batch(o.batch))
                                 : !o.release.empty() ? ReleaseNodes{"release " + o.release,
                                                                     c.client.get_release(o.release).nodes}
                                                      : deployed_release(c, o.workflow);
    const auto node = output_node(c, release);
    const std::int64_t total = c.client.count_runs(filter);
    PageJoiner joiner(o.format == "json" ? FileFormat::json_array : FileFormat::csv, sink);
    for (std::int64_t offset = 0; offset < total; offset += cargo::kExportPage) {
        const int limit = static_cast<int>(std::min<std::int64_t>(cargo::kExportPage, total - offset));
        fetch_page(c, joiner, c.client.download_outputs(filter, node, o.format, limit, static_cast<int>(offset)));
    }
    joiner.finish();
}

void export_batch(Context& c, Sink& sink) {
    const cargo::Batch batch = c.client.get_batch(c.options.batch_uuid);
    const auto node = output_node(c, batch_release(c, batch));
    PageJoiner joiner(std::nullopt, sink);
    fetch_page(c, joiner, c.client.download_batch(batch.uuid, node));
    joiner.finish();
}

void export_segment(Context& c, Sink& sink) {
    const Options& o = c.options;
    std::string filter, sort;
    try {
        filter = cargo::segment_filter_json(o.filters, o.match == "any");
    } catch (const cargo::FilterError& e) {
        throw UsageError(std::string("--filter ") + e.what());
    }
    try {
        sort = cargo::segment_sort_json(split_list(o.sort));
    } catch (const cargo::FilterError& e) {
        throw UsageError(std::string("--sort ") + e.what());
    }
    const auto urls = c.client.download_segment(o.model, filter, sort, o.limit > 0 ? std::optional(o.limit) : std::nullopt);
    PageJoiner joiner(std::nullopt, sink);
    for (const auto& url : urls) fetch_page(c, joiner, url);
    joiner.finish();
}

// The query as written first: an answer under the API's 10,000-row cap is exactly the
// user's. Over the cap it is run again in pages, SELECT * FROM (query) LIMIT offset, 10000,
// in the query's own order when it has a top-level ORDER BY, else ordered by every column
// (ORDER BY tuple(*)) so that pages neither overlap nor miss rows. Each page runs the
// query again: what changes between pages (live rows, now()) can shift them.
void export_query(Context& c, Sink& sink) {
    const cargo::SqlShape shape = cargo::sql_shape(c.options.sql);
    if (shape.has_format)
        throw UsageError("--sql has a FORMAT clause; remove it: --format chooses the file's format");
    QueryRows rows(c.options.format == "jsonl" ? QueryRows::Format::jsonl : QueryRows::Format::csv, sink);
    std::string body;
    try {
        body = c.client.query_body(shape.text);
    } catch (const cargo::ApiError& e) {
        if (!cargo::over_row_cap(e)) throw;
    }
    if (!body.empty()) {
        rows.write(body);
        return;
    }
    for (std::int64_t offset = 0;; offset += cargo::kExportPage) {
        body = c.client.query_body(cargo::page_query(shape, offset));
        if (rows.write(body) < static_cast<std::size_t>(cargo::kExportPage)) break;
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
        {"urlExpired", "the download URL expired before it was read; run the export again"},
        {"invalidSignature", "the download URL was refused"},
    };
    return plain_words(e, kWords);
}

// A name in the current folder from the command and its id; its extension comes from
// the file's format once known (the content of a download, or --format).
std::string default_output(const Options& o) {
    if (o.command == "runs" || o.command == "outputs") return file_name(o.command, o.workflow);
    if (o.command == "batch") return file_name("batch", o.batch_uuid);
    if (o.command == "segment") return file_name("segment", o.model);
    return "query";
}

int run(const Options& options, std::ostream& out, std::ostream& err) {
    const std::string prefix = "cargomon export " + options.command + ": ";
    const auto config = load_cli_config(options.config_file, err);
    if (!config) return 2;
    const bool named = !options.output.empty();
    try {
        ApiSession api(*config);
        Context context{options, api.client, api.options, api.clock};
        Sink sink(named ? options.output : default_output(options), !named, options.mode, out, err);
        if (options.command == "runs") export_runs(context, sink);
        else if (options.command == "outputs") export_outputs(context, sink);
        else if (options.command == "batch") export_batch(context, sink);
        else if (options.command == "segment") export_segment(context, sink);
        else export_query(context, sink);
        const std::string& output = sink.output();
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
