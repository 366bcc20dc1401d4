// docs/design.md held to the tree, in what reading the tree can check: every path it
// writes in backticks exists (a folder when written with a trailing slash); every
// "`file`: `symbol`, `symbol`" names symbols that file declares; the routes table is
// exactly what web/routes.cpp registers, and nothing else registers one; the fuzz targets
// listed are exactly fuzz/'s; every folder under tests/ is named; the dependency order is
// the one the CMakeLists.txt files link; a detail/ header is included only beside it. A
// file moved, a symbol renamed, a route, a target or a test folder added without the doc
// fails here, naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/docs/markdown.h"

namespace cargomon::docs_test {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = CARGOMON_SOURCE_DIR;

// The doc outside fenced code blocks (the data-flow sketch), as sections() reads it.
std::string design_prose() {
    const auto all = sections(read_source_file("docs/design.md"));
    EXPECT_FALSE(all.empty());
    return all.empty() ? "" : all.front().heading + "\n" + all.front().body;
}

// Units the "`file`: `symbol`" form is read in: each table row alone, each paragraph's
// lines joined (a list may wrap).
std::vector<std::string> units(const std::string& prose) {
    std::vector<std::string> out;
    std::string paragraph;
    std::istringstream in(prose);
    auto flush = [&] {
        if (!paragraph.empty()) out.push_back(paragraph);
        paragraph.clear();
    };
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("|")) {
            flush();
            out.push_back(line);
        } else if (line.find_first_not_of(' ') == std::string::npos || line.starts_with("#")) {
            flush();
        } else {
            paragraph += (paragraph.empty() ? "" : " ") + line;
        }
    }
    flush();
    return out;
}

// `text` without its parenthesized asides (code spans inside them included), so that a
// list interrupted by one, "`a` (why), `b`", reads as "`a` , `b`". Parentheses inside a
// code span (`run_once()`) are the span's.
std::string without_asides(const std::string& text) {
    std::string out;
    int depth = 0;
    bool code = false;
    for (char c : text) {
        if (c == '`') code = !code;
        if (!code && c == '(') ++depth;
        if (depth == 0) out += c;
        if (!code && c == ')' && depth > 0) --depth;
    }
    return out;
}

// A repository path as the doc writes one: a/b, a/b.h, a/ (no spaces, colons or URLs).
bool is_repo_path(const std::string& span) {
    static const std::regex path(R"([A-Za-z0-9_.-]+(/[A-Za-z0-9_.<>{},*-]*)+)");
    return std::regex_match(span, path);
}

// The source without comments, so that a symbol only mentioned in one does not count.
std::string code_of(const std::string& source) {
    std::string text = std::regex_replace(source, std::regex(R"(/\*[\s\S]*?\*/)"), " ");
    return std::regex_replace(text, std::regex(R"(//[^\n]*)"), "");
}

// Whether `code` declares or defines `name`: a type, namespace or alias of that name, a
// function (name followed by its parameters) or a variable or constant.
bool declares(const std::string& code, const std::string& name) {
    const std::string n = "\\b" + name + "\\b";
    const std::regex forms("(class|struct|union|enum|enum class|namespace|concept)\\s+(\\w+::)*" + name + "\\b" +
                           "|using\\s+" + name + "\\s*=" + "|" + n + "\\s*\\(" + "|[\\w>&*]\\s+" + n +
                           "\\s*[;={\\[]");
    return std::regex_search(code, forms);
}

TEST(DesignDoc, EveryPathItNamesExists) {
    std::size_t checked = 0;
    for (const auto& span : code_spans(design_prose())) {
        if (!is_repo_path(span)) continue;
        ++checked;
        // A pattern (collectors/<kind>.{h,cpp}, fuzz/corpus/<target>/) names its folder.
        const auto pattern = span.find_first_of("<{*");
        if (pattern != std::string::npos) {
            const std::string folder = span.substr(0, span.rfind('/', pattern) + 1);
            EXPECT_TRUE(fs::is_directory(kRoot / folder)) << span << ": no folder " << folder;
            continue;
        }
        EXPECT_TRUE(fs::exists(kRoot / span)) << span << " does not exist";
        if (span.ends_with("/")) {
            EXPECT_TRUE(fs::is_directory(kRoot / span)) << span << " is not a folder";
        }
    }
    EXPECT_GT(checked, 100u) << "the doc's paths were not found: is it still written with `dir/file`?";
}

