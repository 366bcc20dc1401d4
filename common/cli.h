#pragma once
// The command lines of cargomon (daemon/cli/) and cargomon-sim, all parsed by CLI11 in
// Prometheus' style: --flag=value or --flag value, switches without a value. What is
// shared: the help layout (one line per flag, "  --name=VALUE  what (default X)"), and
// CLI11's parse errors turned into the messages the programs have always printed.
#include <CLI/CLI.hpp>

#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace cargomon::cli {

// A bad command line: the caller prints it with usage_error(), exit 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Prints what every command prints for a bad command line, "PROGRAM: what" then
// "(see PROGRAM --help)", and returns 2, the exit status that goes with it.
inline int usage_error(std::ostream& err, const std::string& program, const std::string& what) {
    err << program << ": " << what << "\n(see " << program << " --help)\n";
    return 2;
}

// --help: the app's description (usage lines and what it does; it ends with the blank line
// it wants before the flags, if any), one line per flag with its
// description and "(default X)" when the flag has a default_str, then the footer. A flag
// whose name reaches `column` has its description on the next line; a description's own
// newlines continue under it.
class HelpFormatter : public CLI::Formatter {
public:
    // `separator` goes between a flag and its value's name: '=' (--config.file=FILE) or ' '.
    HelpFormatter(char separator, std::size_t column) : separator_(separator), column_(column) {}

    std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
        std::string text = app->get_description();
        if (!text.empty() && !text.ends_with('\n')) text += '\n';
        std::string flags;
        for (const CLI::Option* opt : app->get_options()) {
            if (opt->get_lnames().empty()) continue;  // positionals: in the usage lines
            std::string name = "  --" + opt->get_lnames().front();
            if (!opt->get_type_name().empty()) name += separator_ + opt->get_type_name();
            std::string what = opt->get_description();
            if (!opt->get_default_str().empty()) what += " (default " + opt->get_default_str() + ")";
            const std::string indent(column_, ' ');
            std::string line = name;
            if (line.size() + 2 > column_) {
                line += "\n" + indent;
            } else {
                line += std::string(column_ - line.size(), ' ');
            }
            for (char c : what) line += c == '\n' ? "\n" + indent : std::string(1, c);
            flags += line + "\n";
        }
        text += flags;
        if (!app->get_footer().empty()) text += "\n" + app->get_footer() + (app->get_footer().ends_with('\n') ? "" : "\n");
        return text;
    }

private:
    char separator_;
    std::size_t column_;
};

// An app with cargomon's conventions: `usage` as its help text's head, repeated flags
// keep the last value, unknown words left for parse() to name.
inline std::unique_ptr<CLI::App> make_app(const std::string& usage, char separator = '=', std::size_t column = 30) {
    auto app = std::make_unique<CLI::App>(usage);
    app->formatter(std::make_shared<HelpFormatter>(separator, column));
    app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app->allow_extras();
    app->set_help_flag();  // added again last, by finish()
    return app;
}

// --help (and -h) last in the help, after every flag.
inline void finish(CLI::App& app) { app.set_help_flag("-h,--help", "this text"); }

// How an unknown flag given with a value is named: "--name" or the whole "--name=value".
enum class UnknownFlag { name, whole };

// CLI11's message for `e` in the words of cargomon's messages.
inline std::string usage_message(const CLI::ParseError& e) {
    const std::string what = e.what();
    if (e.get_name() == "ArgumentMismatch") {
        std::string name = what.substr(0, what.find_first_of(": "));
        if (!name.starts_with("-")) name = "--" + name;  // a flag override names the flag bare
        if (what.find("disallowed flag override") != std::string::npos) return name + " takes no value";
        if (what.find("required") != std::string::npos && what.find("missing") != std::string::npos)
            return name + " needs a value";
    }
    return what;
}

// Parses `args` (the words after the program's or subcommand's name). Returns false when
// --help or --version was given: its text is printed on `out`. Throws UsageError.
inline bool parse(CLI::App& app, const std::vector<std::string>& args, std::ostream& out,
                  UnknownFlag unknown = UnknownFlag::name) {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        out << app.help();
        return false;
    } catch (const CLI::CallForVersion& e) {
        out << e.what() << "\n";
        return false;
    } catch (const CLI::ParseError& e) {
        throw UsageError(usage_message(e));
    }
    for (const std::string& extra : app.remaining()) {
        if (extra.starts_with("--"))
            throw UsageError("unknown flag " + (unknown == UnknownFlag::whole ? extra : extra.substr(0, extra.find('='))));
        throw UsageError("unexpected argument \"" + extra + "\"");
    }
    return true;
}

}  // namespace cargomon::cli
