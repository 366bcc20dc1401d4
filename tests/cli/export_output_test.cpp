// Where cargomon export's bytes go (daemon/cli/export_output.h), without the API: rows
// counted as they stream, pages joined into one CSV or one JSON array whatever the chunk
// boundaries, malformed pages refused, a query's rows as CSV and JSON Lines, and the file
// written whole, with its mode, or not at all.
#include "daemon/cli/export_output.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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

std::int64_t count(RowCounter::Kind kind, const std::string& text) {
    RowCounter counter(kind);
    for (char c : text) counter.feed(std::string_view(&c, 1));  // boundaries anywhere
    return counter.rows();
}

TEST(RowCounter, CsvRecordsLessTheHeader) {
    EXPECT_EQ(count(RowCounter::Kind::csv, ""), 0);
    EXPECT_EQ(count(RowCounter::Kind::csv, "a,b\n"), 0);
    EXPECT_EQ(count(RowCounter::Kind::csv, "a,b\n1,2\n3,4\n"), 2);
    EXPECT_EQ(count(RowCounter::Kind::csv, "a,b\n1,2\n3,4"), 2) << "a last record without its newline";
    EXPECT_EQ(count(RowCounter::Kind::csv, "a\n\"x\ny\"\n\"\"\"\n\"\n"), 2) << "newlines inside quotes";
}

TEST(RowCounter, JsonArrayObjectsAndLines) {
    EXPECT_EQ(count(RowCounter::Kind::json_array, "[]\n"), 0);
    EXPECT_EQ(count(RowCounter::Kind::json_array, R"([{"a":{"b":[{}]}},{"s":"{[\"}"}])"), 2);
    EXPECT_EQ(count(RowCounter::Kind::lines, "{}\n{}\n{}\n"), 3);
}

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
Joined join(bool json, const std::vector<std::string>& pages, std::size_t chunk) {
    std::ostringstream out, err;
    Sink sink("-", 0600, json ? RowCounter::Kind::json_array : RowCounter::Kind::csv, out, err);
    PageJoiner joiner(json, sink);
    for (const auto& page : pages) {
        joiner.begin_page();
        for (std::size_t at = 0; at < page.size(); at += chunk) joiner.write(std::string_view(page).substr(at, chunk));
        joiner.end_page();
    }
    joiner.finish();
    sink.commit();
    return {out.str(), sink.rows()};
}

TEST(PageJoiner, CsvPagesAfterTheFirstLoseTheirHeader) {
    for (std::size_t chunk : {1, 3, 1000}) {
        const Joined j = join(false, {"id,n\n1,a\n2,b\n", "id,n\n3,c\n", "id,n\n"}, chunk);
        EXPECT_EQ(j.text, "id,n\n1,a\n2,b\n3,c\n") << chunk;
        EXPECT_EQ(j.rows, 3) << chunk;
    }
}

TEST(PageJoiner, JsonPagesSplicedIntoOneArray) {
    const std::vector<std::string> pages = {"[{\"a\":1},\n {\"a\":[2]}]\n", " [ ] ", "[{\"s\":\"] ,[\"}]", "[[1],[]]"};
    for (std::size_t chunk : {1, 2, 7, 1000}) {
        const Joined j = join(true, pages, chunk);
        EXPECT_EQ(j.text, "[{\"a\":1},\n {\"a\":[2]} ,{\"s\":\"] ,[\"},[1],[]]\n") << chunk;
        EXPECT_EQ(j.rows, 3) << chunk;
    }
    // White space inside an empty page is kept, as before the array is opened.
    EXPECT_EQ(join(true, {"[]", " [ ]\n"}, 1).text, " []\n");
    EXPECT_EQ(join(true, {}, 1).text, "[]\n");
}

std::string refusal(const std::string& page) {
    try {
        join(true, {"[1]", page}, 1);
    } catch (const cargo::ParseError& e) {
        return e.what();
    }
    ADD_FAILURE() << "accepted: " << page;
    return "";
}

TEST(PageJoiner, MalformedJsonPagesAreRefused) {
    EXPECT_NE(refusal("").find("cut short"), std::string::npos);
    EXPECT_NE(refusal("   ").find("cut short"), std::string::npos);
    EXPECT_NE(refusal("{\"a\":1}").find("not an array"), std::string::npos);
    EXPECT_NE(refusal("<html>").find("not an array"), std::string::npos);
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
    const Joined spaces = join(true, {"[" + std::string(kBig, ' ') + "]"}, 4096);
    EXPECT_EQ(spaces.text, std::string(kBig, ' ') + "[]\n");
    const std::string deep = "[" + std::string(kBig, '[') + std::string(kBig, ']') + "]";
    const Joined nested = join(true, {deep}, 4096);
    EXPECT_EQ(nested.text.size(), deep.size() + 1);
    EXPECT_NE(refusal(std::string(kBig, ']')).find("not an array"), std::string::npos);
    EXPECT_NE(refusal("[" + std::string(kBig, ']')).find("text after its array"), std::string::npos);
    EXPECT_NE(refusal(std::string(kBig, '[')).find("cut short"), std::string::npos);
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
    Sink sink("-", 0600, format == QueryRows::Format::jsonl ? RowCounter::Kind::lines : RowCounter::Kind::csv, out, err);
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
        Sink sink(dir.file("out.csv"), 0640, RowCounter::Kind::csv, out, err);
        sink.write("a\n1\n");
        EXPECT_FALSE(fs::exists(dir.file("out.csv")));
        EXPECT_TRUE(sink.commit());
        EXPECT_EQ(sink.rows(), 1);
        EXPECT_EQ(sink.bytes(), 4u);
    }
    std::ifstream in(dir.file("out.csv"));
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "a\n1\n");
    struct stat st {};
    ASSERT_EQ(::stat(dir.file("out.csv").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    {
        Sink header_only(dir.file("empty.csv"), 0600, RowCounter::Kind::csv, out, err);
        header_only.write("a\n");
        EXPECT_FALSE(header_only.commit()) << "no rows: nothing to export";
    }
    {
        Sink abandoned(dir.file("cut.csv"), 0600, RowCounter::Kind::csv, out, err);
        abandoned.write("a\n1\n");
    }
    EXPECT_EQ(std::vector<fs::path>(fs::directory_iterator(dir.path()), {}),
              std::vector<fs::path>{fs::path(dir.file("out.csv"))});
    EXPECT_EQ(out.str(), "") << "a file export writes nothing to stdout";
}

}  // namespace
}  // namespace cargomon::cli