TEST(DesignDoc, EverySymbolPlacedInAFileIsDeclaredThere) {
    // "`dir/file.h`: `a`, `b()` / `c` and `Ns::d`"
    const std::string symbol = R"(`[A-Za-z_][\w:]*(?:\(\))?`)";
    const std::regex placed("`([A-Za-z0-9_/.-]+\\.(?:h|cpp))`\\s*:\\s*(" + symbol + "(?:\\s*(?:,|/|and)\\s*" + symbol +
                            ")*)");
    std::map<std::string, std::set<std::string>> by_file;
    for (const auto& unit : units(design_prose()))
        for (const auto& text : {unit, without_asides(unit)})
            for (std::sregex_iterator it(text.begin(), text.end(), placed), end; it != end; ++it)
                for (const auto& name : code_spans((*it)[2].str())) by_file[(*it)[1].str()].insert(name);

    std::size_t checked = 0;
    for (const auto& [file, names] : by_file) {
        ASSERT_TRUE(fs::exists(kRoot / file)) << file << " does not exist";
        const std::string code = code_of(read_source_file(file));
        for (std::string name : names) {
            ++checked;
            if (name.ends_with("()")) name.resize(name.size() - 2);
            // Ns::name: the name declared, its qualifier (class or namespace) named there.
            const auto colons = name.rfind("::");
            const std::string last = colons == std::string::npos ? name : name.substr(colons + 2);
            EXPECT_TRUE(declares(code, last)) << file << " does not declare " << last << " (docs/design.md: `" << file
                                              << "`: `" << name << "`)";
            if (colons != std::string::npos) {
                const std::string qualifier = name.substr(0, colons);
                const std::string inner = qualifier.substr(qualifier.rfind(':') == std::string::npos
                                                               ? 0
                                                               : qualifier.rfind(':') + 1);
                EXPECT_TRUE(std::regex_search(code, std::regex("\\b" + inner + "\\b")))
                    << file << " has no " << inner << " (docs/design.md: `" << name << "`)";
            }
        }
    }
    EXPECT_GT(checked, 60u) << "the doc's \"`file`: `symbol`\" places were not found";
}

// "access METHOD /path" for each route.
std::set<std::string> routes_in_source(const std::string& source) {
    std::set<std::string> routes;
    const std::regex add(R"re(add_route\(\s*Access::(\w+)\s*,\s*"(\w+)"\s*,\s*"([^"]+)")re");
    for (std::sregex_iterator it(source.begin(), source.end(), add), end; it != end; ++it)
        routes.insert((*it)[1].str() + " " + (*it)[2].str() + " " + (*it)[3].str());
    return routes;
}

// The source folders: every folder at the top with a CMakeLists.txt, but the tests, the
// benchmarks, the fuzz targets and build trees.
std::vector<fs::path> source_folders() {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(kRoot)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_directory() || name.starts_with(".") || name == "tests" || name == "bench" || name == "fuzz" ||
            fs::exists(entry.path() / "CMakeCache.txt") || !fs::exists(entry.path() / "CMakeLists.txt"))
            continue;
        out.push_back(entry.path());
    }
    return out;
}

TEST(DesignDoc, ListsEveryRouteWebRoutesRegistersAndNoOtherFileRegistersOne) {
    std::set<std::string> documented;
    for (const auto& row : table_rows(design_prose(), "route")) {
        ASSERT_GE(row.size(), 2u);
        const auto spans = code_spans(row[0]);
        ASSERT_EQ(spans.size(), 1u) << row[0];
        documented.insert(row[1] + " " + spans[0]);
    }
    const auto registered = routes_in_source(read_source_file("web/routes.cpp"));
    EXPECT_GE(registered.size(), 10u) << "web/routes.cpp's add_route calls were not found";
    EXPECT_EQ(documented, registered) << "docs/design.md's routes table against web/routes.cpp (access METHOD path)";

    for (const auto& folder : source_folders())
        for (const auto& entry : fs::recursive_directory_iterator(folder)) {
            const auto ext = entry.path().extension();
            if (ext != ".cpp" && ext != ".h") continue;
            const std::string relative = fs::relative(entry.path(), kRoot).string();
            if (relative == "web/routes.cpp") continue;
            const auto elsewhere = routes_in_source(read_source_file(relative));
            EXPECT_TRUE(elsewhere.empty()) << relative << " registers a route (" << *elsewhere.begin()
                                           << "): every route belongs in web/routes.cpp";
        }
}

TEST(DesignDoc, ListsExactlyTheFuzzTargets) {
    std::set<std::string> documented;
    const std::regex target(R"(fuzz/(\w+)\.cpp)");
    std::smatch m;
    for (const auto& span : code_spans(design_prose()))
        if (std::regex_match(span, m, target)) documented.insert(m[1]);

    std::set<std::string> files;
    for (const auto& entry : fs::directory_iterator(kRoot / "fuzz"))
        if (entry.path().extension() == ".cpp" && entry.path().filename() != "replay_main.cpp")
            files.insert(entry.path().stem().string());

    std::set<std::string> built;
    const std::string cmake = read_source_file("fuzz/CMakeLists.txt");
    const std::regex call(R"(\ncargomon_fuzz_target\((\w+))");
    for (std::sregex_iterator it(cmake.begin(), cmake.end(), call), end; it != end; ++it) built.insert((*it)[1]);

    EXPECT_GE(files.size(), 10u);
    EXPECT_EQ(documented, files) << "docs/design.md's fuzz targets against fuzz/*.cpp";
    EXPECT_EQ(built, files) << "fuzz/CMakeLists.txt's targets against fuzz/*.cpp";
    for (const auto& name : files)
        EXPECT_FALSE(fs::is_empty(kRoot / "fuzz/corpus" / name)) << "fuzz/corpus/" << name << "/ is missing or empty";
}

