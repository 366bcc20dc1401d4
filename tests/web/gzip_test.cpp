#include "web/gzip.h"

#include <gtest/gtest.h>

#include "tests/web/inflate.h"

namespace cargomon::web {
namespace {

using testing_support::gunzip;

TEST(Gzip, AcceptEncoding) {
    EXPECT_TRUE(accepts_gzip("gzip"));
    EXPECT_TRUE(accepts_gzip("deflate, GZIP;q=0.5"));
    EXPECT_TRUE(accepts_gzip("x-gzip"));
    EXPECT_TRUE(accepts_gzip("*"));
    EXPECT_FALSE(accepts_gzip(""));
    EXPECT_FALSE(accepts_gzip("identity"));
    EXPECT_FALSE(accepts_gzip("br, deflate"));
    EXPECT_FALSE(accepts_gzip("gzip;q=0"));
    EXPECT_FALSE(accepts_gzip("gzip;q=none"));
    EXPECT_FALSE(accepts_gzip("gzipped"));
}

TEST(Gzip, RoundTrip) {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "cargo_workflow_runs{workflow_uuid=\"wf-" + std::to_string(i) + "\"} 1\n";
    auto compressed = gzip_compress({std::string_view(text).substr(0, 1000), std::string_view(text).substr(1000)});
    ASSERT_GE(compressed.size(), 2u);
    EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);  // gzip magic
    EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
    EXPECT_LT(compressed.size(), text.size() / 4);
    EXPECT_EQ(gunzip(compressed), text);
    EXPECT_EQ(gunzip(gzip_compress({})), "");
}

}  // namespace
}  // namespace cargomon::web
