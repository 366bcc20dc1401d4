// docs/promql.md lists every message with which cargomon refuses an expression: each one
// listed must be one the sources can produce (its fixed parts appear there, in order of
// the message), so a message reworded in the code and not in the doc fails here, named.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/docs/markdown.h"

namespace cargomon::docs_test {
namespace {

// The sources' string literals as one text: escaped quotes unescaped, and literals
// continued on the next line ("a " "b", "a " + "b") joined.
std::string source_text() {
    std::string text;
    for (const char* file : {"alerts/promql/parse.cpp", "alerts/promql/eval.cpp", "alerts/promql/functions.cpp",
                             "alerts/rules/rules.cpp", "metrics/labels.cpp"})
        text += read_source_file(file) + "\n";
    text = std::regex_replace(text, std::regex("\"\\s*\\+?\\s*\\n\\s*\""), "");
    return std::regex_replace(text, std::regex("\\\\\""), "\"");
}

// The fixed parts of a documented message: what is left between its <placeholders>
// (quotes around one included) and "...".
std::vector<std::string> fixed_parts(const std::string& message) {
    std::vector<std::string> parts;
    std::regex placeholder("\"?<[^>]*>\"?|\\.\\.\\.");
    std::sregex_token_iterator it(message.begin(), message.end(), placeholder, -1), end;
    for (; it != end; ++it)
        if (it->str().find_first_not_of(' ') != std::string::npos) parts.push_back(it->str());
    return parts;
}

TEST(PromQLDoc, EveryRefusalMessageListedIsInTheSources) {
    const std::string doc = read_source_file("docs/promql.md");
    const std::string source = source_text();
    std::size_t checked = 0;
    for (const auto& section : sections(doc)) {
        if (section.heading != "Refusal messages") continue;
        for (const auto& message : code_spans(section.body)) {
            auto parts = fixed_parts(message);
            if (parts.empty()) continue;
            for (const auto& part : parts)
                EXPECT_NE(source.find(part), std::string::npos) << "\"" << part << "\" of `" << message << "`";
            ++checked;
        }
    }
    EXPECT_GE(checked, 70u);
}

}  // namespace
}  // namespace cargomon::docs_test
