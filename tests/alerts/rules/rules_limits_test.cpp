// What `cargomon check-rules` and a reload see for rule files that used to crash them:
// a positioned error, so the reload keeps the running rules.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "alerts/rules/rules.h"

namespace cargomon::alerts::rules {
namespace {

std::string rule_file(const std::string& expr, const std::string& summary = "x") {
    return "groups:\n  - name: a\n    rules:\n      - alert: Deep\n        expr: '" + expr +
           "'\n        annotations:\n          summary: '" + summary + "'\n";
}

TEST(RuleFileLimits, DeeplyNestedExprIsAPositionedErrorInCheckRules) {
    auto path = std::filesystem::temp_directory_path() / "cargomon-deep.rules.yml";
    std::ofstream(path) << rule_file(std::string(5000, '(') + "up" + std::string(5000, ')'));
    // As check-rules prints it. The expr starts on line 5, column 16; the error is 128 characters into it.
    auto result = load_rule_files({path.string()});
    ASSERT_TRUE(std::holds_alternative<std::vector<RuleError>>(result));
    std::string err;
    for (const RuleError& e : std::get<std::vector<RuleError>>(result)) err += e.to_string() + "\n";
    EXPECT_EQ(err, path.string() +
                             ":5:144: bad expr: expression nested too deeply: more than 128 levels of parentheses, "
                             "operators, signs, calls or aggregations\n");
    std::filesystem::remove(path);
}

TEST(RuleFileLimits, LongOperatorChainAndHugePrintfWidthAreErrors) {
    std::string chain = "up";
    for (int i = 0; i < 20000; ++i) chain += " + up";
    auto result = parse_rules(rule_file(chain, "{{ printf \"%2000000000s\" $value }}"), "r.yml");
    auto* errors = std::get_if<std::vector<RuleError>>(&result);
    ASSERT_TRUE(errors);
    ASSERT_EQ(errors->size(), 2u);
    // The 128th " + ": after "up", 127 times " + up", and a space.
    EXPECT_EQ((*errors)[0].to_string().substr(0, 51), "r.yml:5:" + std::to_string(16 + 2 + 127 * 5 + 1) +
                                                          ": bad expr: expression nested too deeply");
    EXPECT_EQ((*errors)[1].to_string(),
              "r.yml:7:31: bad template in annotation \"summary\": printf: width in \"%2000000000s\" is larger than 1000");
}

}  // namespace
}  // namespace cargomon::alerts::rules
