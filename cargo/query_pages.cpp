#include "cargo/query_pages.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "cargo/query_errors.h"
#include "common/text.h"

namespace cargomon::cargo {

SqlShape sql_shape(std::string_view sql) {
    SqlShape shape;
    std::vector<std::string> words;
    int depth = 0;
    std::size_t end = sql.size();
    for (std::size_t i = 0; i < sql.size();) {
        const char c = sql[i];
        if (c == '\'' || c == '"' || c == '`') {
            for (++i; i < sql.size() && sql[i] != c; ++i)
                if (sql[i] == '\\') ++i;
            ++i;
        } else if (sql.substr(i, 2) == "--") {
            i = std::min(sql.size(), sql.find('\n', i));
        } else if (sql.substr(i, 2) == "/*") {
            const std::size_t close = sql.find("*/", i + 2);
            i = close == std::string_view::npos ? sql.size() : close + 2;
        } else if (c == '(') {
            ++depth, ++i;
        } else if (c == ')') {
            --depth, ++i;
        } else if (c == ';' && depth == 0) {
            end = std::min(end, i);
            ++i;
        } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            std::size_t start = i;
            while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_')) ++i;
            if (depth == 0) words.push_back(to_lower(sql.substr(start, i - start)));
        } else {
            ++i;
        }
    }
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (words[i] == "order" && i + 1 < words.size() && words[i + 1] == "by") shape.has_order = true;
        if (words[i] == "format") shape.has_format = true;
    }
    shape.text = std::string(trim(sql.substr(0, end)));
    return shape;
}

std::string page_query(const SqlShape& shape, std::int64_t offset) {
    const std::string order = shape.has_order ? "" : " ORDER BY tuple(*)";
    return "SELECT * FROM (" + shape.text + "\n)" + order + " LIMIT " + std::to_string(offset) + ", " +
           std::to_string(kExportPage);
}

bool over_row_cap(const ApiError& e) {
    // Whatever the status: the contract does not say which one the service gives.
    const auto code = clickhouse_code(e.error_message());
    return e.status() >= 400 && ((code && (*code == 396 || *code == 158)) ||
                                 e.error_message().find("Limit for result exceeded") != std::string::npos);
}

}  // namespace cargomon::cargo
