#include "daemon/cli/silence.h"

#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

#include "alerts/notify/silences.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/timefmt.h"
#include "config/http_client_config.h"
#include "metrics/labels.h"
#include "web/api.h"

namespace cargomon::cli {
namespace {

constexpr const char* kUsage = R"(usage: cargomon silence add [--url=URL] [--http.config.file=FILE] [--duration=D | --end=TIME] [--author=NAME] --comment=TEXT MATCHER...
       cargomon silence list [--url=URL] [--http.config.file=FILE] [--all]
       cargomon silence expire [--url=URL] [--http.config.file=FILE] ID...

Manages the silences of a running cargomon through its /api/v1/silences.

  MATCHER         name=value, name!=value, name=~regex or name!~regex (regexes are
                  anchored); quote a value with spaces: 'name="a b"'
)";

constexpr const char* kDefaultUrl = "http://127.0.0.1:9464";

// Exit status 2 (UsageError, common/cli.h): the command line itself is wrong.
// Exit status 1: the command was understood but could not be done.
struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Args {
    std::map<std::string, std::string> values;  // --name=value or --name value, as given
    bool all = false;                           // --all
    std::vector<std::string> positional;
};

// The flags of `command` (add, list, expire; "" for all of them, as --help shows them)
// bound to `args`: a flag given is in args.values.
std::unique_ptr<CLI::App> make_silence_app(const std::string& command, Args& args) {
    auto app = make_app(kUsage, '=', 18);
    auto valued = [&](const std::string& name, const std::string& value_name, const std::string& what) {
        app->add_option_function<std::string>(
               "--" + name, [&args, name](const std::string& value) { args.values[name] = value; }, what)
            ->type_name(value_name);
    };
    app->add_option("MATCHER_OR_ID", args.positional, "matchers (add), silence IDs (expire)");
    valued("url", "URL",
           "the daemon, http:// or https:// (default $CARGOMON_URL, else\n"
           "http://127.0.0.1:9464); credentials go in --http.config.file");
    valued("http.config.file", "FILE",
           "how to reach a daemon behind TLS or basic auth, as amtool's flag:\n"
           "basic_auth: {username, password | password_file}\n"
           "authorization: {type, credentials | credentials_file}\n"
           "tls_config: {ca_file, cert_file, key_file, server_name,\n"
           "             insecure_skip_verify}\n"
           "proxy_url: http://HOST[:PORT]\n"
           "(docs/security.md, \"Clients\")");
    if (command == "add" || command.empty()) {
        valued("duration", "D", "how long the new silence lasts, from now (default 1h)");
        valued("end", "TIME", "when it ends instead, RFC 3339 (2026-11-28T12:00:00Z)");
        valued("author", "NAME", "who creates it (default $USER)");
        valued("comment", "TEXT", "why (the daemon requires one)");
    }
    if (command == "list" || command.empty())
        app->add_flag("--all", args.all, "list expired silences too")->disable_flag_override();
    finish(*app);
    return app;
}

std::string env_or(const char* name, const std::string& fallback) {
    const char* value = std::getenv(name);
    return value && *value ? value : fallback;
}

// The daemon's base URL split into the origin a client connects to and the path prefix
// requests go under.
struct Daemon {
    std::string url;     // as given, for messages
    std::string origin;  // scheme://host[:port]
    std::string prefix;  // a path it is served under behind a proxy, without trailing '/'
    HttpClientConfig http;  // --http.config.file (its timeouts: connect 5 s, read 30 s)
};

Daemon parse_daemon_url(const std::string& url) {
    if (!url.starts_with("http://") && !url.starts_with("https://"))
        throw UsageError("--url: expected http://HOST:PORT or https://HOST[:PORT][/PATH], got \"" + url + "\"");
    const std::size_t host = url.find("://") + 3;
    const std::size_t slash = url.find('/', host);
    Daemon d{.url = url, .origin = url.substr(0, slash), .prefix = slash == std::string::npos ? "" : url.substr(slash)};
    while (d.prefix.ends_with('/')) d.prefix.pop_back();
    // The URL is printed in messages; a password in it would be too.
    if (d.origin.find('@', host) != std::string::npos)
        throw UsageError("--url: put credentials in --http.config.file (basic_auth), not in the URL");
    // The host and port are read as the client will read them (common/http_client.h).
    try {
        make_http_client(d.origin, HttpClientConfig{});
    } catch (const std::invalid_argument& e) {
        std::string why = e.what();
        if (why.starts_with("URL: ")) why.erase(0, 5);
        throw UsageError("--url: " + why + " in \"" + url + "\"");
    }
    return d;
}

// The daemon's own reason in a refusal, else the status.
std::string refusal(const httplib::Response& res) {
    rapidjson::Document doc;
    if (!parse_json(res.body, doc))
        if (auto error = web::read_error(doc)) return *error;
    return "HTTP " + std::to_string(res.status);
}

// httplib names its errors in one word ("Connection"); say what happened.
std::string transport_error(httplib::Error error) {
    switch (error) {
        case httplib::Error::Connection: return "connection refused or host unreachable (is the daemon running?)";
        case httplib::Error::ConnectionTimeout: return "timed out connecting";
        case httplib::Error::Read: return "no answer (timed out or connection closed)";
        case httplib::Error::SSLConnection: return "TLS handshake failed";
        case httplib::Error::SSLServerVerification:
            return "its TLS certificate did not verify (tls_config: ca_file, server_name)";
        case httplib::Error::SSLLoadingCerts: return "cannot load the CA certificates (tls_config: ca_file)";
        default: return httplib::to_string(error);
    }
}

httplib::Response call(const Daemon& d, const std::string& method, const std::string& path,
                       const std::string& body = "") {
    std::unique_ptr<httplib::Client> client;
    try {
        client = make_http_client(d.origin, d.http);
    } catch (const std::exception& e) {
        throw Failure(std::string(e.what()) + " (tls_config)");
    }
    const std::string target = d.prefix + path;
    httplib::Result result = method == "GET"    ? client->Get(target.c_str())
                             : method == "POST" ? client->Post(target.c_str(), body, "application/json")
                                                : client->Delete(target.c_str());
    if (!result) throw Failure("cannot reach cargomon at " + d.url + ": " + transport_error(result.error()));
    if (result->status == 401)
        throw Failure("cargomon at " + d.url + " wants credentials" +
                      (d.http.basic_auth || d.http.authorization ? std::string(" and refused the ones given")
                                                                 : std::string(" (basic_auth in --http.config.file)")));
    return *result;
}

rapidjson::Document parse_answer(const Daemon& d, const httplib::Response& res) {
    rapidjson::Document doc;
    if (parse_json(res.body, doc)) throw Failure(d.url + " answered with something that is not JSON: is it cargomon?");
    return doc;
}

metrics::Matcher parse_matcher_arg(const std::string& text) {
    auto parsed = metrics::parse_matcher(text);
    if (auto* why = std::get_if<std::string>(&parsed)) throw Failure("bad matcher '" + text + "': " + *why);
    return std::get<metrics::Matcher>(std::move(parsed));
}

SystemTime end_time(const Args& args, SystemTime now) {
    if (args.values.contains("duration") && args.values.contains("end"))
        throw UsageError("give --duration or --end, not both");
    if (auto it = args.values.find("end"); it != args.values.end()) {
        auto end = parse_iso8601(it->second);
        if (!end) throw Failure("bad --end \"" + it->second + "\": expected an RFC 3339 time such as 2026-11-28T12:00:00Z");
        return *end;
    }
    const std::string text = args.values.contains("duration") ? args.values.at("duration") : "1h";
    std::string why;
    auto duration = parse_duration(text, &why);
    if (!duration) throw Failure("bad --duration \"" + text + "\": " + why);
    if (duration->count() <= 0) throw Failure("bad --duration \"" + text + "\": must be longer than 0s");
    return now + *duration;
}

int add(const Daemon& d, const Args& args, std::ostream& out) {
    if (args.positional.empty()) throw UsageError("silence add needs at least one MATCHER");
    std::vector<metrics::Matcher> matchers;
    for (const auto& text : args.positional) matchers.push_back(parse_matcher_arg(text));
    const SystemTime ends_at = end_time(args, SystemClock{}.now());
    const std::string author = args.values.contains("author") ? args.values.at("author") : env_or("USER", "");
    const std::string comment = args.values.contains("comment") ? args.values.at("comment") : "";

    const alerts::notify::Silence silence{
        .matchers = std::move(matchers), .ends_at = ends_at, .created_by = author, .comment = comment};
    httplib::Response res = call(d, "POST", "/api/v1/silences", web::silence_request(silence));
    if (res.status != 200) throw Failure("cargomon at " + d.url + " refused the silence: " + refusal(res));
    auto id = web::read_silence_id(parse_answer(d, res));
    if (!id) throw Failure(d.url + " answered without a silenceID");
    out << *id << "\n";
    return 0;
}

// Seconds are precision enough to read; the daemon's text when it is not a time.
std::string readable_time(const std::string& iso) {
    auto t = parse_iso8601(iso);
    return t ? format_sql_datetime(*t) : iso;
}

// A cell on one line: a comment's newlines and tabs would break the table.
std::string one_line(std::string text) {
    std::replace_if(text.begin(), text.end(), [](unsigned char c) { return c < 0x20; }, ' ');
    return text;
}

void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
        }
        out << line << "\n";
    }
}

