#include "tests/docs/markdown.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cargomon::docs_test {
namespace {

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The document's lines outside fenced code blocks.
std::vector<std::string> prose_lines(const std::string& markdown) {
    std::vector<std::string> lines;
    std::istringstream in(markdown);
    bool fenced = false;
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("```")) {
            fenced = !fenced;
            continue;
        }
        if (!fenced) lines.push_back(line);
    }
    return lines;
}

int heading_level(const std::string& line) {
    const auto hashes = line.find_first_not_of('#');
    if (hashes == 0 || hashes == std::string::npos || line[hashes] != ' ') return 0;
    return static_cast<int>(hashes);
}

// A table row's cells; `\|` inside a cell is a literal bar, not a separator.
std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out;
    std::string cell;
    for (std::size_t i = 1; i < line.size(); ++i) {
        if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
            cell += '|';
            ++i;
        } else if (line[i] == '|') {
            out.push_back(trim(cell));
            cell.clear();
        } else {
            cell += line[i];
        }
    }
    return out;
}

}  // namespace

std::string read_source_file(const std::string& relative_path) {
    const std::string path = std::string(CARGOMON_SOURCE_DIR) + "/" + relative_path;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<Section> sections(const std::string& markdown) {
    const auto lines = prose_lines(markdown);
    std::vector<Section> out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const int level = heading_level(lines[i]);
        if (!level) continue;
        Section section{.level = level, .heading = lines[i].substr(level + 1), .body = ""};
        for (std::size_t j = i + 1; j < lines.size(); ++j) {
            const int next = heading_level(lines[j]);
            if (next && next <= level) break;
            section.body += lines[j] + "\n";
        }
        out.push_back(std::move(section));
    }
    return out;
}

std::vector<std::vector<std::string>> table_rows(const std::string& markdown, const std::string& first_header) {
    std::vector<std::vector<std::string>> rows;
    bool in_table = false;   // inside a table, any table
    bool wanted = false;     // ... whose header starts with first_header
    bool separator = false;  // the next row is the |---| line
    for (const auto& line : prose_lines(markdown)) {
        if (!line.starts_with("|")) {
            in_table = false;
            continue;
        }
        auto row = cells(line);
        if (!in_table) {
            in_table = true;
            wanted = !row.empty() && row[0] == first_header;
            separator = true;
            continue;
        }
        if (separator) {
            separator = false;
            continue;
        }
        if (wanted) rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<std::string> code_spans(const std::string& text) {
    std::vector<std::string> out;
    for (auto open = text.find('`'); open != std::string::npos; open = text.find('`', open)) {
        const auto close = text.find('`', open + 1);
        if (close == std::string::npos) break;
        out.push_back(text.substr(open + 1, close - open - 1));
        open = close + 1;
    }
    return out;
}

}  // namespace cargomon::docs_test
