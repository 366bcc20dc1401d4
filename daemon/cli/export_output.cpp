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

// ---- JsonScanner, formats ----

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

const char* extension(FileFormat format) {
    switch (format) {
        case FileFormat::csv: return "csv";
        case FileFormat::json_lines: return "jsonl";
        case FileFormat::json_array: return "json";
    }
    return "";
}

std::string human_bytes(std::uint64_t bytes) {
    char buf[32];
    if (bytes < 1024) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else if (bytes < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
    else std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024.0));
    return buf;
}

// ---- Sink ----

Sink::Sink(std::string output, bool add_extension, mode_t mode, std::ostream& out, std::ostream& err)
    : output_(std::move(output)),
      add_extension_(add_extension && output_ != "-"),
      mode_(mode),
      out_(out),
      err_(err),
      progress_(::isatty(STDERR_FILENO) == 1) {}

void Sink::format_known(FileFormat format) {
    if (!add_extension_ || file_) return;
    output_ += std::string(".") + extension(format);
    add_extension_ = false;
}

void Sink::write(std::string_view data) {
    if (data.empty()) return;
    bytes_ += data.size();
    if (output_ == "-") {
        out_.write(data.data(), static_cast<std::streamsize>(data.size()));
        if (!out_) throw std::runtime_error("cannot write to stdout");
    } else {
        if (!file_)
            file_ = std::make_unique<AtomicFile>(output_, AtomicFile::Options{.mode = mode_, .remove_on_signal = true});
        file_->write(data);
    }
    draw(false);
}

void Sink::add_rows(std::int64_t rows) {
    rows_ += rows;
    if (rows) draw(false);
}

bool Sink::commit() {
    draw(true);
    if (output_ == "-") {
        out_.flush();
        return rows_ > 0;
    }
    if (rows_ == 0 || !file_) return false;
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

PageJoiner::PageJoiner(std::optional<FileFormat> want, Sink& sink) : want_(want), sink_(sink) {
    if (want_) sink_.format_known(*want_);
}

void PageJoiner::begin_page() {
    page_.reset();
    scan_ = {};
    state_ = State::before;
    in_quotes_ = record_has_content_ = expect_value_ = element_open_ = line_has_content_ = false;
    held_.clear();
}

void PageJoiner::start(FileFormat page) {
    page_ = page;
    if (!want_) {
        want_ = page;
        sink_.format_known(page);
    }
    const bool page_json = page != FileFormat::csv, file_json = *want_ != FileFormat::csv;
    if (page_json && !file_json) malformed("the download is JSON, not the CSV asked for");
    if (!page_json && file_json) malformed("the download is CSV, not the JSON asked for");
    in_header_ = page == FileFormat::csv;
    keep_header_ = !file_has_header_;
}

void PageJoiner::write(std::string_view data) {
    std::string out;
    rows_ = 0;
    for (char c : data) {
        if (!page_) {
            if (is_space(c)) continue;
            start(c == '[' ? FileFormat::json_array : c == '{' ? FileFormat::json_lines : FileFormat::csv);
        }
        switch (*page_) {
            case FileFormat::csv: csv(c, out); break;
            case FileFormat::json_lines: json_lines(c, out); break;
            case FileFormat::json_array: json_array(c, out); break;
        }
    }
    if (!out.empty()) last_written_ = out.back();
    sink_.write(out);
    sink_.add_rows(rows_);
}

void PageJoiner::csv(char c, std::string& out) {
    if (c == '"') in_quotes_ = !in_quotes_;
    const bool record_ends = c == '\n' && !in_quotes_;
    if (in_header_) {
        if (keep_header_) out += c;
        if (record_ends) in_header_ = false, file_has_header_ = true;
        return;
    }
    out += c;
    if (record_ends) {
        rows_ += record_has_content_ ? 1 : 0;
        record_has_content_ = false;
    } else if (c != '\r') {
        record_has_content_ = true;
    }
}

// A JSON element of the file begins: a line of its own, or the array's next element.
void PageJoiner::open_element(std::string& out) {
    ++rows_;
    element_open_ = true;
    if (*want_ == FileFormat::json_array) {
        out += any_elements_ ? ",\n" : "[";
        any_elements_ = true;
    }
}

void PageJoiner::end_line(std::string& out) {
    if (!line_has_content_) return;
    if (scan_.in_string || scan_.depth != 0) malformed("a line of the downloaded JSON Lines is not one JSON value");
    if (*want_ == FileFormat::json_lines) out += '\n';
    line_has_content_ = element_open_ = false;
    scan_ = {};
}

void PageJoiner::json_lines(char c, std::string& out) {
    if (c == '\n') return end_line(out);
    if (!line_has_content_) {
        if (is_space(c)) return;  // blank lines and indentation: no element
        line_has_content_ = true;
        open_element(out);
    }
    out += c;
    scan_.feed(c);
}

void PageJoiner::json_array(char c, std::string& out) {
    const bool lines = *want_ == FileFormat::json_lines;
    if (state_ == State::before) {  // c is the '[' start() saw
        state_ = State::inside;
        scan_.feed(c);
        expect_value_ = true;
        return;
    }
    if (state_ == State::closed) {
        if (!is_space(c)) malformed("the downloaded JSON has text after its array");
        return;
    }
    if (!scan_.in_string) {
        // White space waits until more content comes: what precedes the page's closing
        // bracket belongs to no element. A line per element keeps none of it.
        if (is_space(c)) {
            if (!lines) held_ += c;
            return;
        }
        if (scan_.depth == 1 && (c == ']' || c == ',')) {
            if (lines && element_open_) out += '\n';
            element_open_ = false;
            held_.clear();
            if (c == ']') state_ = State::closed;
            else expect_value_ = true;
            return;
        }
        if (scan_.depth == 1 && expect_value_) {
            expect_value_ = false;
            held_.clear();
            open_element(out);
        }
    }
    out += held_;
    held_.clear();
    out += c;
    scan_.feed(c);
}

void PageJoiner::end_page() {
    std::string out;
    rows_ = 0;
    if (page_ == FileFormat::csv) {
        if (in_quotes_) malformed("the downloaded CSV ends inside a quoted field");
        if (in_header_ && keep_header_) file_has_header_ = true;
        rows_ += !in_header_ && record_has_content_ ? 1 : 0;
        // A last record without its line break: the next page's must not join it.
        if (last_written_ != '\n' && (record_has_content_ || (in_header_ && keep_header_))) out += '\n';
    } else if (page_ == FileFormat::json_lines) {
        end_line(out);
    } else if (page_ == FileFormat::json_array && state_ != State::closed) {
        malformed("the downloaded JSON array is cut short");
    }
    held_.clear();
    if (!out.empty()) last_written_ = out.back();
    sink_.write(out);
    sink_.add_rows(rows_);
}

void PageJoiner::finish() {
    if (want_ == FileFormat::json_array) sink_.write(any_elements_ ? "]\n" : "[]\n");
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

QueryRows::QueryRows(Format format, Sink& sink) : format_(format), sink_(sink) {
    sink_.format_known(format == Format::jsonl ? FileFormat::json_lines : FileFormat::csv);
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
    sink_.add_rows(static_cast<std::int64_t>(rows.Size()));
    return rows.Size();
}

}  // namespace cargomon::cli
