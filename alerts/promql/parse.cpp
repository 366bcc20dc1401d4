// Lexer and recursive-descent parser for PromQL as Prometheus v2.42 parses it: precedence,
// associativity, type checks and their messages follow Prometheus' grammar and checkAST.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "alerts/promql/ast.h"
#include "alerts/promql/functions.h"
#include "common/text.h"
#include "metrics/names.h"

namespace cargomon::alerts::promql {
namespace {

enum class Tok {
    end, identifier, number, duration, string,
    lparen, rparen, lbrace, rbrace, lbracket, rbracket, comma, at, colon,
    assign, eq, ne, regex_match, regex_no_match, lt, le, gt, ge,
    plus, minus, star, slash, percent, caret,
};

struct Token {
    Tok kind = Tok::end;
    std::size_t offset = 0;
    std::string_view text;  // as written
    std::string value;      // unquoted string contents
};

bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class Lexer {
public:
    explicit Lexer(std::string_view text) : text_(text) {}

    Token next() {
        skip_space_and_comments();
        Token token;
        token.offset = pos_;
        if (pos_ >= text_.size()) return token;
        char c = text_[pos_];
        if (is_alpha(c) || c == ':') {
            // A lone ':' only appears in subqueries; identifiers may contain colons.
            if (c == ':' && (pos_ + 1 >= text_.size() || !(is_alpha(text_[pos_ + 1]) || text_[pos_ + 1] == ':'))) {
                return single(token, Tok::colon, 1);
            }
            std::size_t end = pos_;
            while (end < text_.size() && (is_alnum(text_[end]) || text_[end] == ':')) ++end;
            token.kind = Tok::identifier;
            token.text = text_.substr(pos_, end - pos_);
            pos_ = end;
            if (iequals(token.text, "inf") || iequals(token.text, "nan")) token.kind = Tok::number;
            return token;
        }
        if (is_digit(c) || (c == '.' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))) return number(token);
        if (c == '"' || c == '\'' || c == '`') return string(token, c);
        switch (c) {
            case '(': return single(token, Tok::lparen, 1);
            case ')': return single(token, Tok::rparen, 1);
            case '{': return single(token, Tok::lbrace, 1);
            case '}': return single(token, Tok::rbrace, 1);
            case '[': return single(token, Tok::lbracket, 1);
            case ']': return single(token, Tok::rbracket, 1);
            case ',': return single(token, Tok::comma, 1);
            case '@': return single(token, Tok::at, 1);
            case '+': return single(token, Tok::plus, 1);
            case '-': return single(token, Tok::minus, 1);
            case '*': return single(token, Tok::star, 1);
            case '/': return single(token, Tok::slash, 1);
            case '%': return single(token, Tok::percent, 1);
            case '^': return single(token, Tok::caret, 1);
            case '=':
                if (peek(1) == '=') return single(token, Tok::eq, 2);
                if (peek(1) == '~') return single(token, Tok::regex_match, 2);
                return single(token, Tok::assign, 1);
            case '!':
                if (peek(1) == '=') return single(token, Tok::ne, 2);
                if (peek(1) == '~') return single(token, Tok::regex_no_match, 2);
                throw ExprError(pos_, "unexpected character after '!'");
            case '<': return peek(1) == '=' ? single(token, Tok::le, 2) : single(token, Tok::lt, 1);
            case '>': return peek(1) == '=' ? single(token, Tok::ge, 2) : single(token, Tok::gt, 1);
            default: break;
        }
        throw ExprError(pos_, "unexpected character '" + std::string(1, c) + "'");
    }

private:
    char peek(std::size_t ahead) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

    Token single(Token& token, Tok kind, std::size_t length) {
        token.kind = kind;
        token.text = text_.substr(pos_, length);
        pos_ += length;
        return token;
    }

