// docs/configuration.md documents every key the config parser accepts, each in the
// section about the place it goes: the keys come from the parsers themselves
// (config::known_keys, config::alerting_known_keys), so a key added to the code without
// documentation fails here, named.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "config/config.h"
#include "tests/docs/markdown.h"

namespace cargomon::docs_test {
namespace {

// The heading of the section documenting each place. Collector kinds are found by
// their heading, "kind `run_counts`".
const std::map<std::string, std::string> kSectionOf{
    {"", "Top level"},
    {"global", "`global`"},
    {"client", "`client`"},
    {"client.retry", "`client`"},  // as retry.max_attempts, ...
    {"defaults", "`defaults` (the schedule)"},
    {"collectors[]", "`collectors`"},
    {"collectors[kind=query].metrics[]", "kind `query`"},
    {"alerting", "`alerting`"},
    {"alerting.delivery", "`alerting`"},  // as delivery.max_age, ...
    {"alerting.route", "`route` (and each of its `routes`)"},
    {"alerting.receivers[]", "`receivers`"},
    {"alerting.receivers[].webhook_configs[]", "`webhook_configs`"},
    {"alerting.receivers[].slack_configs[]", "`slack_configs`"},
    {"alerting.receivers[].alertmanager_configs[]", "`alertmanager_configs`"},
    {"alerting.receivers[].*_configs[].basic_auth", "`receivers`"},  // as basic_auth.username, ...
    {"alerting.alert_relabel_configs[]", "`alert_relabel_configs`"},
    {"actions", "`actions`"},
    {"actions.rules[]", "`actions.rules`"},
};

std::string section_heading(const std::string& place) {
    static const std::regex kind{R"(collectors\[kind=(\w+)\])"};
    if (std::smatch m; std::regex_match(place, m, kind)) return "kind `" + m[1].str() + "`";
    auto it = kSectionOf.find(place);
    return it == kSectionOf.end() ? "" : it->second;
}

// `key` written in backticks, alone or as one part of a dotted path (`retry.budget`).
bool mentions(const std::string& body, std::string_view key) {
    for (const auto& span : code_spans(body)) {
        std::istringstream parts(span);
        for (std::string part; std::getline(parts, part, '.');)
            if (part == key) return true;
    }
    return false;
}

std::vector<config::KnownKeys> every_place() {
    auto places = config::known_keys();
    for (auto& p : config::alerting_known_keys()) places.push_back(std::move(p));
    return places;
}

TEST(ConfigurationDoc, DocumentsEveryKeyWhereItGoes) {
    const auto doc = sections(read_source_file("docs/configuration.md"));
    std::string missing;
    for (const auto& place : every_place()) {
        const std::string name = place.place.empty() ? "top level" : place.place;
        const auto heading = section_heading(place.place);
        ASSERT_FALSE(heading.empty()) << "the parser accepts keys in " << name
                                      << ", which docs/configuration.md has no section for (add one, and map it "
                                         "in kSectionOf)";
        const Section* section = nullptr;
        for (const auto& s : doc)
            if (s.heading == heading) {
                ASSERT_EQ(section, nullptr) << "two sections headed " << heading;
                section = &s;
            }
        ASSERT_NE(section, nullptr) << "docs/configuration.md has no section headed " << heading << " (for " << name
                                    << ")";
        for (const auto key : place.keys)
            if (!mentions(section->body, key)) missing += "\n  " + name + ": `" + std::string(key) + "`";
    }
    EXPECT_TRUE(missing.empty()) << "keys the parser accepts but docs/configuration.md does not document:" << missing;
}

// The accessors are the parsers' own lists: a key they name is accepted, one they do
// not name is refused as unknown.
TEST(ConfigurationDoc, KnownKeysAreTheParsersOwn) {
    const config::Environment env(std::map<std::string, std::string>{{"CARGO_API_TOKEN", "t"}});
    auto top = config::known_keys().front();
    ASSERT_EQ(top.place, "");
    EXPECT_NE(std::find(top.keys.begin(), top.keys.end(), "rule_files"), top.keys.end());
    EXPECT_TRUE(std::holds_alternative<config::Config>(config::parse_config("rule_files: []\n", "c.yml", env)));
    auto refused = config::parse_config("rule_file: []\n", "c.yml", env);
    ASSERT_TRUE(std::holds_alternative<std::vector<config::ConfigError>>(refused));
    EXPECT_NE(std::get<1>(refused).front().message.find("unknown key \"rule_file\""), std::string::npos);

    auto delivery = config::alerting_known_keys().back();
    ASSERT_EQ(delivery.place, "alerting.delivery");
    const std::string route = "route: {receiver: r}\nreceivers: [{name: r}]\n";
    std::string accepted = route + "delivery: {";
    for (const auto key : delivery.keys) accepted += std::string(key) + ": 1m, ";
    accepted += "}\n";
    EXPECT_TRUE(std::holds_alternative<config::AlertingConfig>(config::parse_alerting(accepted, "c.yml", env)));
    EXPECT_FALSE(std::holds_alternative<config::AlertingConfig>(
        config::parse_alerting(route + "delivery: {max_ages: 1m}\n", "c.yml", env)));
}

}  // namespace
}  // namespace cargomon::docs_test
