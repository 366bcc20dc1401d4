#pragma once
// Where `cargomon export`'s bytes go (daemon/cli/export.cpp fetches them): the sink (a
// file written whole through common/atomic_file.h, or stdout) with its row count and
// progress line, the joiner that makes one CSV, JSON Lines or JSON array file of many
// downloaded pages (each read by its content), and the writer of a
// query's rows as CSV or JSON Lines.
//
// Every input here is the API's or a download's, bounded upstream by the client's caps
// (client.max_answer_bytes, client.max_download_bytes); nothing recurses on it, and what
// is held between chunks is at most one page's run of white space. A page that is not
// what it claims to be is a cargo::ParseError, and the file is then not written.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/atomic_file.h"

namespace cargomon::cli {

// Where a JSON text stands after each character: inside a string (just after a
// backslash in one), and how deep in arrays and objects. Enough to count or splice
// elements without parsing, in constant memory.
struct JsonScanner {
    bool in_string = false, escaped = false;
    int depth = 0;
    void feed(char c);
};

// What a file holds: told from a download's first bytes (after its gzip, if any), or
// chosen by --format. Its extension names a default output file.
enum class FileFormat { csv, json_lines, json_array };
const char* extension(FileFormat format);  // "csv", "jsonl", "json"

// "512 B", "1.5 KiB", "3.2 MiB".
std::string human_bytes(std::uint64_t bytes);

// The export's destination, row count and progress line. `output` "-" is `out`; any other
// path is written whole or not at all, with `mode`, its temporary file removed on SIGINT,
// SIGTERM and SIGHUP. With `add_extension`, the path is a default name that gets the
// extension of the file's format once it is known (format_known(), before the first
// write). Rows are counted by the writer that knows the format (add_rows()). The
// progress line is drawn on `err` at most ten times a second, only when stderr is a
// terminal.
class Sink {
public:
    Sink(std::string output, bool add_extension, mode_t mode, std::ostream& out, std::ostream& err);

    void format_known(FileFormat format);
    void write(std::string_view data);
    void add_rows(std::int64_t rows);
    // Writes the file in place (or flushes stdout). Without rows, nothing is written and
    // false is returned: there was nothing to export.
    bool commit();
    std::int64_t rows() const { return rows_; }
    std::uint64_t bytes() const { return bytes_; }
    const std::string& output() const { return output_; }  // "-" for stdout

private:
    void draw(bool last);

    std::string output_;
    bool add_extension_;
    mode_t mode_;
    std::ostream& out_;
    std::ostream& err_;
    bool progress_;
    std::unique_ptr<AtomicFile> file_;  // opened at the first write
    std::int64_t rows_ = 0;
    std::uint64_t bytes_ = 0;
    std::chrono::steady_clock::time_point drawn_{};
};

// Downloaded pages of one export joined into one file, each page read by its content:
// a page whose first byte (white space aside) is '[' is a JSON array, '{' newline-
// delimited JSON (one value a line), anything else CSV. The file is written in `want`,
// or without it in the first page's format: JSON Lines and JSON arrays become one
// another (an array's elements one a line, white space outside strings dropped; lines
// as elements), CSV stays CSV (pages after the first lose their header), and CSV asked
// as JSON, or JSON as CSV, is refused. Rows are counted as they go: CSV records less the
// header, JSON values. A page that is not what it looks like (an array cut short or
// followed by text, a line that is not one JSON value, a CSV ending inside quotes) is a
// cargo::ParseError, and the file is then not written.
class PageJoiner {
public:
    PageJoiner(std::optional<FileFormat> want, Sink& sink);

    void begin_page();
    void write(std::string_view data);  // the page's bytes, in chunks of any size
    void end_page();
    void finish();  // after the last page: closes a JSON array

private:
    enum class State { before, inside, closed };
    void start(FileFormat page);
    void csv(char c, std::string& out);
    void json_lines(char c, std::string& out);
    void json_array(char c, std::string& out);
    void end_line(std::string& out);
    void open_element(std::string& out);

    std::optional<FileFormat> want_;  // the file's format, once known
    Sink& sink_;
    std::optional<FileFormat> page_;  // this page's, once its first byte is seen
    std::int64_t rows_ = 0;           // counted in this write(), handed to the sink
    // CSV: whether the file has its header yet; this page's header line, quotes, record.
    bool file_has_header_ = false, in_header_ = false, keep_header_ = false, in_quotes_ = false;
    bool record_has_content_ = false;
    char last_written_ = '\n';
    // JSON: the scanner of this line or array, the array page's state, an element expected
    // or open, whether the file has an element yet, white space held until content follows.
    JsonScanner scan_;
    State state_ = State::before;
    bool expect_value_ = false, element_open_ = false, line_has_content_ = false, any_elements_ = false;
    std::string held_;
};

// One field of a CSV record (RFC 4180): quoted, its quotes doubled, when it holds a comma,
// a quote, a line break or white space at either end; as it is otherwise.
void csv_field(std::string& out, std::string_view text);

// A query's answers ({"rows": [{column: value, ...}, ...]}) written as CSV (a header of
// the first row's columns, the same columns in every later row and page, null as empty)
// or as JSON Lines (each row as it came).
class QueryRows {
public:
    enum class Format { csv, jsonl };
    QueryRows(Format format, Sink& sink);

    // One answer's rows written out; returns how many it held. `body` is parsed in place.
    // Throws cargo::ParseError when it is no such answer.
    std::size_t write(std::string& body);

private:
    Format format_;
    Sink& sink_;
    std::vector<std::string> columns_;  // from the first row of the first answer
};

}  // namespace cargomon::cli
