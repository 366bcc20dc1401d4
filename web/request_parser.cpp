#include "web/request_parser.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/text.h"

namespace cargomon::web {
namespace {

constexpr std::size_t kMaxRequestLine = 8192;  // as Go's and httplib's URI limits
constexpr std::size_t kMaxChunkSizeLine = 1024;

bool is_token_char(char c) {
    if (c >= 'a' && c <= 'z') return true;
    if (c >= 'A' && c <= 'Z') return true;
    if (c >= '0' && c <= '9') return true;
    return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

// C0 controls and DEL; HTAB is allowed where the caller says.
bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Strict: a '%' must start a two-digit escape. False otherwise.
bool percent_decode_strict(std::string_view s, std::string& out) {
    out.clear();
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return false;
        int hi = hex_value(s[i + 1]);
        int lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return false;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return true;
}

// Lenient, for query strings (as Go's handlers see them through r.URL.Query(), which
// keeps what it cannot decode): a malformed escape stays as sent.
std::string percent_decode_query(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]);
            int lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += s[i] == '+' ? ' ' : s[i];
    }
    return out;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string control_name(char c) {
    switch (c) {
        case '\0': return "NUL";
        case '\r': return "CR";
        case '\n': return "LF";
        default: {
            static const char* hex = "0123456789abcdef";
            const auto u = static_cast<unsigned char>(c);
            return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
        }
    }
}

HeadResult refused(int status, std::string why) {
    HeadResult r;
    r.state = HeadResult::State::refused;
    r.status = status;
    r.why = std::move(why);
    return r;
}

ChunkStep chunk_refused(int status, std::string why) {
    ChunkStep s;
    s.state = ChunkStep::State::refused;
    s.status = status;
    s.why = std::move(why);
    return s;
}

// The request target (origin or absolute form) into path, segments and query.
std::string parse_target(Request& req) {
    std::string_view target = req.target;
    if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
        auto slash = target.find('/', target.find("//") + 2);
        target = slash == std::string_view::npos ? "/" : target.substr(slash);
    }
    if (target.empty() || target[0] != '/') return "request target must be a path";
    auto qmark = target.find('?');
    std::string_view raw_path = target.substr(0, qmark);
    if (!split_path_segments(raw_path, req.path_segments) || !percent_decode_strict(raw_path, req.path))
        return "malformed percent-encoding in the path";
    if (qmark != std::string_view::npos) parse_query_string(target.substr(qmark + 1), req.query);
    return {};
}

}  // namespace

void parse_query_string(std::string_view q, std::vector<std::pair<std::string, std::string>>& out) {
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view pair = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        out.emplace_back(percent_decode_query(pair.substr(0, eq)),
                         eq == std::string_view::npos ? "" : percent_decode_query(pair.substr(eq + 1)));
    }
}

bool split_path_segments(std::string_view raw_path, std::vector<std::string>& segments) {
    segments.clear();
    std::size_t start = raw_path.empty() ? 0 : 1;
    while (start <= raw_path.size()) {
        auto end = raw_path.find('/', start);
        if (end == std::string_view::npos) end = raw_path.size();
        std::string decoded;
        if (!percent_decode_strict(raw_path.substr(start, end - start), decoded)) return false;
        segments.push_back(std::move(decoded));
        start = end + 1;
    }
    return true;
}