    void skip_space_and_comments() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                ++pos_;
            } else if (c == '#') {
                while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
            } else {
                break;
            }
        }
    }

    static bool is_duration_unit(char c) { return std::string_view("smhdwy").find(c) != std::string_view::npos; }

    Token number(Token& token) {
        std::size_t start = pos_;
        std::size_t i = pos_;
        auto digits = [&](bool hex) {
            while (i < text_.size() && (is_digit(text_[i]) || (hex && std::isxdigit(static_cast<unsigned char>(text_[i])))))
                ++i;
        };
        bool hex = text_[i] == '0' && i + 1 < text_.size() && (text_[i + 1] == 'x' || text_[i + 1] == 'X');
        if (hex) {
            i += 2;
            digits(true);
        } else {
            digits(false);
            bool integer = true;
            if (i < text_.size() && text_[i] == '.') {
                integer = false;
                ++i;
                digits(false);
            }
            if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E') &&
                (is_digit(i + 1 < text_.size() ? text_[i + 1] : '\0') ||
                 ((i + 1 < text_.size() && (text_[i + 1] == '+' || text_[i + 1] == '-')) && i + 2 < text_.size() &&
                  is_digit(text_[i + 2])))) {
                integer = false;
                i += (text_[i + 1] == '+' || text_[i + 1] == '-') ? 2 : 1;
                digits(false);
            }
            if (integer && i < text_.size() && is_duration_unit(text_[i])) {
                // A duration (5m, 1h30m): only meaningful in range vectors, offsets and subqueries.
                while (i < text_.size() && (is_digit(text_[i]) || is_duration_unit(text_[i]))) ++i;
                token.kind = Tok::duration;
                token.text = text_.substr(start, i - start);
                pos_ = i;
                return token;
            }
        }
        if (i < text_.size() && (is_alnum(text_[i]) || text_[i] == '.'))
            throw ExprError(start, "bad number or duration syntax: \"" + std::string(text_.substr(start, i + 1 - start)) + "\"");
        token.kind = Tok::number;
        token.text = text_.substr(start, i - start);
        pos_ = i;
        return token;
    }

    Token string(Token& token, char quote) {
        std::size_t start = pos_;
        std::size_t i = pos_ + 1;
        std::string value;
        for (;;) {
            if (i >= text_.size() || (quote != '`' && text_[i] == '\n'))
                throw ExprError(start, "unterminated quoted string");
            char c = text_[i];
            if (c == quote) break;
            if (c != '\\' || quote == '`') {
                value += c;
                ++i;
                continue;
            }
            std::size_t escape_at = i;
            ++i;
            char e = i < text_.size() ? text_[i] : '\0';
            ++i;
            switch (e) {
                case 'a': value += '\a'; break;
                case 'b': value += '\b'; break;
                case 'f': value += '\f'; break;
                case 'n': value += '\n'; break;
                case 'r': value += '\r'; break;
                case 't': value += '\t'; break;
                case 'v': value += '\v'; break;
                case '\\': value += '\\'; break;
                case 'x': case 'u': case 'U': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
                    bool octal = e >= '0' && e <= '7';
                    std::size_t count = octal ? 2 : e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    int base = octal ? 8 : 16;
                    std::uint32_t code = octal ? static_cast<std::uint32_t>(e - '0') : 0;
                    for (std::size_t k = 0; k < count; ++k, ++i) {
                        char d = i < text_.size() ? text_[i] : '\0';
                        int digit = is_digit(d) ? d - '0'
                                    : std::isxdigit(static_cast<unsigned char>(d)) ? std::tolower(d) - 'a' + 10
                                                                                   : 99;
                        if (digit >= base) throw ExprError(escape_at, "invalid escape sequence in quoted string");
                        code = code * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(digit);
                    }
                    if (octal || e == 'x') {
                        if (code > 255) throw ExprError(escape_at, "octal escape value > 255 in quoted string");
                        value += static_cast<char>(code);
                    } else {
                        if (code > 0x10FFFF || (code >= 0xD800 && code < 0xE000))
                            throw ExprError(escape_at, "escape sequence is an invalid Unicode code point");
                        append_utf8(value, code);
                    }
                    break;
                }
                default:
                    if (e != quote) throw ExprError(escape_at, "unknown escape sequence in quoted string");
                    value += e;
            }
        }
        token.kind = Tok::string;
        token.text = text_.substr(start, i + 1 - start);
        token.value = std::move(value);
        pos_ = i + 1;
        if (!metrics::is_valid_utf8(token.value)) throw ExprError(start, "invalid UTF-8 in quoted string");
        return token;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

// Prometheus reads integers with Go's ParseInt(s, 0, 64) (so 0x1f is hex and 017 octal)
// and falls back to ParseFloat.
double number_value(std::string_view text) {
    std::string s(text);
    if (iequals(s, "inf")) return std::numeric_limits<double>::infinity();
    if (iequals(s, "nan")) return std::numeric_limits<double>::quiet_NaN();
    bool all_digits = std::all_of(s.begin(), s.end(), is_digit);
    if (s.size() > 2 && (s[1] == 'x' || s[1] == 'X')) return static_cast<double>(std::strtoull(s.c_str() + 2, nullptr, 16));
    if (all_digits && s.size() > 1 && s[0] == '0' && s.find_first_of("89") == std::string::npos)
        return static_cast<double>(std::strtoull(s.c_str(), nullptr, 8));
    return std::strtod(s.c_str(), nullptr);
}

