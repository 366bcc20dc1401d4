// Every flag a program's --help lists is in the docs' flag table for that program, and
// every flag a table documents is one the program has: a flag added, renamed or dropped
// on one side only fails here, named.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/daemon/daemon_process.h"
#include "tests/docs/markdown.h"
#include "tests/support/sim_process.h"

namespace cargomon::docs_test {
namespace {

struct Place {
    std::string file;
    std::string heading;  // of the section whose "flag" tables document the program
};

// The flags --help lists: lines that start (after indentation) with --name.
std::set<std::string> help_flags(const std::string& help) {
    std::set<std::string> flags;
    std::size_t pos = 0;
    while (pos < help.size()) {
        auto end = help.find('\n', pos);
        if (end == std::string::npos) end = help.size();
        std::string line = help.substr(pos, end - pos);
        pos = end + 1;
        auto first = line.find_first_not_of(' ');
        if (first == std::string::npos || first == 0 || line.compare(first, 2, "--") != 0) continue;
        auto stop = line.find_first_of(" =", first);
        flags.insert(line.substr(first, stop - first));
    }
    flags.erase("--help");
    return flags;
}

std::set<std::string> documented_flags(const std::vector<Place>& places) {
    std::set<std::string> flags;
    for (const auto& place : places) {
        bool found = false;
        for (const auto& section : sections(read_source_file(place.file))) {
            if (section.heading != place.heading) continue;
            found = true;
            for (const auto& row : table_rows(section.body, "flag")) {
                auto spans = code_spans(row.at(0));
                if (spans.empty() || spans[0].rfind("--", 0) != 0) continue;
                flags.insert(spans[0].substr(0, spans[0].find_first_of(" =")));
            }
        }
        EXPECT_TRUE(found) << place.file << " has no section \"" << place.heading << "\"";
    }
    flags.erase("--help");
    return flags;
}

void expect_same(const std::set<std::string>& help, const std::set<std::string>& docs, const std::string& program) {
    EXPECT_FALSE(help.empty()) << program << ": no flags read from --help";
    for (const auto& f : help) EXPECT_TRUE(docs.count(f)) << program << " " << f << " is in --help but not documented";
    for (const auto& f : docs) EXPECT_TRUE(help.count(f)) << program << " " << f << " is documented but not in --help";
}

std::string help_of(const std::vector<std::string>& args) {
    auto result = testing::run_cargomon(args);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return result.output;
}

TEST(FlagsDoc, Daemon) {
    expect_same(help_flags(help_of({"--help"})),
                documented_flags({{"docs/operations.md", "Flags"}, {"docs/security.md", "Flags"}}), "cargomon");
}

TEST(FlagsDoc, Silence) {
    expect_same(help_flags(help_of({"silence", "--help"})),
                documented_flags({{"docs/alerting.md", "From the command line"}}), "cargomon silence");
}

TEST(FlagsDoc, RulesPreview) {
    expect_same(help_flags(help_of({"rules", "preview", "--help"})), documented_flags({{"docs/alerting.md", "Preview"}}),
                "cargomon rules preview");
}

TEST(FlagsDoc, Backup) {
    expect_same(help_flags(help_of({"backup", "--help"})), documented_flags({{"docs/operations.md", "Backup and restore"}}),
                "cargomon backup");
}

TEST(FlagsDoc, Batch) {
    expect_same(help_flags(help_of({"batch", "--help"})),
                documented_flags({{"docs/actions.md", "Batches: doctor and re-run"}}), "cargomon batch");
}

TEST(FlagsDoc, Export) {
    expect_same(help_flags(help_of({"export", "--help"})), documented_flags({{"docs/export.md", "Flags"}}),
                "cargomon export");
}

// Every subcommand daemon/main.cpp dispatches (`first == "export"`, and "rules preview"
// with its second word) has its usage line in `cargomon --help`: a subcommand added to
// the switch and not to the help fails here, named.
TEST(FlagsDoc, HelpListsEverySubcommand) {
    const std::string main_cpp = read_source_file("daemon/main.cpp");
    const std::regex dispatch(R"re(first == "([a-z-]+)"(?:[^\n]*args\[1\] == "([a-z-]+)")?)re");
    std::vector<std::string> subcommands;
    for (auto it = std::sregex_iterator(main_cpp.begin(), main_cpp.end(), dispatch); it != std::sregex_iterator(); ++it)
        subcommands.push_back((*it)[1].str() + ((*it)[2].matched ? " " + (*it)[2].str() : ""));
    ASSERT_GE(subcommands.size(), 8u) << "daemon/main.cpp's dispatch was not read";
    const std::string help = help_of({"--help"});
    for (const auto& name : subcommands) {
        // Each subcommand's usage line, under "usage: cargomon [flags]".
        EXPECT_NE(help.find("\n       cargomon " + name + " "), std::string::npos)
            << "cargomon --help has no usage line for \"" << name << "\":\n" << help;
    }
}

TEST(FlagsDoc, Simulator) {
    auto help = testing::run_command({testing::sim_binary(), "--help"});
    EXPECT_EQ(help.exit_code, 0) << help.output;
    expect_same(help_flags(help.output), documented_flags({{"docs/cargo-sim.md", "Flags"}}), "cargomon-sim");
}

}  // namespace
}  // namespace cargomon::docs_test
