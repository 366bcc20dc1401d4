// common/text.h: percent_encode, the one URL encoder (the Cargo client's query strings
// and paths, the sim's ClickHouse requests).
#include "common/text.h"

#include <gtest/gtest.h>

#include <string>

namespace cargomon {
namespace {

TEST(PercentEncode, OnlyUnreservedBytesStayLiteral) {
    EXPECT_EQ(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
    EXPECT_EQ(percent_encode("a b+c&d=e/f?g#h%"), "a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25");
    EXPECT_EQ(percent_encode("!*'():$,"), "%21%2A%27%28%29%3A%24%2C");
    EXPECT_EQ(percent_encode(""), "");
}

TEST(PercentEncode, EveryOtherByteAsTwoUpperCaseHexDigits) {
    EXPECT_EQ(percent_encode("é"), "%C3%A9");
    EXPECT_EQ(percent_encode(std::string("\0\n\x7f\xff", 4)), "%00%0A%7F%FF");
}

TEST(PercentEncode, ExtraLiteralsAsTheCallerAsks) {
    // The Cargo client's set: encodeURIComponent with axios' exceptions.
    EXPECT_EQ(percent_encode("a:b,c$d!e*f'g(h)i j/k", "!*'():$,"), "a:b,c$d!e*f'g(h)i%20j%2Fk");
    // A NUL byte is never literal, even though find() would see the one ending a C string.
    EXPECT_EQ(percent_encode(std::string("\0", 1), std::string_view("x\0", 2)), "%00");
}

}  // namespace
}  // namespace cargomon
