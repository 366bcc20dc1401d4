#pragma once
// Where `cargomon export`'s bytes go (daemon/cli/export.cpp fetches them): the sink (a
// file written whole through common/atomic_file.h, or stdout) with its row count and
// progress line, the joiner that makes one CSV file or one JSON array of many downloaded
// pages, and the writer of a query's rows as CSV or JSON Lines.
//
// Every input here is the API's or a download's, bounded upstream by the client's caps
// (client.max_answer_bytes, client.max_download_bytes); nothing recurses on it, and what
// is held between chunks is at most one page's run of white space. A page that is not
// what it claims to be is a cargo::ParseError, and the file is then not written.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
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

// Rows in what is written, counted as it streams by: CSV records (a quoted newline is
// inside a record) less the header, objects of a JSON array, or lines of JSON Lines.
class RowCounter {
public:
    enum class Kind { csv, json_array, lines };
    explicit RowCounter(Kind kind) : kind_(kind) {}

    void feed(std::string_view data);
    std::int64_t rows() const;

private:
    Kind kind_;
    std::int64_t records_ = 0;
    bool in_quotes_ = false, pending_ = false;
    JsonScanner json_;
};

// "512 B", "1.5 KiB", "3.2 MiB".
std::string human_bytes(std::uint64_t bytes);

// The export's destination, row count and progress line. `output` "-" is `out`; any other
// path is written whole or not at all, with `mode`, its temporary file removed on SIGINT,
// SIGTERM and SIGHUP. The progress line is drawn on `err` at most ten times a second, only
// when stderr is a terminal.
class Sink {
public:
    Sink(const std::string& output, mode_t mode, RowCounter::Kind kind, std::ostream& out, std::ostream& err);

    void write(std::string_view data);
    // Writes the file in place (or flushes stdout). Without rows, nothing is written and
    // false is returned: there was nothing to export.
    bool commit();
    std::int64_t rows() const { return counter_.rows(); }
    std::uint64_t bytes() const { return bytes_; }

private:
    void draw(bool last);

    std::ostream& out_;
    std::ostream& err_;
    RowCounter counter_;
    bool progress_;
    std::unique_ptr<AtomicFile> file_;
    std::uint64_t bytes_ = 0;
    std::chrono::steady_clock::time_point drawn_{};
};

// Pages of one export joined into one file: a CSV page after the first loses its header
// line; JSON array pages are spliced into one array. A JSON page must be one array
// (white space around it): anything else, one cut short or text after its closing
// bracket, is a cargo::ParseError.
class PageJoiner {
public:
    PageJoiner(bool json, Sink& sink) : json_(json), sink_(sink) {}

    void begin_page();
    void write(std::string_view data);  // the page's bytes, in chunks of any size
    void end_page();
    void finish();  // after the last page: closes the JSON array

private:
    enum class State { before, inside, closed };

    bool json_;
    Sink& sink_;
    int pages_ = 0;
    bool skip_header_ = false;
    State state_ = State::before;
    JsonScanner scan_;
    bool page_has_elements_ = false, any_elements_ = false;
    std::string held_;  // white space inside the array, written once more content follows
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
    QueryRows(Format format, Sink& sink) : format_(format), sink_(sink) {}

    // One answer's rows written out; returns how many it held. `body` is parsed in place.
    // Throws cargo::ParseError when it is no such answer.
    std::size_t write(std::string& body);

private:
    Format format_;
    Sink& sink_;
    std::vector<std::string> columns_;  // from the first row of the first answer
};

}  // namespace cargomon::cli
