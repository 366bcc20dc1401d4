#include "daemon/cli/check.h"

#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>

#include "alerts/rules/rules.h"
#include "common/cli.h"
#include "config/config.h"
#include "config/web_config.h"
#include "daemon/alerting.h"

namespace cargomon::cli {
namespace {

// The FILE... of a check subcommand, or the status to return at once (--help, a usage error).
struct Files {
    std::vector<std::string> files;
    int status = -1;  // >= 0: done, return it
};

Files parse_files(const std::string& command, const std::string& what, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err) {
    const std::string usage = "usage: cargomon " + command + " FILE...\n";
    auto app = make_app(usage + "\n" + what + "\n");
    Files result;
    app->add_option("FILE", result.files, "files to check");
    finish(*app);
    try {
        if (!parse(*app, args, out)) return {{}, 0};
    } catch (const UsageError& e) {
        return {{}, usage_error(err, "cargomon " + command, e.what())};
    }
    if (result.files.empty()) {
        err << usage;
        return {{}, 2};
    }
    return result;
}

}  // namespace

// The config itself, then what the daemon would load with it: rule files and `alerting:`.
// A token_file that cannot be read here is a warning, not an error: the secret is often
// mounted only where the daemon runs (/run/secrets, systemd credentials), and the rest of
// the file is still checked, as with a token.
int check_config_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    Files parsed = parse_files("check-config", "Validates config files, with their rule files and alerting.", args,
                               out, err);
    if (parsed.status >= 0) return parsed.status;
    int status = 0;
    for (const auto& file : parsed.files) {
        auto loaded = config::load_config(file, config::Environment::process());
        if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded);
            errors && std::all_of(errors->begin(), errors->end(), [](const config::ConfigError& e) {
                return e.message.starts_with("cannot read token_file");
            })) {
            for (const auto& e : *errors) {
                std::string where = e.file;
                if (e.line > 0) where += ":" + std::to_string(e.line) + ":" + std::to_string(e.column);
                err << where << ": warning: " << e.message << " (the daemon needs it there, or CARGO_API_TOKEN)\n";
            }
            std::map<std::string, std::string> env;
            for (char** var = environ; *var; ++var) {
                std::string entry = *var;
                if (auto eq = entry.find('='); eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
            }
            env["CARGO_API_TOKEN"] = "check-config";  // stands in for the unreadable file's token
            loaded = config::load_config(file, config::Environment(env));
        }
        if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded)) {
            for (const auto& e : *errors) err << e.to_string() << "\n";
            status = 1;
            continue;
        }
        const auto& cfg = std::get<config::Config>(loaded);
        out << file << ": OK, " << cfg.collectors.size() << " collectors\n";
        try {
            auto setup = daemon::load_alerting(cfg);
            std::size_t rules = 0;
            for (const auto& g : setup.groups) rules += g.rules.size();
            out << file << ": rules OK, " << setup.groups.size() << " groups, " << rules << " rules, "
                << setup.alerting.receivers.size() << " receivers\n";
        } catch (const std::exception& e) {
            err << e.what() << "\n";
            status = 1;
        }
    }
    return status;
}

int check_rules_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    Files parsed = parse_files("check-rules", "Validates rule files.", args, out, err);
    if (parsed.status >= 0) return parsed.status;
    bool ok = true;
    for (const std::string& file : parsed.files) {
        auto result = alerts::rules::load_rule_files({file});
        if (auto* errors = std::get_if<std::vector<alerts::rules::RuleError>>(&result)) {
            ok = false;
            for (const alerts::rules::RuleError& e : *errors) err << e.to_string() << "\n";
            continue;
        }
        const auto& groups = std::get<std::vector<alerts::rules::RuleGroup>>(result);
        std::size_t rules = 0;
        for (const alerts::rules::RuleGroup& g : groups) rules += g.rules.size();
        out << file << ": OK, " << groups.size() << (groups.size() == 1 ? " group, " : " groups, ") << rules
            << (rules == 1 ? " rule" : " rules") << "\n";
    }
    return ok ? 0 : 1;
}

int check_web_config_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    Files parsed = parse_files("check-web-config", "Validates web config files (TLS, basic auth, headers).", args,
                               out, err);
    if (parsed.status >= 0) return parsed.status;
    int status = 0;
    for (const std::string& file : parsed.files) {
        config::WebConfigResult result = config::load_web_config(file, config::Environment::process());
        if (const config::WebConfig* c = std::get_if<config::WebConfig>(&result)) {
            out << file << ": OK (TLS " << (c->tls ? "on" : "off");
            if (c->tls && c->tls->client_auth != config::ClientAuthType::no_client_cert)
                out << ", client certificates " << config::client_auth_name(c->tls->client_auth);
            out << ", " << c->basic_auth_users.size() << (c->basic_auth_users.size() == 1 ? " user" : " users")
                << ")\n";
            continue;
        }
        for (const config::ConfigError& e : std::get<std::vector<config::ConfigError>>(result))
            err << e.to_string() << "\n";
        status = 1;
    }
    return status;
}

}  // namespace cargomon::cli
