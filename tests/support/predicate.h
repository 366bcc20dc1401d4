#pragma once
// Table tests of a predicate over text (a name syntax, a header parser, a hash format):
// what it must accept and what it must refuse, as two lists in one call. A failure
// names the text.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string_view>

namespace cargomon::testing {

template <typename Predicate>
void expect_accepts(Predicate predicate, std::initializer_list<std::string_view> accepted,
                    std::initializer_list<std::string_view> refused) {
    for (std::string_view text : accepted) EXPECT_TRUE(predicate(text)) << "should accept \"" << text << "\"";
    for (std::string_view text : refused) EXPECT_FALSE(predicate(text)) << "should refuse \"" << text << "\"";
}

}  // namespace cargomon::testing
