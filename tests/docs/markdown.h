#pragma once
// Just enough Markdown reading to hold the docs to the code: headed sections and the
// cells of pipe tables, with fenced code blocks skipped.
#include <string>
#include <vector>

namespace cargomon::docs_test {

// The contents of a repository file; throws when it cannot be read.
std::string read_source_file(const std::string& relative_path);

struct Section {
    int level = 0;        // 2 for "## ..."
    std::string heading;  // the heading line without its #s: "`client`"
    std::string body;     // up to the next heading of the same or a higher level, subsections included
};
std::vector<Section> sections(const std::string& markdown);

// The rows (cells trimmed, header and separator left out) of every table whose first
// header cell is `first_header`.
std::vector<std::vector<std::string>> table_rows(const std::string& markdown, const std::string& first_header);

// The texts written in backticks in `text`: "`a` and `b`" gives a, b.
std::vector<std::string> code_spans(const std::string& text);

}  // namespace cargomon::docs_test