HeadResult parse_request_head(std::string_view bytes, const Limits& limits, Request& req, std::size_t& scanned) {
    const std::size_t line_limit = std::min(kMaxRequestLine, limits.max_header_bytes);
    // Find the blank line that ends the head; every LF must close a CRLF.
    std::size_t head_end = std::string_view::npos;
    for (std::size_t pos = scanned; pos < bytes.size(); ++pos) {
        if (bytes[pos] != '\n') continue;
        if (pos == 0 || bytes[pos - 1] != '\r') return refused(400, "bare LF line ending: lines must end in CRLF");
        if (pos >= 3 && bytes[pos - 2] == '\n' && bytes[pos - 3] == '\r') {
            head_end = pos + 1;
            break;
        }
    }
    const std::size_t first_line_end = bytes.find("\r\n");
    if ((first_line_end == std::string_view::npos && bytes.size() > line_limit) ||
        (first_line_end != std::string_view::npos && first_line_end > line_limit))
        return refused(414, "request line too long");
    if (head_end == std::string_view::npos) {
        if (bytes.size() > limits.max_header_bytes) return refused(431, "request headers too large");
        scanned = bytes.size();
        return {};
    }
    if (head_end - 4 > limits.max_header_bytes) return refused(431, "request headers too large");

    const std::string_view head = bytes.substr(0, head_end - 2);  // each line with its CRLF
    const std::string_view line = head.substr(0, first_line_end);
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return refused(400, "malformed request line");
    req.method = std::string(line.substr(0, sp1));
    req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(req.method)) return refused(400, "malformed method");
    if (req.target.empty() || std::any_of(req.target.begin(), req.target.end(), is_control))
        return refused(400, "malformed request target");
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        if (version.rfind("HTTP/", 0) == 0) return refused(505, "only HTTP/1.0 and HTTP/1.1");
        return refused(400, "malformed request line");
    }
    const bool http11 = version == "HTTP/1.1";

    std::string_view rest = head.substr(first_line_end + 2);
    while (!rest.empty()) {
        const auto e = rest.find("\r\n");  // every line of `head` ends in CRLF
        const std::string_view h = rest.substr(0, e);
        rest.remove_prefix(e + 2);
        const auto colon = h.find(':');
        if (colon == std::string_view::npos || !is_token(h.substr(0, colon)))
            return refused(400, "malformed header line");
        if (req.headers.size() >= limits.max_header_count) return refused(431, "too many request headers");
        const std::string_view name = h.substr(0, colon);
        const std::string_view value = trim_ows(h.substr(colon + 1));
        for (char c : value)
            if (is_control(c) && c != '\t')
                return refused(400, "header " + std::string(name) + " has a control character (" + control_name(c) +
                                        ") in its value");
        req.headers.emplace_back(to_lower(name), std::string(value));
    }

    std::size_t hosts = 0, encodings = 0, lengths = 0;
    std::string_view te, cl;
    for (const auto& [k, v] : req.headers) {
        if (k == "host") ++hosts;
        if (k == "transfer-encoding") {
            ++encodings;
            te = v;
        }
        if (k == "content-length") {
            if (lengths++ > 0 && cl != v) return refused(400, "conflicting Content-Length headers");
            cl = v;
        }
    }
    if (hosts > 1) return refused(400, "several Host headers");
    if (http11 && hosts == 0) return refused(400, "HTTP/1.1 request without a Host header");

    HeadResult result;
    if (encodings > 1) return refused(400, "several Transfer-Encoding headers");
    if (encodings == 1) {
        if (lengths > 0) return refused(400, "both Transfer-Encoding and Content-Length");
        if (te.empty()) return refused(400, "empty Transfer-Encoding");
        if (!iequals(te, "chunked")) return refused(501, "only chunked transfer coding");
        result.framing.chunked = true;
    } else if (lengths > 0) {
        if (cl.empty() || cl.size() > 18 || !std::all_of(cl.begin(), cl.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return refused(400, "malformed Content-Length");
        std::from_chars(cl.data(), cl.data() + cl.size(), result.framing.length);
    }

    if (std::string why = parse_target(req); !why.empty()) return refused(400, why);

    bool keep_alive = http11;
    const auto connection = to_lower(req.header("Connection"));
    if (connection.find("close") != std::string::npos) keep_alive = false;
    else if (connection.find("keep-alive") != std::string::npos) keep_alive = true;
    result.keep_alive = keep_alive;
    result.state = HeadResult::State::complete;
    result.consumed = head_end;
    return result;
}

ChunkStep decode_chunk(std::string_view bytes, std::size_t body_so_far, std::size_t max_body,
                       std::size_t max_trailer_bytes) {
    const auto eol = bytes.find("\r\n");
    if (eol == std::string_view::npos)
        return bytes.size() > kMaxChunkSizeLine ? chunk_refused(400, "chunk size line too long") : ChunkStep{};
    if (eol > kMaxChunkSizeLine) return chunk_refused(400, "chunk size line too long");
    const std::string_view line = bytes.substr(0, eol);
    if (std::any_of(line.begin(), line.end(), [](char c) { return is_control(c) && c != '\t'; }))
        return chunk_refused(400, "control character in a chunk size line");
    const std::string_view size_text = trim_ows(line.substr(0, line.find(';')));  // extensions are ignored
    std::size_t size = 0;
    auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (size_text.empty() || ec != std::errc{} || p != size_text.data() + size_text.size())
        return chunk_refused(ec == std::errc::result_out_of_range ? 413 : 400, "malformed chunk size");
    if (size > max_body || body_so_far + size > max_body)
        return chunk_refused(413, "body over " + std::to_string(max_body) + " bytes");

    const std::size_t start = eol + 2;
    if (size == 0) {
        // Trailers, ignored, up to the blank line; bounded like headers, CRLF only.
        std::size_t pos = start;
        while (true) {
            const auto end = bytes.find("\r\n", pos);
            const std::size_t limit_end = end == std::string_view::npos ? bytes.size() : end;
            if (bytes.substr(pos, limit_end - pos).find('\n') != std::string_view::npos)
                return chunk_refused(400, "bare LF line ending in the trailers");
            if (limit_end - start > max_trailer_bytes) return chunk_refused(431, "trailers too large");
            if (end == std::string_view::npos) return {};
            if (end == pos) {
                ChunkStep s;
                s.state = ChunkStep::State::end;
                s.consumed = end + 2;
                return s;
            }
            pos = end + 2;
        }
    }
    if (bytes.size() - start < size + 2) return {};
    if (bytes.substr(start + size, 2) != "\r\n") return chunk_refused(400, "chunk data not followed by CRLF");
    ChunkStep s;
    s.state = ChunkStep::State::data;
    s.data = bytes.substr(start, size);
    s.consumed = start + size + 2;
    return s;
}

namespace {

int base64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Standard base64 with its padding, as Go's base64.StdEncoding (what r.BasicAuth uses).
bool decode_base64(std::string_view in, std::string& out) {
    if (in.empty() || in.size() % 4 != 0) return false;
    out.clear();
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; ++j) {
            const char c = in[i + j];
            if (c == '=' && last && j >= 2) {
                v[j] = 0;
                ++pad;
                continue;
            }
            if (pad) return false;  // data after '='
            v[j] = base64_value(static_cast<unsigned char>(c));
            if (v[j] < 0) return false;
        }
        const unsigned triple = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
        out += static_cast<char>((triple >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((triple >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(triple & 0xff);
    }
    return true;
}

}  // namespace

bool parse_basic_authorization(std::string_view header, std::string& user, std::string& password) {
    constexpr std::string_view kScheme = "basic ";
    if (header.size() < kScheme.size() || !iequals(header.substr(0, kScheme.size()), kScheme)) return false;
    std::string decoded;
    if (!decode_base64(header.substr(kScheme.size()), decoded)) return false;
    const std::size_t colon = decoded.find(':');
    if (colon != std::string::npos) {
        user = decoded.substr(0, colon);
        password = decoded.substr(colon + 1);
    }
    // The decoded text holds the password: wiped before its memory is freed.
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return colon != std::string::npos;
}

}  // namespace cargomon::web