std::string describe(const Token& token) {
    switch (token.kind) {
        case Tok::end: return "end of input";
        case Tok::string: return "string " + std::string(token.text);
        case Tok::number: return "number \"" + std::string(token.text) + "\"";
        case Tok::duration: return "duration \"" + std::string(token.text) + "\"";
        case Tok::identifier: return "\"" + std::string(token.text) + "\"";
        default: return "\"" + std::string(token.text) + "\"";
    }
}

std::optional<AggregateOp> aggregation(std::string_view word) {
    static const std::pair<std::string_view, AggregateOp> ops[] = {
        {"sum", AggregateOp::sum},         {"avg", AggregateOp::avg},       {"min", AggregateOp::min},
        {"max", AggregateOp::max},         {"count", AggregateOp::count},   {"group", AggregateOp::group},
        {"stddev", AggregateOp::stddev},   {"stdvar", AggregateOp::stdvar}, {"topk", AggregateOp::topk},
        {"bottomk", AggregateOp::bottomk}, {"quantile", AggregateOp::quantile},
        {"count_values", AggregateOp::count_values}};
    for (const auto& [name, op] : ops)
        if (iequals(word, name)) return op;
    return std::nullopt;
}

// The aggregation's parameter type, if it takes one.
std::optional<ValueType> aggregation_param(AggregateOp op) {
    switch (op) {
        case AggregateOp::topk: case AggregateOp::bottomk: case AggregateOp::quantile: return ValueType::scalar;
        case AggregateOp::count_values: return ValueType::string;
        default: return std::nullopt;
    }
}

// Words that cannot name a metric. Prometheus lets the other keywords (and, by, offset,
// sum, ...) name one where no operator or aggregation can start.
bool is_reserved(std::string_view word) {
    for (std::string_view keyword : {"on", "ignoring", "group_left", "group_right", "bool", "atan2"})
        if (iequals(word, keyword)) return true;
    return false;
}

constexpr int kPowPrecedence = 6;

int precedence(const Token& token) {
    switch (token.kind) {
        case Tok::caret: return kPowPrecedence;
        case Tok::star: case Tok::slash: case Tok::percent: return 5;
        case Tok::plus: case Tok::minus: return 4;
        case Tok::eq: case Tok::ne: case Tok::lt: case Tok::le: case Tok::gt: case Tok::ge: return 3;
        case Tok::identifier:
            if (iequals(token.text, "and") || iequals(token.text, "unless")) return 2;
            if (iequals(token.text, "or")) return 1;
            if (iequals(token.text, "atan2")) return 5;
            return 0;
        default: return 0;
    }
}

BinaryOp binary_op(const Token& token) {
    switch (token.kind) {
        case Tok::caret: return BinaryOp::pow;
        case Tok::star: return BinaryOp::mul;
        case Tok::slash: return BinaryOp::div;
        case Tok::percent: return BinaryOp::mod;
        case Tok::plus: return BinaryOp::add;
        case Tok::minus: return BinaryOp::sub;
        case Tok::eq: return BinaryOp::eq;
        case Tok::ne: return BinaryOp::ne;
        case Tok::lt: return BinaryOp::lt;
        case Tok::le: return BinaryOp::le;
        case Tok::gt: return BinaryOp::gt;
        case Tok::ge: return BinaryOp::ge;
        default: break;
    }
    if (iequals(token.text, "and")) return BinaryOp::and_;
    if (iequals(token.text, "or")) return BinaryOp::or_;
    if (iequals(token.text, "atan2")) return BinaryOp::atan2;
    return BinaryOp::unless;
}

metrics::Matcher make_selector_matcher(std::string name, metrics::Matcher::Op op, std::string value, std::size_t offset) {
    auto made = metrics::make_matcher(std::move(name), op, std::move(value));
    if (auto* error = std::get_if<std::string>(&made)) throw ExprError(offset, *error);
    return std::get<metrics::Matcher>(std::move(made));
}

