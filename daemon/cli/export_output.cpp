#include "daemon/cli/export_output.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "cargo/errors.h"
#include "common/json.h"
#include "common/text.h"

namespace cargomon::cli {
namespace {

[[noreturn]] void malformed(const std::string& what) { throw cargo::ParseError(what, 200, "", ""); }

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

// ---- JsonScanner, RowCounter ----

void JsonScanner::feed(char c) {
    if (in_string) {
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') in_string = false;
    } else if (c == '"') {
        in_string = true;
    } else if (c == '[' || c == '{') {
        ++depth;
    } else if (c == ']' || c == '}') {
        --depth;
    }
}

void RowCounter::feed(std::string_view data) {
    for (char c : data) {
        switch (kind_) {
            case Kind::csv:
                if (c == '"') in_quotes_ = !in_quotes_;
                else if (c == '\n' && !in_quotes_) ++records_, pending_ = false;
                else pending_ = true;
                break;
            case Kind::lines:
                if (c == '\n') ++records_;
                break;
            case Kind::json_array:
                json_.feed(c);
                // An object opened as an element of the top-level array.
                if (c == '{' && !json_.in_string && json_.depth == 2) ++records_;
                break;
        }
    }
}

std::int64_t RowCounter::rows() const {
    if (kind_ != Kind::csv) return records_;
    return std::max<std::int64_t>(0, records_ + (pending_ ? 1 : 0) - 1);
}

std::string human_bytes(std::uint64_t bytes) {
    char buf[32];
    if (bytes < 1024) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else if (bytes < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
    else std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024.0));
    return buf;
}

// ---- Sink ----

Sink::Sink(const std::string& output, mode_t mode, RowCounter::Kind kind, std::ostream& out, std::ostream& err)
    : out_(out), err_(err), counter_(kind), progress_(::isatty(STDERR_FILENO) == 1) {
    if (output != "-")
        file_ = std::make_unique<AtomicFile>(output, AtomicFile::Options{.mode = mode, .remove_on_signal = true});
}

void Sink::write(std::string_view data) {
    if (data.empty()) return;
    counter_.feed(data);
    bytes_ += data.size();
    if (file_) {
        file_->write(data);
    } else {
        out_.write(data.data(), static_cast<std::streamsize>(data.size()));
        if (!out_) throw std::runtime_error("cannot write to stdout");
    }
    draw(false);
}

bool Sink::commit() {
    draw(true);
    if (!file_) {
        out_.flush();
        return rows() > 0;
    }
    if (rows() == 0) return false;
    file_->commit();
    return true;
}

void Sink::draw(bool last) {
    if (!progress_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!last && now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    err_ << "\r\033[K" << human_bytes(bytes_) << ", " << rows() << " rows" << (last ? "\r\033[K" : "") << std::flush;
}

// ---- PageJoiner ----

void PageJoiner::begin_page() {
    skip_header_ = !json_ && pages_ > 0;
    state_ = State::before;
    scan_ = {};
    page_has_elements_ = false;
    held_.clear();
    ++pages_;
}

void PageJoiner::write(std::string_view data) {
    if (!json_) {
        if (skip_header_) {
            const auto nl = data.find('\n');
            if (nl == std::string_view::npos) return;
            data.remove_prefix(nl + 1);
            skip_header_ = false;
        }
        return sink_.write(data);
    }
    std::string out;
    for (char c : data) {
        if (state_ == State::before) {
            if (is_space(c)) continue;
            if (c != '[') malformed("the downloaded JSON is not an array");
            state_ = State::inside;
            scan_.feed(c);
            continue;
        }
        if (state_ == State::closed) {
            if (is_space(c)) continue;
            malformed("the downloaded JSON has text after its array");
        }
        if (!scan_.in_string) {
            // White space waits until more content comes: what precedes the page's
            // closing bracket belongs to no element. The closing bracket is dropped.
            if (is_space(c)) {
                held_ += c;
                continue;
            }
            if (c == ']' && scan_.depth == 1) {
                state_ = State::closed;
                continue;
            }
        }
        if (!page_has_elements_) {
            out += any_elements_ ? "," : "[";
            page_has_elements_ = any_elements_ = true;
        }
        out += held_;
        held_.clear();
        out += c;
        scan_.feed(c);
    }
    sink_.write(out);
}

void PageJoiner::end_page() {
    if (!json_) return;
    if (state_ != State::closed) malformed("the downloaded JSON array is cut short");
    sink_.write(held_);
    held_.clear();
}

void PageJoiner::finish() {
    if (json_) sink_.write(any_elements_ ? "]\n" : "[]\n");
}

// ---- CSV and query rows ----

void csv_field(std::string& out, std::string_view text) {
    if (text.find_first_of(",\"\r\n") == std::string_view::npos && trim(text).size() == text.size()) {
        out += text;
        return;
    }
    out += '"';
    for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    out += '"';
}

std::size_t QueryRows::write(std::string& body) {
    rapidjson::Document doc;
    if (auto error = parse_json_in_place(body, doc, {.nan_and_inf = true}))
        malformed("the query's answer is malformed JSON at " + *error);
    if (!doc.IsObject() || !doc.HasMember("rows") || !doc["rows"].IsArray())
        malformed("the query's answer has no rows array");
    const auto rows = doc["rows"].GetArray();
    std::string out;
    auto json_text = [](const rapidjson::Value& v) {
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        v.Accept(w);
        return std::string(buf.GetString(), buf.GetSize());
    };
    for (const auto& row : rows) {
        if (!row.IsObject()) malformed("a row of the query's answer is not an object");
        if (format_ == Format::jsonl) {
            out += json_text(row) + "\n";
        } else {
            if (columns_.empty()) {
                for (const auto& m : row.GetObject()) columns_.emplace_back(m.name.GetString(), m.name.GetStringLength());
                for (std::size_t i = 0; i < columns_.size(); ++i) (i ? out += ',' : out), csv_field(out, columns_[i]);
                out += '\n';
            }
            for (std::size_t i = 0; i < columns_.size(); ++i) {
                if (i) out += ',';
                auto m = row.FindMember(rapidjson::StringRef(columns_[i].data(), columns_[i].size()));
                if (m == row.MemberEnd() || m->value.IsNull()) continue;
                if (m->value.IsString()) csv_field(out, {m->value.GetString(), m->value.GetStringLength()});
                else csv_field(out, json_text(m->value));
            }
            out += '\n';
        }
        // Written in pieces of about a MiB: a 10,000-row answer is not held twice.
        if (out.size() >= 1 << 20) sink_.write(out), out.clear();
    }
    sink_.write(out);
    return rows.Size();
}

}  // namespace cargomon::cli
