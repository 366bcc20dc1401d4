// Where cargomon export's bytes go (daemon/cli/export_output.h), without the API: pages
// read by their content (CSV, JSON Lines, a JSON array), joined into one file of the
// format asked and their rows counted whatever the chunk boundaries, malformed pages refused, a query's rows as CSV and JSON Lines, and the file
// written whole, with its mode, or not at all.
#include "daemon/cli/export_output.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cargo/errors.h"
#include "tests/support/temp_dir.h"

namespace cargomon::cli {
namespace {

namespace fs = std::filesystem;

TEST(HumanBytes, Units) {
    EXPECT_EQ(human_bytes(0), "0 B");
    EXPECT_EQ(human_bytes(1023), "1023 B");
    EXPECT_EQ(human_bytes(1536), "1.5 KiB");
    EXPECT_EQ(human_bytes(3 * 1024 * 1024 + 200 * 1024), "3.2 MiB");
}

// Pages through a joiner to stdout (a stream here), each page cut into chunks of `chunk` bytes.
struct Joined {
    std::string text;
    std::int64_t rows = 0;
};
Joined join(std::optional<FileFormat> want, const std::vector<std::string>& pages, std::size_t chunk) {
    std::ostringstream out, err;
    Sink sink("-", false, 0600, out, err);
    PageJoiner joiner(want, sink);
    for (const auto& page : pages) {
        joiner.begin_page();
        for (std::size_t at = 0; at < page.size(); at += chunk) joiner.write(std::string_view(page).substr(at, chunk));
        joiner.end_page();
    }
    joiner.finish();
    sink.commit();
    return {out.str(), sink.rows()};
}

constexpr auto kCsv = FileFormat::csv;
constexpr auto kLines = FileFormat::json_lines;
constexpr auto kArray = FileFormat::json_array;

TEST(PageJoiner, CsvPagesAfterTheFirstLoseTheirHeader) {
    for (std::size_t chunk : {1, 3, 1000}) {
        const Joined j = join(kCsv, {"id,n\n1,a\n2,b\n", "id,n\n3,c\n", "id,n\n"}, chunk);
        EXPECT_EQ(j.text, "id,n\n1,a\n2,b\n3,c\n") << chunk;
        EXPECT_EQ(j.rows, 3) << chunk;
    }
    // Read by content: the same without a format asked.
    EXPECT_EQ(join(std::nullopt, {"id,n\n1,a\n"}, 2).text, "id,n\n1,a\n");
}

TEST(PageJoiner, CsvRecordsAreCountedLessTheHeader) {
    EXPECT_EQ(join(kCsv, {""}, 1).rows, 0);
    EXPECT_EQ(join(kCsv, {"a,b\n"}, 1).rows, 0);
    EXPECT_EQ(join(kCsv, {"a,b\n1,2\n\n3,4\n"}, 1).rows, 2) << "a blank line is no record";
    const Joined unterminated = join(kCsv, {"a,b\n1,2\n3,4", "a,b\n5,6"}, 1);
    EXPECT_EQ(unterminated.rows, 3) << "a last record without its newline";
    EXPECT_EQ(unterminated.text, "a,b\n1,2\n3,4\n5,6\n") << "pages do not run into each other";
    EXPECT_EQ(join(kCsv, {"a\n\"x\ny\"\n\"\"\"\n\"\n"}, 1).rows, 2) << "newlines inside quotes";
    EXPECT_EQ(join(kCsv, {"\"h\nh\"\n1\n", "\"h\nh\"\n2\n"}, 1).text, "\"h\nh\"\n1\n2\n") << "a quoted header";
}

TEST(PageJoiner, JsonPagesSplicedIntoOneArray) {
    const std::vector<std::string> pages = {"[{\"a\":1},\n {\"a\":[2]}]\n", " [ ] ", "[{\"s\":\"] ,[\"}]", "[[1],[]]"};
    for (std::size_t chunk : {1, 2, 7, 1000}) {
        const Joined j = join(kArray, pages, chunk);
        EXPECT_EQ(j.text, "[{\"a\":1},\n{\"a\":[2]},\n{\"s\":\"] ,[\"},\n[1],\n[]]\n") << chunk;
        EXPECT_EQ(j.rows, 5) << chunk << ": every value of the array, objects or not";
    }
    EXPECT_EQ(join(kArray, {"[]", " [ ]\n"}, 1).text, "[]\n");
    EXPECT_EQ(join(kArray, {}, 1).text, "[]\n");
    EXPECT_EQ(join(kArray, {"", "  "}, 1).text, "[]\n") << "an empty download is no rows";
}

TEST(PageJoiner, JsonLinesAndArraysBecomeOneAnother) {
    // Newline-delimited JSON (runs/download) as it came, blank lines dropped; a line cut
    // at the end of a page still ends there.
    const std::vector<std::string> lines = {"{\"a\":1}\n\n{\"b\":\"x\\ny\"}\n", "  {\"c\":[1,\n"};
    EXPECT_THROW(join(std::nullopt, lines, 1), cargo::ParseError) << "a line that is not one value";
    const std::vector<std::string> good = {"{\"a\":1}\n\n{\"b\":\"x\\ny\"}\n", "{\"c\":[1, 2]}"};
    for (std::size_t chunk : {1, 5, 1000}) {
        const Joined as_is = join(std::nullopt, good, chunk);
        EXPECT_EQ(as_is.text, "{\"a\":1}\n{\"b\":\"x\\ny\"}\n{\"c\":[1, 2]}\n") << chunk;
        EXPECT_EQ(as_is.rows, 3);
        const Joined array = join(kArray, good, chunk);
        EXPECT_EQ(array.text, "[{\"a\":1},\n{\"b\":\"x\\ny\"},\n{\"c\":[1, 2]}]\n") << chunk;
        EXPECT_EQ(array.rows, 3);
        // An array, one element a line: white space outside strings dropped.
        const Joined back = join(kLines, {"[ {\"a\": 1},\n  {\"s\": \"a b\"} ]", "[\n]", "[2]"}, chunk);
        EXPECT_EQ(back.text, "{\"a\":1}\n{\"s\":\"a b\"}\n2\n") << chunk;
        EXPECT_EQ(back.rows, 3);
    }
}

TEST(PageJoiner, CsvAndJsonAreNotTakenForOneAnother) {
    EXPECT_THROW(join(kArray, {"id\n1\n"}, 3), cargo::ParseError);
    EXPECT_THROW(join(kCsv, {"[1]"}, 3), cargo::ParseError);
    EXPECT_THROW(join(std::nullopt, {"id\n1\n", "{\"a\":1}\n"}, 3), cargo::ParseError);
    EXPECT_THROW(join(kCsv, {"a\n\"open\n"}, 3), cargo::ParseError) << "a CSV ending inside quotes";
}

std::string refusal(const std::string& page) {
    try {
        join(kArray, {"[1]", page}, 1);
    } catch (const cargo::ParseError& e) {
        return e.what();
    }
    ADD_FAILURE() << "accepted: " << page;
    return "";
}

TEST(PageJoiner, MalformedJsonPagesAreRefused) {
    EXPECT_NE(refusal("{\"a\":1").find("not one JSON value"), std::string::npos);
    EXPECT_NE(refusal("<html>").find("CSV, not the JSON"), std::string::npos);
    EXPECT_NE(refusal("[1,2").find("cut short"), std::string::npos);
    EXPECT_NE(refusal("[[1,2]").find("cut short"), std::string::npos);
    EXPECT_NE(refusal("[\"]\"").find("cut short"), std::string::npos) << "a bracket in a string closes nothing";
    EXPECT_NE(refusal("[1]]").find("text after its array"), std::string::npos);
    EXPECT_NE(refusal("[1] [2]").find("text after its array"), std::string::npos);
    EXPECT_NE(refusal("[1]x").find("text after its array"), std::string::npos);
}

// A page as large as a download may be, of the shapes that cost most: all white space
// (held until content follows), a million nested arrays (counted, not recursed into),
// all closing brackets. Each is read in one pass.
TEST(PageJoiner, HostilePagesOfAMebibyte) {
    constexpr std::size_t kBig = 1 << 20;
    const Joined spaces = join(kArray, {"[" + std::string(kBig, ' ') + "]"}, 4096);
    EXPECT_EQ(spaces.text, "[]\n");
    const std::string deep = "[" + std::string(kBig, '[') + std::string(kBig, ']') + "]";
    const Joined nested = join(kArray, {deep}, 4096);
    EXPECT_EQ(nested.text.size(), deep.size() + 1);
    EXPECT_EQ(nested.rows, 1);
    EXPECT_NE(refusal(std::string(kBig, ']')).find("CSV, not the JSON"), std::string::npos);
    EXPECT_NE(refusal("[" + std::string(kBig, ']')).find("text after its array"), std::string::npos);
    EXPECT_NE(refusal(std::string(kBig, '[')).find("cut short"), std::string::npos);
    EXPECT_NE(refusal(std::string(kBig, '{')).find("not one JSON value"), std::string::npos);
}

TEST(CsvField, QuotedOnlyWhenItMustBe) {
    auto field = [](std::string_view text) {
        std::string out;
        csv_field(out, text);
        return out;
    };
    EXPECT_EQ(field("plain"), "plain");
    EXPECT_EQ(field(""), "");
    EXPECT_EQ(field("a,b"), "\"a,b\"");
    EXPECT_EQ(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(field("two\nlines"), "\"two\nlines\"");
    EXPECT_EQ(field("cr\r"), "\"cr\r\"");
    EXPECT_EQ(field(" padded"), "\" padded\"");
    EXPECT_EQ(field("padded "), "\"padded \"");
}

std::string rows_of(QueryRows::Format format, std::vector<std::string> answers, std::vector<std::size_t>* counts = nullptr) {
    std::ostringstream out, err;
    Sink sink("-", false, 0600, out, err);
    QueryRows rows(format, sink);
    for (auto& answer : answers) {
        const std::size_t n = rows.write(answer);
        if (counts) counts->push_back(n);
    }
    return out.str();
}

TEST(QueryRows, CsvWithTheFirstRowsColumnsInEveryPage) {
    std::vector<std::size_t> counts;
    const std::string csv =
        rows_of(QueryRows::Format::csv,
                {R"({"rows":[{"id":1,"name":"a, b","tags":["x"],"none":null},{"name":"c","id":2.5,"extra":true}]})",
                 R"({"rows":[{"id":-7,"name":" d"}]})", R"({"rows":[]})"},
                &counts);
    EXPECT_EQ(csv, "id,name,tags,none\n1,\"a, b\",\"[\"\"x\"\"]\",\n2.5,c,,\n-7,\" d\",,\n");
    EXPECT_EQ(counts, (std::vector<std::size_t>{2, 1, 0}));
}

TEST(QueryRows, JsonLinesAsTheRowsCame) {
    EXPECT_EQ(rows_of(QueryRows::Format::jsonl, {R"({"rows":[{"b":1,"a":"x"},{}]})"}), "{\"b\":1,\"a\":\"x\"}\n{}\n");
}

TEST(QueryRows, MalformedAnswersAreRefused) {
    for (const std::string& answer :
         {std::string("not json"), std::string(R"({"rows":{}})"), std::string(R"({"data":[]})"), std::string("[]"),
          std::string(R"({"rows":[1]})"), std::string(R"({"rows":[{"a":1})"),
          R"({"rows":[{"a":)" + std::string(100'000, '[') + std::string(100'000, ']') + "}]}"}) {
        try {
            rows_of(QueryRows::Format::csv, {answer});
            ADD_FAILURE() << "accepted " << answer.substr(0, 80);
        } catch (const cargo::ParseError& e) {
            EXPECT_EQ(e.status(), 200);
        }
    }
}

TEST(Sink, AFileIsWrittenWholeWithItsModeOrNotAtAll) {
    testing::TempDir dir;
    std::ostringstream out, err;
    {
        Sink sink(dir.file("out.csv"), false, 0640, out, err);
        sink.format_known(FileFormat::json_lines);  // a name given is kept as given
        sink.write("a\n1\n");
        sink.add_rows(1);
        EXPECT_FALSE(fs::exists(dir.file("out.csv")));
        EXPECT_TRUE(sink.commit());
        EXPECT_EQ(sink.rows(), 1);
        EXPECT_EQ(sink.bytes(), 4u);
        EXPECT_EQ(sink.output(), dir.file("out.csv"));
    }
    std::ifstream in(dir.file("out.csv"));
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "a\n1\n");
    struct stat st {};
    ASSERT_EQ(::stat(dir.file("out.csv").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    {
        Sink header_only(dir.file("empty.csv"), false, 0600, out, err);
        header_only.write("a\n");
        EXPECT_FALSE(header_only.commit()) << "no rows: nothing to export";
    }
    {
        Sink abandoned(dir.file("cut.csv"), false, 0600, out, err);
        abandoned.write("a\n1\n");
        abandoned.add_rows(1);
    }
    {
        // A default name gets the extension of what the file holds.
        Sink named(dir.file("runs-w"), true, 0600, out, err);
        named.format_known(FileFormat::json_lines);
        named.write("{}\n");
        named.add_rows(1);
        EXPECT_TRUE(named.commit());
        EXPECT_EQ(named.output(), dir.file("runs-w.jsonl"));
    }
    std::vector<fs::path> files(fs::directory_iterator(dir.path()), {});
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files, (std::vector<fs::path>{fs::path(dir.file("out.csv")), fs::path(dir.file("runs-w.jsonl"))}));
    EXPECT_EQ(out.str(), "") << "a file export writes nothing to stdout";
}

}  // namespace
}  // namespace cargomon::cli
