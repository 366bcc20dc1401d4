#include "exporters/gzip.h"

#include <gtest/gtest.h>

#include "tests/support/predicate.h"
#include "tests/web/inflate.h"

namespace cargomon::exporters {
namespace {

using web::testing_support::gunzip;

TEST(Gzip, AcceptEncoding) {
    cargomon::testing::expect_accepts(accepts_gzip, {"gzip", "deflate, GZIP;q=0.5", "x-gzip", "*"},
                                      {"", "identity", "br, deflate", "gzip;q=0", "gzip;q=none", "gzipped"});
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

// A member made of a head compressed now and a tail compressed earlier is one valid gzip
// member (gzip -t and every client read it), whatever the sizes on either side.
TEST(Gzip, JoinedMemberIsOneValidStream) {
    std::string text;
    for (int i = 0; i < 50000; ++i) text += "cargo_batch_runs{batch_uuid=\"b-" + std::to_string(i) + "\"} 3\n";
    const std::string_view all(text);
    for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{70000}, text.size() - 1, text.size()}) {
        auto tail = gzip_tail({all.substr(split)});
        auto joined = gzip_join({all.substr(0, split / 2), all.substr(split / 2, split - split / 2)}, tail);
        // gunzip stops at the first member's end and checks its CRC and length: equal text
        // means one member holding everything.
        EXPECT_EQ(gunzip(joined), text) << "split at " << split;
    }
    EXPECT_EQ(gunzip(gzip_join({}, gzip_tail({}))), "");
}

}  // namespace
}  // namespace cargomon::exporters