int list(const Daemon& d, const Args& args, std::ostream& out) {
    if (!args.positional.empty()) throw UsageError("silence list takes no arguments");
    httplib::Response res = call(d, "GET", "/api/v1/silences");
    if (res.status != 200) throw Failure("cargomon at " + d.url + " refused to list silences: " + refusal(res));
    rapidjson::Document doc = parse_answer(d, res);
    if (!doc.IsArray()) throw Failure(d.url + " answered with something other than a list of silences");

    const bool all = args.all;
    std::vector<std::vector<std::string>> rows = {
        {"ID", "MATCHERS", "STARTS (UTC)", "ENDS (UTC)", "CREATED BY", "COMMENT", "STATE"}};
    for (const auto& item : doc.GetArray()) {
        if (!item.IsObject()) continue;
        const web::ListedSilence s = web::read_listed_silence(item);
        if (s.state == "expired" && !all) continue;
        std::string matchers;
        for (const auto& m : s.matchers) matchers += (matchers.empty() ? "" : " ") + m;
        rows.push_back({s.id, one_line(matchers), readable_time(s.starts_at), readable_time(s.ends_at),
                        one_line(s.created_by), one_line(s.comment), s.state});
    }
    print_table(rows, out);
    return 0;
}

// Silence ids are UUIDs; anything else would change the request's path.
bool plausible_id(const std::string& id) {
    return !id.empty() && std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

int expire(const Daemon& d, const Args& args, std::ostream& out, std::ostream& err) {
    if (args.positional.empty()) throw UsageError("silence expire needs at least one ID");
    int status = 0;
    for (const auto& id : args.positional) {
        if (!plausible_id(id)) {
            err << "cargomon: \"" << id << "\" is not a silence ID\n";
            status = 1;
            continue;
        }
        httplib::Response res = call(d, "DELETE", "/api/v1/silences/" + id);
        if (res.status == 200) {
            out << "expired " << id << "\n";
        } else {
            err << "cargomon: silence " << id << ": " << refusal(res) << "\n";
            status = 1;
        }
    }
    return status;
}

}  // namespace

