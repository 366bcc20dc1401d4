#include "daemon/cli/batch.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <iomanip>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "actions/failures.h"
#include "actions/rerun.h"
#include "cargo/client.h"
#include "cargo/requests.h"
#include "cargo/rerun_outcome.h"
#include "cargo/retry.h"
#include "common/cli.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "daemon/cli/api_session.h"
#include "daemon/cli/path_flags.h"

namespace cargomon::cli {
namespace {

using actions::Diagnosis;

constexpr const char* kUsage = R"(usage: cargomon batch doctor BATCH_UUID [--config.file=FILE] [--output=table|json]
       cargomon batch rerun BATCH_UUID [--config.file=FILE] [--kind=runs|recordIds] [--reset=firstNode|lastNode|nextNode] [--yes] [--dry-run]
                            [--wait] [--wait.timeout=DURATION]

doctor: the batch's status and counters, its failed runs counted again (runs/count),
grouped by the node they failed on and by error message, the release and its nodes,
the failed record ids and the re-run that rerun would create. Exit 0 healthy, 1
failures found, 2 usage or API error.

rerun: creates a batch of only the batch's failed records (POST /orchestration/batches)
after showing it and asking, unless --yes. Exit 0 created (or --dry-run, or nothing to
re-run), 1 not created (batch not finished, answered no), 2 usage or API error.
With --wait it then follows the new batch until it finishes (polling with the client's
backoff, at least a second apart) and prints how many runs recovered and how many still
fail: exit 0 all recovered, 1 some still failing, cancelled, or not finished within
--wait.timeout.

)";

constexpr std::size_t kIdsShown = 20;

struct Options {
    std::string command;
    std::string batch_uuid;
    std::string config_file;
    std::string output = "table";
    std::string kind = "runs";
    std::string reset = "firstNode";
    bool yes = false;
    bool dry_run = false;
    bool wait = false;
    std::string wait_timeout = "1h";
    Millis wait_for{};  // wait_timeout, parsed
};

bool parse_options(const std::vector<std::string>& args, Options& options, std::ostream& out) {
    auto app = make_app(kUsage, '=', 24);
    app->add_option("COMMAND", options.command, "doctor or rerun");
    app->add_option("BATCH_UUID", options.batch_uuid, "the batch");
    add_config_file_flag(*app, options.config_file, "configuration file (the API URL, token, client)");
    app->add_option("--output", options.output, "doctor: table (for people) or json (for scripts)")
        ->type_name("FORMAT")
        ->default_str(options.output);
    app->add_option("--kind", options.kind,
                    "rerun: data.kind of the new batch: runs (the failed runs)\n"
                    "or recordIds (their record ids; plays only)")
        ->type_name("KIND")
        ->default_str(options.kind);
    app->add_option("--reset", options.reset, "rerun, kind runs: start again from firstNode, lastNode\n(the node each run stopped on) or nextNode (the one after it)")
        ->type_name("FROM")
        ->default_str(options.reset);
    app->add_flag("--yes", options.yes, "rerun: create without asking")->disable_flag_override();
    app->add_flag("--dry-run", options.dry_run, "rerun: print the request body, create nothing")
        ->disable_flag_override();
    app->add_flag("--wait", options.wait, "rerun: follow the new batch to its end and report what recovered")
        ->disable_flag_override();
    app->add_option("--wait.timeout", options.wait_timeout, "rerun --wait: give up waiting after this long")
        ->type_name("DURATION")
        ->default_str(options.wait_timeout);
    finish(*app);
    if (!parse(*app, args, out, UnknownFlag::whole)) return false;
    if (options.command != "doctor" && options.command != "rerun")
        throw UsageError(options.command.empty() ? "missing command: doctor or rerun"
                                                 : "unknown command \"" + options.command + "\": doctor or rerun");
    if (options.batch_uuid.empty()) throw UsageError("missing BATCH_UUID");
    if (options.output != "table" && options.output != "json")
        throw UsageError("--output must be table or json, got \"" + options.output + "\"");
    if (options.kind != "runs" && options.kind != "recordIds")
        throw UsageError("--kind must be runs or recordIds, got \"" + options.kind + "\"");
    if (options.reset != "firstNode" && options.reset != "lastNode" && options.reset != "nextNode")
        throw UsageError("--reset must be firstNode, lastNode or nextNode, got \"" + options.reset + "\"");
    std::string why;
    const auto timeout = parse_duration(options.wait_timeout, &why);
    if (!timeout || *timeout <= Millis::zero())
        throw UsageError("--wait.timeout must be a positive duration (e.g. 30m), got \"" + options.wait_timeout + "\"" +
                         (why.empty() ? "" : ": " + why));
    options.wait_for = *timeout;
    return true;
}

struct Count {
    std::string key;
    std::int64_t runs = 0;
};

// Largest first, then by name, so the same batch always prints the same.
std::vector<Count> ranked(const std::map<std::string, std::int64_t>& counts) {
    std::vector<Count> out;
    for (const auto& [key, n] : counts) out.push_back({key, n});
    std::stable_sort(out.begin(), out.end(), [](const Count& a, const Count& b) { return a.runs > b.runs; });
    return out;
}

// data of the batch that re-runs the failed records, as the options ask.
std::string rerun_data(const Diagnosis& d, const Options& options) {
    if (options.kind == "recordIds")
        return actions::rerun_data({.kind = actions::Rerun::Kind::record_ids,
                                    .model_uuid = d.model_uuid.value_or(""),
                                    .record_ids = d.failed_record_ids});
    return actions::rerun_data({.kind = actions::Rerun::Kind::runs, .batch_uuid = d.batch.uuid, .reset = options.reset});
}

// The body the client sends, from the one builder of POST /orchestration/batches.
std::string request_body(const Diagnosis& d, const std::string& data) {
    return cargo::requests::create_batch(d.batch.workflow_uuid, data).body;
}

// Why a re-run by record ids cannot be made; empty when it can.
std::string record_ids_problem(const Diagnosis& d) {
    if (d.owner_kind != "play" || !d.model_uuid) return "record ids need a play's workflow (its model); use --kind=runs";
    if (!d.complete())
        return "only " + std::to_string(d.failed_read()) + " of " + std::to_string(d.confirmed_failed) +
               " failed runs could be read; use --kind=runs";
    return "";
}

std::string when(const std::optional<SystemTime>& t) { return t ? format_iso8601(*t) : "-"; }

std::string node_chain(const std::vector<cargo::WorkflowNode>& nodes) {
    std::string out;
    for (const auto& n : nodes) out += (out.empty() ? "" : " -> ") + printable(n.slug);
    return out.empty() ? "(unknown)" : out;
}

void print_table(const Diagnosis& d, const Options& options, std::ostream& out) {
    const auto& b = d.batch;
    out << "Batch " << b.uuid << "\n";
    auto row = [&](const char* name, const std::string& value) {
        out << "  " << std::left << std::setw(20) << name << value << "\n";
    };
    // A workflow is known by its play's or tool's name and uuid; its own uuid is the workflow's.
    row("workflow", (d.workflow_name.empty() ? "(unnamed)" : printable(d.workflow_name)) + " (" +
                        (d.owner_kind.empty() ? "" : d.owner_kind + " " + printable(d.owner_uuid) + ", ") +
                        "workflow " + b.workflow_uuid + ")");
    row("status", b.status + (b.runs_status ? ", runs " + *b.runs_status : "") +
                      (b.error_message ? ": " + printable(*b.error_message) : ""));
    row("created, finished", when(b.created_at) + ", " + when(b.finished_at));
    row("runs", std::to_string(b.runs_count) + " total, " + std::to_string(b.executed_runs_count) + " executed, " +
                    std::to_string(b.failed_runs_count) + " failed, " + std::to_string(d.unfinished()) +
                    " unfinished");
    row("failed (runs/count)",
        std::to_string(d.confirmed_failed) +
            (d.confirmed_failed == b.failed_runs_count ? ", as the batch says"
                                                       : ", the batch says " + std::to_string(b.failed_runs_count)));
    std::ostringstream credits;
    credits << b.credits_used_count;
    row("credits used", credits.str());
    const std::string release = b.release_uuid.value_or("(none)");
    row("release", release + (b.release_uuid && b.release_uuid == d.deployed_release_uuid ? " (deployed)"
                              : d.deployed_release_uuid ? " (deployed now: " + *d.deployed_release_uuid + ")"
                                                        : ""));
    row("nodes", node_chain(d.nodes));

    if (d.failed_read() == 0) {
        out << "\nNo failed runs.\n";
        return;
    }
    const std::string partial =
        d.complete() ? "" : " (the first " + std::to_string(d.failed_read()) + " failed runs)";
    out << "\nFailures by node" << partial << "\n  " << std::left << std::setw(40) << "NODE" << "RUNS\n";
    for (const auto& c : ranked(d.by_node)) out << "  " << std::setw(40) << printable(c.key) << c.runs << "\n";
    out << "\nFailures by error message" << partial << "\n  RUNS  MESSAGE\n";
    for (const auto& c : ranked(d.by_message)) out << "  " << std::right << std::setw(4) << c.runs << "  " << c.key << "\n";
    out << std::left << "\nFailed records: " << d.failed_record_ids.size() << "\n ";
    for (std::size_t i = 0; i < d.failed_record_ids.size() && i < kIdsShown; ++i)
        out << " " << printable(d.failed_record_ids[i]);
    if (d.failed_record_ids.size() > kIdsShown)
        out << " ... and " << d.failed_record_ids.size() - kIdsShown << " more (--output=json lists them all)";
    out << "\n\nRe-run (cargomon batch rerun " << b.uuid << "):\n";
    if (!d.finished()) {
        out << "  not yet: the batch is " << b.status << ", not finished\n";
        return;
    }
    out << "  POST /v1/orchestration/batches " << request_body(d, rerun_data(d, options)) << "\n";
    out << "  re-runs the " << d.confirmed_failed << " failed runs from " << options.reset << "\n";
}

void print_json(const Diagnosis& d, const Options& options, std::ostream& out) {
    const auto& b = d.batch;
    rapidjson::StringBuffer buf;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    auto string_or_null = [&](const std::optional<std::string>& s) { s ? w.String(*s) : w.Null(); };
    auto time_or_null = [&](const std::optional<SystemTime>& t) { t ? w.String(format_iso8601(*t)) : w.Null(); };
    w.StartObject();
    w.Key("healthy"), w.Bool(d.healthy());
    w.Key("batch");
    w.StartObject();
    w.Key("uuid"), w.String(b.uuid);
    w.Key("workflowUuid"), w.String(b.workflow_uuid);
    w.Key("workflowName"), w.String(d.workflow_name);
    w.Key("playUuid"), d.owner_kind == "play" ? w.String(d.owner_uuid) : w.Null();
    w.Key("toolUuid"), d.owner_kind == "tool" ? w.String(d.owner_uuid) : w.Null();
    w.Key("status"), w.String(b.status);
    w.Key("runsStatus"), string_or_null(b.runs_status);
    w.Key("errorMessage"), string_or_null(b.error_message);
    w.Key("runsCount"), w.Int64(b.runs_count);
    w.Key("executedRunsCount"), w.Int64(b.executed_runs_count);
    w.Key("failedRunsCount"), w.Int64(b.failed_runs_count);
    w.Key("unfinishedRunsCount"), w.Int64(d.unfinished());
    w.Key("creditsUsedCount"), w.Double(b.credits_used_count);
    w.Key("createdAt"), time_or_null(b.created_at);
    w.Key("finishedAt"), time_or_null(b.finished_at);
    w.EndObject();
    w.Key("confirmedFailedRunsCount"), w.Int64(d.confirmed_failed);
    w.Key("release");
    w.StartObject();
    w.Key("uuid"), string_or_null(b.release_uuid);
    w.Key("deployedUuid"), string_or_null(d.deployed_release_uuid);
    w.Key("nodeSlugs"), w.StartArray();
    for (const auto& n : d.nodes) w.String(n.slug);
    w.EndArray();
    w.EndObject();
    w.Key("failedRunsRead"), w.Int64(d.failed_read());
    auto counts = [&](const char* key, const char* name, const std::map<std::string, std::int64_t>& m) {
        w.Key(key);
        w.StartArray();
        for (const auto& c : ranked(m)) {
            w.StartObject();
            w.Key(name), w.String(c.key);
            w.Key("runs"), w.Int64(c.runs);
            w.EndObject();
        }
        w.EndArray();
    };
    counts("failuresByNode", "nodeSlug", d.by_node);
    counts("failuresByMessage", "message", d.by_message);
    w.Key("failedRecordIds"), w.StartArray();
    for (const auto& id : d.failed_record_ids) w.String(id);
    w.EndArray();
    w.Key("rerun");
    if (d.finished() && d.confirmed_failed > 0) {
        rapidjson::Document body;
        body.Parse(request_body(d, rerun_data(d, options)).c_str());
        body.Accept(w);
    } else {
        w.Null();
    }
    w.EndObject();
    out << buf.GetString() << "\n";
}

// The API's refusals of a doctor or a re-run, in plain words.
std::string explained(const cargo::ApiError& e) {
    static const std::map<std::string, std::string> kWords = {
        {"batchNotFinished", "the batch is not finished yet; re-run its failed records once it is"},
        {"tooManyRuns", "too many runs for one request (the API takes at most 10,000)"},
        {"noRunsFound", "no runs match"},
        {"notEnoughCredits", "the workspace has not enough credits left to run the records again"},
        {"workflowNotFound", "the batch's workflow no longer exists"},
    };
    return plain_words(e, kWords);
}

bool confirmed(std::istream& in, std::ostream& out) {
    out << "Create this batch? [y/N] " << std::flush;
    std::string answer;
    if (!std::getline(in, answer)) {
        out << "\n";
        return false;
    }
    return answer == "y" || answer == "Y" || answer == "yes";
}

// Polls `created` until it finishes or `options.wait_for` passes; prints the outcome.
int follow(ApiSession& api, const std::string& created, const Options& options, std::ostream& out, std::ostream& err) {
    const std::string prefix = "cargomon batch rerun: ";
    const SteadyTime deadline = api.clock.monotonic() + options.wait_for;
    std::mt19937_64 rng{std::random_device{}()};
    out << "Waiting for batch " << created << " to finish (at most " << format_duration(options.wait_for) << ")...\n";
    for (int attempt = 0;; ++attempt) {
        const cargo::Batch b = api.client.get_batch(created);
        if (const auto outcome = cargo::rerun_outcome(b)) {
            out << "Batch " << created << " " << b.status << ": " << outcome->recovered << " runs recovered, "
                << outcome->still_failing << " still failing";
            if (outcome->result == "cancelled") out << " (cancelled: nothing concluded)";
            out << ".\n";
            if (outcome->result == "still_failing")
                out << "See why: cargomon batch doctor " << created << "\n";
            return outcome->result == "recovered" ? 0 : 1;
        }
        // The client's backoff, but never faster than once a second: a batch takes minutes.
        const Millis delay = std::max<Millis>(std::chrono::seconds{1}, cargo::backoff_delay(api.options.retry, std::min(attempt, 16), rng));
        if (api.clock.monotonic() + delay > deadline) {
            err << prefix << "batch " << created << " is still " << b.status << " after "
                << format_duration(options.wait_for) << "; follow it with: cargomon batch doctor " << created << "\n";
            return 1;
        }
        api.connection.sleeper->sleep_until(api.clock.monotonic() + delay);
    }
}

int rerun(ApiSession& api, const Diagnosis& d, const Options& options, std::istream& in, std::ostream& out,
          std::ostream& err) {
    cargo::ApiClient& client = api.client;
    const auto& b = d.batch;
    const std::string prefix = "cargomon batch rerun: ";
    if (!d.finished()) {
        err << prefix << "batch " << b.uuid << " is " << b.status
            << ", not finished; re-run its failed records once it is\n";
        return 1;
    }
    if (d.confirmed_failed == 0) {
        out << "Batch " << b.uuid << " has no failed runs: nothing to re-run.\n";
        return 0;
    }
    if (options.kind == "recordIds")
        if (auto problem = record_ids_problem(d); !problem.empty()) {
            err << prefix << problem << "\n";
            return 2;
        }
    const std::string data = rerun_data(d, options);
    if (options.dry_run) {
        out << request_body(d, data) << "\n";
        return 0;
    }
    out << "Re-run of batch " << b.uuid << " ("
        << (d.workflow_name.empty() ? b.workflow_uuid : printable(d.workflow_name)) << "):\n"
        << "  " << d.confirmed_failed << " failed runs of " << b.runs_count << ", "
        << (options.kind == "runs" ? "from " + options.reset : "by record id") << "\n"
        << "  POST /v1/orchestration/batches " << request_body(d, data) << "\n";
    if (!options.yes && !confirmed(in, out)) {
        out << "Nothing created.\n";
        return 1;
    }
    try {
        const cargo::Batch created = client.create_batch(b.workflow_uuid, data);
        out << "Created batch " << created.uuid << " (" << created.status << ").\n";
        if (!options.wait) return 0;
        try {
            return follow(api, created.uuid, options, out, err);
        } catch (const cargo::ApiError& e) {
            err << prefix << "batch " << created.uuid << " was created, but following it failed: " << explained(e)
                << "; follow it with: cargomon batch doctor " << created.uuid << "\n";
            return 2;
        }
    } catch (const cargo::ApiError& e) {
        err << prefix << "not created: " << explained(e) << "\n";
        // No answer: the request may have reached Cargo. Look before trying again.
        if (e.status() == 0 || e.status() >= 500)
            err << prefix << "the batch may still have been created; list the workflow's batches before "
                << "running this again\n";
        return 2;
    }
}

int run(const Options& options, std::istream& in, std::ostream& out, std::ostream& err) {
    const std::string prefix = "cargomon batch " + options.command + ": ";
    const auto config = load_cli_config(options.config_file, err);
    if (!config) return 2;
    try {
        ApiSession api(*config);
        cargo::ApiClient& client = api.client;
        const Diagnosis d = actions::diagnose(client, options.batch_uuid);
        if (options.command == "rerun") return rerun(api, d, options, in, out, err);
        if (options.output == "json") print_json(d, options, out);
        else print_table(d, options, out);
        return d.healthy() ? 0 : 1;
    } catch (const cargo::ApiError& e) {
        err << prefix << explained(e) << "\n";
        return 2;
    } catch (const std::invalid_argument& e) {  // a client option the daemon would refuse too
        err << prefix << e.what() << "\n";
        return 2;
    }
}

}  // namespace

int batch_main(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err) {
    Options options;
    try {
        if (!parse_options(args, options, out)) return 0;
    } catch (const UsageError& e) {
        return usage_error(err, "cargomon batch", e.what());
    }
    // The client logs its retries; what failed is in the report already.
    setup_logging("error", "logfmt", "cargomon");
    return run(options, in, out, err);
}

}  // namespace cargomon::cli
