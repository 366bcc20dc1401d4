#include "sim/api/query_guard.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <vector>

#include "sim/clickhouse/schema.h"

namespace cargomon::sim {
namespace {

struct Token {
    enum Kind { word, quoted, string, number, punct } kind;
    std::string text;  // words lowercased; quoted identifiers unquoted
    size_t pos = 0;

    bool is(char c) const { return kind == punct && text.size() == 1 && text[0] == c; }
    bool is_word(std::string_view w) const { return kind == word && text == w; }
    bool is_identifier() const { return kind == word || kind == quoted; }
};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }

// Reads a quoted run starting at sql[i] (the opening quote); backslash escapes and a
// doubled quote both stand for the character itself.
std::string read_quoted(std::string_view sql, size_t& i) {
    const char q = sql[i++];
    std::string out;
    while (i < sql.size()) {
        char c = sql[i++];
        if (c == '\\' && i < sql.size()) {
            out += sql[i++];
        } else if (c == q) {
            if (i < sql.size() && sql[i] == q) {
                out += q;
                ++i;
            } else {
                return out;
            }
        } else {
            out += c;
        }
    }
    throw QueryRefused(std::string("unterminated ") + (q == '\'' ? "string literal" : "quoted identifier"));
}

std::vector<Token> tokenize(std::string_view sql) {
    std::vector<Token> tokens;
    size_t i = 0;
    while (i < sql.size()) {
        const char c = sql[i];
        const size_t start = i;
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (sql.substr(i, 2) == "--") {
            i = sql.find('\n', i);
            if (i == std::string_view::npos) i = sql.size();
        } else if (sql.substr(i, 2) == "/*") {
            i = sql.find("*/", i + 2);
            if (i == std::string_view::npos) throw QueryRefused("unterminated comment");
            i += 2;
        } else if (c == '\'') {
            tokens.push_back({Token::string, read_quoted(sql, i), start});
        } else if (c == '"' || c == '`') {
            tokens.push_back({Token::quoted, read_quoted(sql, i), start});
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
            while (i < sql.size() && (word_char(sql[i]) || sql[i] == '.')) ++i;
            tokens.push_back({Token::number, std::string(sql.substr(start, i - start)), start});
        } else if (word_char(c)) {
            while (i < sql.size() && word_char(sql[i])) ++i;
            tokens.push_back({Token::word, lower(sql.substr(start, i - start)), start});
        } else {
            tokens.push_back({Token::punct, std::string(1, c), start});
            ++i;
        }
    }
    return tokens;
}

// Names that read outside the workspace's tables when called in a FROM clause.
const std::set<std::string> kTableFunctions = {
    "url",  "file", "remote", "remotesecure", "cluster", "clusterallreplicas", "mysql", "postgresql",
    "jdbc", "odbc", "hdfs",   "s3",           "input",   "merge",              "numbers", "numbers_mt",
    "generaterandom", "zeros", "view"};

// Words after which an identifier is not a table alias.
const std::set<std::string> kClauseWords = {
    "where", "group", "order", "limit", "join", "inner", "left", "right", "full", "cross", "any",
    "all", "array", "using", "on", "prewhere", "final", "sample", "having", "union", "as", "global",
    "asof", "semi", "anti", "outer", "format", "settings", "into", "with", "by", "not", "in", "and", "or"};

bool is_table_name(const std::string& name) {
    return std::any_of(std::begin(kTables), std::end(kTables), [&](std::string_view t) { return t == name; });
}

const Token* at(const std::vector<Token>& t, size_t i) { return i < t.size() ? &t[i] : nullptr; }

std::string qualified(const std::vector<Token>& t, size_t i) { return t[i].text + "." + t[i + 2].text; }

bool qualified_at(const std::vector<Token>& t, size_t i) {
    const Token* dot = at(t, i + 1);
    const Token* name = at(t, i + 2);
    return t[i].is_identifier() && dot && dot->is('.') && name && name->is_identifier();
}

// Aliases a caller may qualify columns with: `AS x`, `FROM runs r`, `FROM (...) s`.
std::set<std::string> collect_aliases(const std::vector<Token>& t) {
    std::set<std::string> aliases;
    for (size_t i = 0; i + 1 < t.size(); ++i) {
        const Token& next = t[i + 1];
        if (!next.is_identifier() || kClauseWords.count(next.text)) continue;
        const bool after_table = t[i].is_identifier() && i > 0 &&
                                 (t[i - 1].is_word("from") || t[i - 1].is_word("join"));
        if (t[i].is_word("as") || after_table || t[i].is(')')) aliases.insert(next.text);
    }
    return aliases;
}

void check_table_position(const std::vector<Token>& t, size_t i) {
    const Token* name = at(t, i);
    if (!name || !name->is_identifier()) return;  // a subquery, or a syntax error ClickHouse reports
    if (qualified_at(t, i))
        throw QueryRefused("tables are named without a database: " + qualified(t, i) + " is not allowed");
    const Token* open = at(t, i + 1);
    if (open && open->is('('))
        throw QueryRefused("table function " + name->text + "() is not allowed");
}

void check_identifier(const std::vector<Token>& t, size_t i, const std::set<std::string>& known) {
    const Token& tok = t[i];
    if (tok.text == "batches_versions") throw QueryRefused("batches_versions is internal; query batches");
    const Token* next = at(t, i + 1);
    if (tok.kind == Token::word && next && next->is('(')) {
        if (tok.text.rfind("dict", 0) == 0 || tok.text == "joinget" || tok.text == "hascolumnintable")
            throw QueryRefused(tok.text + "() is not allowed: dictionaries and other tables are out of reach");
        if (kTableFunctions.count(tok.text)) throw QueryRefused("table function " + tok.text + "() is not allowed");
    }
    if (qualified_at(t, i) && (i == 0 || !t[i - 1].is('.'))) {
        if (tok.text == "system") throw QueryRefused("system tables are not allowed: " + qualified(t, i));
        if (!known.count(tok.text) && !is_table_name(tok.text))
            throw QueryRefused("tables are named without a database: " + qualified(t, i) + " is not allowed");
    }
}

}  // namespace