TEST(DesignDoc, NamesEveryTestFolder) {
    const auto spans = code_spans(design_prose());
    const std::set<std::string> named(spans.begin(), spans.end());
    std::size_t folders = 0;
    for (auto it = fs::recursive_directory_iterator(kRoot / "tests"); it != fs::recursive_directory_iterator(); ++it) {
        const auto& entry = *it;
        if (!entry.is_directory()) continue;
        // What a testdata/ folder holds is data, laid out as its source has it.
        if (entry.path().parent_path().filename() == "testdata") {
            it.disable_recursion_pending();
            continue;
        }
        ++folders;
        const std::string path = fs::relative(entry.path(), kRoot).string();
        EXPECT_TRUE(named.contains(path + "/") || named.contains(path)) << path << "/ is not in docs/design.md";
    }
    EXPECT_GE(folders, 20u);
}

// "nothing outside config/ includes them": a detail/ folder's headers are its parent's.
TEST(DesignDoc, DetailHeadersAreIncludedOnlyInsideTheirFolder) {
    std::size_t details = 0;
    for (const auto& folder : source_folders())
        for (const auto& entry : fs::recursive_directory_iterator(folder)) {
            if (!entry.is_directory() || entry.path().filename() != "detail") continue;
            ++details;
            const std::string owner = fs::relative(entry.path().parent_path(), kRoot).string() + "/";
            const std::string include = "#include \"" + owner + "detail/";
            for (const auto& other : source_folders())
                for (const auto& file : fs::recursive_directory_iterator(other)) {
                    const std::string relative = fs::relative(file.path(), kRoot).string();
                    if (!file.is_regular_file() || relative.starts_with(owner)) continue;
                    if (file.path().extension() != ".h" && file.path().extension() != ".cpp") continue;
                    EXPECT_EQ(read_source_file(relative).find(include), std::string::npos)
                        << relative << " includes an internal header of " << owner;
                }
        }
    EXPECT_GE(details, 1u) << "no detail/ folder found (docs/design.md names config/detail/)";
}

// Each library's cargomon libraries, as its CMakeLists.txt links them.
std::map<std::string, std::set<std::string>> cmake_links() {
    std::map<std::string, std::set<std::string>> links;
    const std::regex library(R"(add_library\(\s*(\w+))");
    const std::regex link(R"(target_link_libraries\(\s*(\w+)([^)]*)\))");
    const std::regex word(R"([\w:-]+)");
    for (const auto& folder : source_folders())
        for (const auto& entry : fs::recursive_directory_iterator(folder)) {
            if (entry.path().filename() != "CMakeLists.txt") continue;
            const std::string text = read_source_file(fs::relative(entry.path(), kRoot).string());
            for (std::sregex_iterator it(text.begin(), text.end(), library), end; it != end; ++it) links[(*it)[1]];
            for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it) {
                const std::string deps = (*it)[2];
                auto& into = links[(*it)[1]];
                for (std::sregex_iterator w(deps.begin(), deps.end(), word), wend; w != wend; ++w) into.insert(w->str());
            }
        }
    return links;
}

TEST(DesignDoc, DependencyOrderIsTheOneCMakeLinks) {
    const auto rows = table_rows(design_prose(), "library");
    ASSERT_GE(rows.size(), 15u);
    const auto links = cmake_links();
    std::map<std::string, std::size_t> row_of;  // library -> its row
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (const auto& name : code_spans(rows[i][0])) {
            EXPECT_TRUE(links.contains(name)) << "`" << name << "` is no add_library() target";
            row_of[name] = i;
        }
    for (const auto& [name, row] : row_of) {
        ASSERT_GE(rows[row].size(), 3u);
        const std::string& depends = rows[row][2];
        if (!links.contains(name)) continue;
        for (const auto& dep : links.at(name)) {
            if (!row_of.contains(dep) || row_of.at(dep) == row) continue;  // a third-party library, or the same row
            EXPECT_LT(row_of.at(dep), row) << name << " links " << dep << ", listed below it";
            if (depends != "everything") {
                EXPECT_TRUE(std::regex_search(depends, std::regex("\\b" + dep + "\\b")))
                    << name << " links " << dep << ", which its \"depends on\" cell does not name: " << depends;
            }
        }
    }
}

}  // namespace
}  // namespace cargomon::docs_test
