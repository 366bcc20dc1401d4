// The silence store: matching, limits, expiry and what survives a restart. Its JSON API
// is tested with the rest of the API (tests/web/api_test.cpp).
#include <gtest/gtest.h>

#include <set>

#include "alerts/notify/silences.h"
#include "fixtures.h"

namespace cargomon::alerts::notify {
namespace {

using namespace std::chrono_literals;

metrics::Matcher m(const char* text) { return std::get<metrics::Matcher>(metrics::parse_matcher(text)); }

class Silences : public ::testing::Test {
protected:
    // A restart: the store closed, then opened again from its file.
    void reopen() {
        store.reset();
        store = std::make_unique<SilenceStore>(dir.file("s.db"), clock);
    }
    // A silence of `matcher` from now for an hour.
    Silence for_an_hour(const char* matcher, std::string comment) {
        return {.matchers = {m(matcher)}, .ends_at = clock.now() + 1h, .comment = std::move(comment)};
    }

    testing::TempDir dir;
    FakeClock clock;
    std::unique_ptr<SilenceStore> store = std::make_unique<SilenceStore>(dir.file("s.db"), clock);
};

TEST_F(Silences, MatchWhileActiveAndSurviveARestart) {
    auto added = store->add({.matchers = {m("workflow_name=~\"bill.*\""), m("severity!=page")},
                             .starts_at = clock.now() + 1min,
                             .ends_at = clock.now() + 1h,
                             .created_by = "ops",
                             .comment = "migration"});
    ASSERT_TRUE(std::holds_alternative<std::string>(added)) << std::get<SilenceRejected>(added).reason;
    const std::string id = std::get<std::string>(added);
    EXPECT_FALSE(store->silenced({{"workflow_name", "billing"}}));  // pending
    reopen();
    clock.advance(2min);
    ASSERT_EQ(store->list().size(), 1u);
    EXPECT_EQ(store->list()[0].id, id);
    EXPECT_EQ(store->list()[0].comment, "migration");
    EXPECT_TRUE(store->silenced({{"workflow_name", "billing"}}));
    EXPECT_FALSE(store->silenced({{"severity", "page"}, {"workflow_name", "billing"}}));
    EXPECT_FALSE(store->silenced({{"workflow_name", "shipping"}}));
    clock.advance(1h);
    EXPECT_FALSE(store->silenced({{"workflow_name", "billing"}}));  // ended on its own
    EXPECT_EQ(store->state(store->list()[0]), SilenceState::expired);
    clock.advance(6 * 24h);
    store->gc();
    EXPECT_TRUE(store->list().empty());
}

// Expired silences stay listed for 5 days (docs/alerting.md), gc() or not; then they go.
TEST_F(Silences, ExpiredOnesStayListedForFiveDays) {
    auto ended = store->add(for_an_hour("workflow_name=a", "ends"));
    ASSERT_TRUE(std::holds_alternative<std::string>(ended));
    auto expired_now = store->add(for_an_hour("workflow_name=b", "expired"));
    ASSERT_TRUE(std::holds_alternative<std::string>(expired_now));
    clock.advance(59min);
    ASSERT_TRUE(store->expire(std::get<std::string>(expired_now)));  // expired by hand at 59m
    clock.advance(1min);  // the other one ends on its own at 1h
    const SystemTime ends = clock.now();
    auto listed = [&] {
        std::set<std::string> comments;
        for (const auto& s : store->list()) {
            EXPECT_EQ(store->state(s), SilenceState::expired) << s.comment;
            comments.insert(s.comment);
        }
        return comments;
    };
    for (auto later : {std::chrono::milliseconds{1s}, std::chrono::milliseconds{24h},
                       std::chrono::milliseconds{4 * 24h}, std::chrono::milliseconds{5 * 24h - 2min}}) {
        clock.set(ends + later);
        store->gc();
        EXPECT_EQ(listed(), (std::set<std::string>{"ends", "expired"})) << "dropped " << later.count() << " ms after";
    }
    // And across a restart.
    reopen();
    EXPECT_EQ(store->list().size(), 2u);
    clock.set(ends + 5 * 24h + 1min);
    store->gc();
    EXPECT_TRUE(store->list().empty());
}

TEST_F(Silences, RefuseSilencesThatCouldSilenceEverything) {
    auto rejected = [&](Silence s) { return std::holds_alternative<SilenceRejected>(store->add(std::move(s))); };
    EXPECT_TRUE(rejected({.ends_at = clock.now() + 1h, .comment = "c"}));
    EXPECT_TRUE(rejected(for_an_hour("a=~\".*\"", "c")));
    EXPECT_TRUE(rejected(for_an_hour("a=b", "")));  // no comment
    EXPECT_TRUE(rejected({.matchers = {m("a=b")}, .ends_at = clock.now() - 1s, .comment = "c"}));
    EXPECT_TRUE(store->list().empty());
}

}  // namespace
}  // namespace cargomon::alerts::notify