int silence_main(const std::vector<std::string>& words, std::ostream& out, std::ostream& err) {
    if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
        Args all;
        (words.empty() ? err : out) << make_silence_app("", all)->help();
        return words.empty() ? 2 : 0;
    }
    try {
        const std::string& command = words[0];
        if (command != "add" && command != "list" && command != "expire")
            throw UsageError("unknown silence command \"" + command + "\" (add, list or expire)");
        Args args;
        if (!parse(*make_silence_app(command, args), {words.begin() + 1, words.end()}, out)) return 0;
        Daemon d = parse_daemon_url(args.values.contains("url") ? args.values.at("url")
                                                                : env_or("CARGOMON_URL", kDefaultUrl));
        if (auto it = args.values.find("http.config.file"); it != args.values.end()) {
            auto loaded = config::load_http_client_config(it->second, config::Environment::process());
            if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded)) {
                std::string text;
                for (const auto& e : *errors) text += (text.empty() ? "" : "\n") + e.to_string();
                throw Failure("bad --http.config.file:\n" + text);
            }
            d.http = std::get<HttpClientConfig>(std::move(loaded));
        }
        if (command == "add") return add(d, args, out);
        if (command == "list") return list(d, args, out);
        return expire(d, args, out, err);
    } catch (const UsageError& e) {
        return usage_error(err, "cargomon silence", e.what());
    } catch (const Failure& e) {
        err << "cargomon: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace cargomon::cli