std::string guard_query(std::string_view sql) {
    std::vector<Token> tokens = tokenize(sql);
    auto semicolon = std::find_if(tokens.begin(), tokens.end(), [](const Token& t) { return t.is(';'); });
    size_t end = sql.size();
    if (semicolon != tokens.end()) {
        if (std::any_of(semicolon, tokens.end(), [](const Token& t) { return !t.is(';'); }))
            throw QueryRefused("only one statement per query is allowed");
        end = semicolon->pos;
        tokens.erase(semicolon, tokens.end());
    }
    if (tokens.empty()) throw QueryRefused("the query is empty");
    if (!tokens[0].is_word("select") && !tokens[0].is_word("with"))
        throw QueryRefused("only SELECT (or WITH ... SELECT) queries are allowed");

    const std::set<std::string> aliases = collect_aliases(tokens);
    // One frame per open parenthesis: is it a function call (where FROM is not a table
    // clause, as in extract(DAY FROM x)) unless a SELECT appears directly inside it.
    struct Frame {
        bool call;
        bool has_select;
    };
    std::vector<Frame> frames;
    for (size_t i = 0; i < tokens.size(); ++i) {
        const Token& tok = tokens[i];
        if (tok.is('(')) {
            frames.push_back({i > 0 && tokens[i - 1].kind == Token::word && !kClauseWords.count(tokens[i - 1].text),
                              false});
        } else if (tok.is(')')) {
            if (!frames.empty()) frames.pop_back();
        } else if (tok.is_identifier()) {
            check_identifier(tokens, i, aliases);
            if (tok.kind != Token::word) continue;
            if (tok.text == "select" && !frames.empty()) frames.back().has_select = true;
            const bool in_call = !frames.empty() && frames.back().call && !frames.back().has_select;
            if ((tok.text == "from" && !in_call) || tok.text == "join") check_table_position(tokens, i + 1);
            if (tok.text == "in" && qualified_at(tokens, i + 1))
                throw QueryRefused("tables are named without a database: " + qualified(tokens, i + 1) +
                                   " is not allowed");
            if (tok.text == "format" && frames.empty())
                throw QueryRefused("a FORMAT clause is not allowed: the API chooses the format");
            if (tok.text == "into" && at(tokens, i + 1) && tokens[i + 1].is_word("outfile"))
                throw QueryRefused("INTO OUTFILE is not allowed");
        }
    }
    return std::string(sql.substr(0, end));
}

}  // namespace cargomon::sim