// Prometheus' model.ParseDuration: units y, w, d, h, m, s, ms, largest first, each once.
std::int64_t duration_ms(const Token& token) {
    static constexpr std::pair<std::string_view, std::int64_t> units[] = {
        {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
        {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
        {"ms", 1}};
    std::string_view text = token.text;
    std::int64_t total = 0;
    std::size_t next_unit = 0;
    auto bad = [&] { throw ExprError(token.offset, "not a valid duration string: \"" + std::string(token.text) + "\""); };
    while (!text.empty()) {
        std::size_t digits = 0;
        while (digits < text.size() && is_digit(text[digits])) ++digits;
        if (digits == 0 || digits > 12) bad();
        std::int64_t n = std::strtoll(std::string(text.substr(0, digits)).c_str(), nullptr, 10);
        // Bounded so that times minus offsets, ranges and the lookback stay far from overflow.
        constexpr std::int64_t kMaxDurationMs = std::int64_t{1} << 60;
        text.remove_prefix(digits);
        std::size_t length = text.starts_with("ms") ? 2 : 1;
        std::string_view unit = text.substr(0, length);
        std::size_t u = next_unit;
        while (u < std::size(units) && units[u].first != unit) ++u;
        if (u == std::size(units)) bad();
        next_unit = u + 1;
        if (n > (kMaxDurationMs - total) / units[u].second) bad();
        total += n * units[u].second;
        text.remove_prefix(length);
    }
    return total;
}

// The parser, the evaluator and the tree's destructor all recurse, and rule files are
// user input: both the nesting of the text (parentheses, signs, arguments) and the
// height of the tree ("a + a + a ..." grows it without nesting) stop at this, so a
// hostile expr is a parse error rather than a stack overflow.
constexpr int kMaxExprDepth = 128;

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

class Parser {
public:
    explicit Parser(std::string_view text) : lexer_(text) { advance(); }

    std::unique_ptr<Expr> parse() {
        auto expr = parse_binary(1);
        if (token_.kind != Tok::end) throw ExprError(token_.offset, "unexpected " + describe(token_));
        return expr;
    }

private:
    void advance() { token_ = lexer_.next(); }

    [[noreturn]] void unexpected(std::string_view context) const {
        throw ExprError(token_.offset, "unexpected " + describe(token_) + " " + std::string(context));
    }

    void expect(Tok kind, std::string_view context) {
        if (token_.kind != kind) unexpected(context);
        advance();
    }

    bool at_word(std::string_view word) const { return token_.kind == Tok::identifier && iequals(token_.text, word); }

    [[noreturn]] static void too_deep(std::size_t offset) {
        throw ExprError(offset, "expression nested too deeply: more than " + std::to_string(kMaxExprDepth) +
                                    " levels of parentheses, operators, signs, calls or aggregations");
    }

    // A node over children of height `below`.
    void grow(int below, std::size_t offset) {
        if (below >= kMaxExprDepth) too_deep(offset);
        height_ = below + 1;
    }

    std::unique_ptr<Expr> parse_binary(int min_precedence) {
        auto lhs = parse_unary();
        for (;;) {
            int prec = precedence(token_);
            if (prec == 0 || prec < min_precedence) return lhs;
            Token op_token = token_;
            advance();
            BinaryNode node;
            node.op = binary_op(op_token);
            parse_modifiers(node);
            node.lhs = std::move(lhs);
            int lhs_height = height_;
            // ^ is right-associative; every other operator left-associative.
            node.rhs = parse_binary(node.op == BinaryOp::pow ? prec : prec + 1);
            grow(std::max(lhs_height, height_), op_token.offset);
            lhs = check_binary(std::move(node), op_token.offset);
        }
    }

    void parse_modifiers(BinaryNode& node) {
        if (at_word("bool")) {
            node.return_bool = true;
            advance();
        }
        bool has_matching = at_word("on") || at_word("ignoring");
        if (has_matching) {
            node.on = at_word("on");
            advance();
            node.matching = parse_label_list();
            if (at_word("group_left") || at_word("group_right")) {
                node.card = at_word("group_left") ? Cardinality::many_to_one : Cardinality::one_to_many;
                advance();
                if (token_.kind == Tok::lparen) node.include = parse_label_list();
            }
        }
    }

    std::unique_ptr<Expr> check_binary(BinaryNode node, std::size_t offset) {
        auto operand_ok = [](const Expr& e) { return e.type == ValueType::scalar || e.type == ValueType::vector; };
        if (!operand_ok(*node.lhs) || !operand_ok(*node.rhs))
            throw ExprError(offset, "binary expression must contain only scalar and instant vector types");
        bool lhs_scalar = node.lhs->scalar();
        bool rhs_scalar = node.rhs->scalar();
        std::string op_name = op_text(node.op);
        if (node.return_bool && !is_comparison(node.op))
            throw ExprError(offset, "bool modifier can only be used on comparison operators");
        if (is_comparison(node.op) && !node.return_bool && lhs_scalar && rhs_scalar)
            throw ExprError(offset, "comparisons between scalars must use BOOL modifier");
        if (node.on)
            for (const auto& label : node.include)
                if (std::find(node.matching.begin(), node.matching.end(), label) != node.matching.end())
                    throw ExprError(offset, "label \"" + label + "\" must not occur in ON and GROUP clause at once");
        if (is_set_op(node.op)) {
            if (lhs_scalar || rhs_scalar)
                throw ExprError(offset, "set operator \"" + op_name + "\" not allowed in binary scalar expression");
            if (node.card != Cardinality::one_to_one)
                throw ExprError(offset, "no grouping allowed for \"" + op_name + "\" operation");
            node.card = Cardinality::many_to_many;
        } else if ((lhs_scalar || rhs_scalar) && (!node.matching.empty() || node.card != Cardinality::one_to_one)) {
            throw ExprError(offset, "vector matching only allowed between instant vectors");
        }
        ValueType type = lhs_scalar && rhs_scalar ? ValueType::scalar : ValueType::vector;
        return std::make_unique<Expr>(std::move(node), type);
    }

    static std::string op_text(BinaryOp op) {
        switch (op) {
            case BinaryOp::and_: return "and";
            case BinaryOp::or_: return "or";
            case BinaryOp::unless: return "unless";
            default: return "";
        }
    }

    std::unique_ptr<Expr> parse_unary() {
        if (nesting_ >= kMaxExprDepth) too_deep(token_.offset);
        ++nesting_;
        struct Leave {
            int& nesting;
            ~Leave() { --nesting; }
        } leave{nesting_};
        if (token_.kind == Tok::minus || token_.kind == Tok::plus) {
            bool negate = token_.kind == Tok::minus;
            std::size_t offset = token_.offset;
            advance();
            // A sign binds less tightly than ^: -2^2 is -(2^2), as in Prometheus.
            auto operand = parse_binary(kPowPrecedence);
            if (auto* number = std::get_if<NumberNode>(&operand->node)) {
                if (negate) number->value = -number->value;
                return operand;
            }
            if (operand->type != ValueType::scalar && operand->type != ValueType::vector)
                throw ExprError(offset, "unary expression only allowed on expressions of type scalar or instant vector, got \"" +
                                            std::string(type_name(operand->type)) + "\"");
            grow(height_, offset);
            ValueType type = operand->type;
            return std::make_unique<Expr>(UnaryNode{negate, std::move(operand)}, type);
        }
        // The tree keeps no parentheses, but Prometheus refuses a range, offset or @ on a
        // parenthesized selector: remember it for the postfix.
        bool parenthesized = token_.kind == Tok::lparen;
        auto expr = parse_primary();
        return parse_postfix(std::move(expr), parenthesized);
    }

    // Range selectors, subqueries, offset and @ after a primary expression.
    std::unique_ptr<Expr> parse_postfix(std::unique_ptr<Expr> expr, bool parenthesized) {
        for (;; parenthesized = false) {
            if (token_.kind == Tok::lbracket) {
                expr = parse_range(std::move(expr), parenthesized);
            } else if (at_word("offset")) {
                std::size_t offset = token_.offset;
                advance();
                bool negative = token_.kind == Tok::minus;
                if (negative || token_.kind == Tok::plus) advance();
                if (token_.kind != Tok::duration) unexpected("in offset, expected duration");
                std::int64_t ms = duration_ms(token_);
                advance();
                TimeModifier& time = time_modifier(*expr, offset, "offset", parenthesized);
                if (time.offset_ms != 0 || offset_set_.contains(&time))
                    throw ExprError(offset, "offset may not be set multiple times");
                offset_set_.insert(&time);
                time.offset_ms = negative ? -ms : ms;
            } else if (token_.kind == Tok::at) {
                std::size_t offset = token_.offset;
                advance();
                TimeModifier& time = time_modifier(*expr, offset, "@", parenthesized);
                if (time.at != TimeModifier::At::none) throw ExprError(offset, "@ <timestamp> may not be set multiple times");
                parse_at(time);
            } else {
                return expr;
            }
        }
    }

    void parse_at(TimeModifier& time) {
        if (at_word("start") || at_word("end")) {
            time.at = at_word("start") ? TimeModifier::At::start : TimeModifier::At::end;
            advance();
            expect(Tok::lparen, "in @, expected \"(\"");
            expect(Tok::rparen, "in @, expected \")\"");
            return;
        }
        bool negative = token_.kind == Tok::minus;
        if (negative || token_.kind == Tok::plus) advance();
        if (token_.kind != Tok::number) unexpected("in @, expected timestamp");
        double seconds = number_value(token_.text) * (negative ? -1 : 1);
        std::size_t offset = token_.offset;
        advance();
        // Prometheus refuses what overflows int64 seconds; cargomon what would come near it
        // in milliseconds once offsets and ranges are subtracted.
        if (!std::isfinite(seconds) || std::fabs(seconds) >= 4.6e15) {
            // Go's %f, which spells the infinities +Inf and -Inf.
            char buffer[64];
            std::snprintf(buffer, sizeof buffer, "%f", seconds);
            std::string text = std::isnan(seconds) ? "NaN" : std::isinf(seconds) ? (seconds > 0 ? "+Inf" : "-Inf") : buffer;
            throw ExprError(offset, "timestamp out of bounds for @ modifier: " + text);
        }
        time.at = TimeModifier::At::time;
        time.at_ms = static_cast<std::int64_t>(std::round(seconds * 1000));
    }

    // The modifiers of a selector or subquery that offset/@ is applied to.
    TimeModifier& time_modifier(Expr& expr, std::size_t offset, std::string_view what, bool parenthesized) {
        auto* selector = std::get_if<SelectorNode>(&expr.node);
        if (selector && !parenthesized) return selector->time;
        if (auto* subquery = std::get_if<SubqueryNode>(&expr.node)) return subquery->time;
        throw ExprError(offset, std::string(what) +
                                    " modifier must be preceded by an instant vector selector or range vector selector or a subquery");
    }

    std::unique_ptr<Expr> parse_range(std::unique_ptr<Expr> expr, bool parenthesized) {
        std::size_t offset = token_.offset;
        advance();
        if (token_.kind != Tok::duration) unexpected("in range, expected duration");
        std::int64_t range = duration_ms(token_);
        advance();
        if (token_.kind == Tok::colon) {
            advance();
            std::int64_t step = 0;
            if (token_.kind == Tok::duration) {
                step = duration_ms(token_);
                advance();
            }
            expect(Tok::rbracket, "in subquery, expected \"]\"");
            if (expr->type != ValueType::vector)
                throw ExprError(offset, "subquery is only allowed on instant vector, got " + std::string(type_name(expr->type)) +
                                            " instead");
            grow(height_, offset);
            return std::make_unique<Expr>(SubqueryNode{std::move(expr), range, step, {}}, ValueType::matrix);
        }
        expect(Tok::rbracket, "in range, expected \"]\" or \":\"");
        auto* selector = std::get_if<SelectorNode>(&expr->node);
        if (!selector || parenthesized || expr->type != ValueType::vector)
            throw ExprError(offset, "ranges only allowed for vector selectors");
        if (selector->time.offset_ms != 0 || offset_set_.contains(&selector->time))
            throw ExprError(offset, "no offset modifiers allowed before range");
        if (selector->time.at != TimeModifier::At::none) throw ExprError(offset, "no @ modifiers allowed before range");
        if (range <= 0) throw ExprError(offset, "range must be greater than 0");
        selector->range_ms = range;
        expr->type = ValueType::matrix;
        return expr;
    }

    std::unique_ptr<Expr> parse_primary() {
        height_ = 1;  // a literal or selector; parentheses, calls and aggregations set their own
        switch (token_.kind) {
            case Tok::number: {
                double value = number_value(token_.text);
                advance();
                return std::make_unique<Expr>(NumberNode{value}, ValueType::scalar);
            }
            case Tok::string: {
                std::string value = token_.value;
                advance();
                return std::make_unique<Expr>(StringNode{std::move(value)}, ValueType::string);
            }
            case Tok::lparen: {
                advance();
                auto inner = parse_binary(1);
                expect(Tok::rparen, "in parenthesized expression, expected \")\"");
                return inner;
            }
            case Tok::lbrace: return parse_selector("", token_.offset);
            case Tok::identifier: break;
            default: unexpected("");
        }
        Token word = token_;
        Token next = Lexer(lexer_).next();
        bool starts_aggregation = next.kind == Tok::lparen || (next.kind == Tok::identifier &&
                                                               (iequals(next.text, "by") || iequals(next.text, "without")));
        if (starts_aggregation)
            if (auto op = aggregation(word.text)) return parse_aggregation(*op);
        if (is_reserved(word.text)) unexpected("");
        advance();
        if (token_.kind == Tok::lparen) {
            std::string name(word.text);
            const FunctionDef* fn = find_function(name);
            if (!fn) throw ExprError(word.offset, "unknown function with name \"" + name + "\"");
            if (!fn->impl)
                throw ExprError(word.offset, "function \"" + name +
                                                 "\" is not supported: it reads native histograms, which cargomon does not store");
            return parse_call(*fn, word.offset);
        }
        return parse_selector(std::string(word.text), word.offset);
    }

    std::vector<std::unique_ptr<Expr>> parse_args() {
        std::vector<std::unique_ptr<Expr>> args;
        expect(Tok::lparen, "");
        if (token_.kind == Tok::rparen) {
            advance();
            height_ = 1;
            return args;
        }
        int tallest = 0;
        for (;;) {
            args.push_back(parse_binary(1));
            tallest = std::max(tallest, height_);
            if (token_.kind == Tok::rparen) break;
            expect(Tok::comma, "in argument list, expected \",\" or \")\"");
        }
        advance();
        height_ = tallest;
        return args;
    }

    // Prometheus' checkAST for calls: the argument count, then each argument's type.
    std::unique_ptr<Expr> parse_call(const FunctionDef& fn, std::size_t offset) {
        auto args = parse_args();
        const std::string name = quoted(fn.name);
        const std::size_t nargs = fn.arg_types.size();
        if (fn.variadic == 0) {
            if (nargs != args.size())
                throw ExprError(offset, "expected " + std::to_string(nargs) + " argument(s) in call to " + name + ", got " +
                                            std::to_string(args.size()));
        } else {
            std::size_t required = nargs - 1;
            if (required > args.size())
                throw ExprError(offset, "expected at least " + std::to_string(required) + " argument(s) in call to " + name +
                                            ", got " + std::to_string(args.size()));
            std::size_t most = required + static_cast<std::size_t>(std::max(fn.variadic, 0));
            if (fn.variadic > 0 && most < args.size())
                throw ExprError(offset, "expected at most " + std::to_string(most) + " argument(s) in call to " + name +
                                            ", got " + std::to_string(args.size()));
        }
        for (std::size_t i = 0; i < args.size(); ++i) {
            ValueType wanted = fn.arg_types[std::min(i, nargs - 1)];
            if (args[i]->type != wanted)
                throw ExprError(offset, "expected type " + std::string(type_name(wanted)) + " in call to function " + name +
                                            ", got " + std::string(type_name(args[i]->type)));
        }
        grow(height_, offset);
        CallNode node{&fn, std::move(args), {}};
        if (fn.name == "absent" || fn.name == "absent_over_time") node.absent_labels = absent_labels(*node.args[0]);
        return std::make_unique<Expr>(std::move(node), fn.return_type);
    }

    // Prometheus: the equality matchers' labels, except a label also matched another way
    // (parentheses around the selector do not matter).
    static metrics::Labels absent_labels(const Expr& arg) {
        metrics::Labels labels;
        const auto* selector = std::get_if<SelectorNode>(&arg.node);
        if (!selector) return labels;
        std::vector<std::string> dropped;
        for (const auto& m : selector->matchers) {
            if (m.name() == "__name__") continue;
            bool seen = metrics::find_label(labels, m.name()) != nullptr;
            if (m.op() == metrics::Matcher::Op::equal && !seen)
                labels.emplace_back(m.name(), m.value());
            else
                dropped.push_back(m.name());
        }
        std::erase_if(labels, [&](const auto& l) {
            return l.second.empty() || std::find(dropped.begin(), dropped.end(), l.first) != dropped.end();
        });
        std::sort(labels.begin(), labels.end());
        return labels;
    }

    std::unique_ptr<Expr> parse_aggregation(AggregateOp op) {
        std::size_t offset = token_.offset;
        advance();
        AggregateNode node;
        node.op = op;
        bool grouped = false;
        auto grouping = [&] {
            if (!(at_word("by") || at_word("without"))) return false;
            node.without = at_word("without");
            advance();
            node.grouping = parse_label_list();
            return true;
        };
        grouped = grouping();
        if (token_.kind != Tok::lparen) unexpected("in aggregation, expected \"(\"");
        auto args = parse_args();
        if (!grouped) grouping();
        auto param_type = aggregation_param(op);
        std::size_t wanted = param_type ? 2 : 1;
        if (args.size() != wanted)
            throw ExprError(offset, "wrong number of arguments for aggregate expression provided, expected " +
                                        std::to_string(wanted) + ", got " + std::to_string(args.size()));
        if (param_type && args[0]->type != *param_type)
            throw ExprError(offset, "expected type " + std::string(type_name(*param_type)) +
                                        " in aggregation parameter, got " + std::string(type_name(args[0]->type)));
        if (args.back()->type != ValueType::vector)
            throw ExprError(offset, "expected type instant vector in aggregation expression, got " +
                                        std::string(type_name(args.back()->type)));
        grow(height_, offset);
        node.operand = std::move(args.back());
        if (param_type) node.param = std::move(args[0]);
        std::sort(node.grouping.begin(), node.grouping.end());
        node.grouping.erase(std::unique(node.grouping.begin(), node.grouping.end()), node.grouping.end());
        return std::make_unique<Expr>(std::move(node), ValueType::vector);
    }

    std::string parse_label_name(std::string_view context) {
        if (token_.kind != Tok::identifier) unexpected(context);
        std::string name(token_.text);
        // An identifier may hold ':' (metric names do); a label name may not.
        if (!metrics::is_label_name(name)) throw ExprError(token_.offset, "invalid label name \"" + name + "\"");
        advance();
        return name;
    }

    std::vector<std::string> parse_label_list() {
        std::vector<std::string> labels;
        expect(Tok::lparen, "in grouping opts, expected \"(\"");
        while (token_.kind != Tok::rparen) {
            labels.push_back(parse_label_name("in grouping opts, expected label"));
            if (token_.kind == Tok::comma) {
                advance();
            } else if (token_.kind != Tok::rparen) {
                unexpected("in grouping opts, expected \",\" or \")\"");
            }
        }
        advance();
        return labels;
    }

    std::unique_ptr<Expr> parse_selector(std::string name, std::size_t offset) {
        SelectorNode node;
        using Op = metrics::Matcher::Op;
        if (!name.empty()) node.matchers.push_back(make_selector_matcher("__name__", Op::equal, name, offset));
        if (token_.kind == Tok::lbrace) {
            advance();
            while (token_.kind != Tok::rbrace) {
                std::size_t matcher_offset = token_.offset;
                std::string label = parse_label_name("in label matching, expected label");
                Op op = Op::equal;
                switch (token_.kind) {
                    case Tok::assign: op = Op::equal; break;
                    case Tok::ne: op = Op::not_equal; break;
                    case Tok::regex_match: op = Op::regex; break;
                    case Tok::regex_no_match: op = Op::not_regex; break;
                    default: unexpected("in label matching, expected one of \"=\", \"!=\", \"=~\" or \"!~\"");
                }
                advance();
                if (token_.kind != Tok::string) unexpected("in label matching, expected string");
                std::string value = token_.value;
                advance();
                if (label == "__name__" && !name.empty())
                    throw ExprError(matcher_offset, "metric name must not be set twice: \"" + name + "\" or \"" + value + "\"");
                node.matchers.push_back(make_selector_matcher(std::move(label), op, std::move(value), matcher_offset));
                if (token_.kind == Tok::comma) {
                    advance();
                } else if (token_.kind != Tok::rbrace) {
                    unexpected("in label matching, expected \",\" or \"}\"");
                }
            }
            advance();
        }
        auto empty_matches = [](const metrics::Matcher& m) { return m.matches(std::string_view()); };
        if (std::all_of(node.matchers.begin(), node.matchers.end(), empty_matches))
            throw ExprError(offset, "vector selector must contain at least one non-empty matcher");
        for (const auto& m : node.matchers)
            if (m.name() == "__name__" && m.op() == Op::equal) {
                node.name = m.value();
                break;
            }
        return std::make_unique<Expr>(std::move(node), ValueType::vector);
    }

    Lexer lexer_;
    Token token_;
    int nesting_ = 0;  // parse_unary calls on the stack
    int height_ = 0;   // of the tree the last parse_* call returned
    std::unordered_set<const TimeModifier*> offset_set_;  // "offset 0s" counts as set
};

}  // namespace

std::shared_ptr<const Expr> parse_expr(std::string_view text) { return Parser(text).parse(); }

ValueType expr_type(const Expr& expr) { return expr.type; }

std::string_view type_name(ValueType type) {
    switch (type) {
        case ValueType::scalar: return "scalar";
        case ValueType::vector: return "instant vector";
        case ValueType::matrix: return "range vector";
        case ValueType::string: return "string";
    }
    return "";
}

}  // namespace cargomon::alerts::promql
