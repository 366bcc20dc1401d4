// web::BasicAuth: bcrypt through libcrypt, the cache of successful checks, and what a
// malformed header or an unknown user gets.
#include <crypt.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "tests/web/basic_credentials.h"
#include "web/auth.h"
#include "web/request_parser.h"

namespace cargomon::web {
namespace {

using Users = std::map<std::string, std::string>;

// A cheap bcrypt hash ($2b$, cost 4) made here with libcrypt itself.
std::string hash_of(const std::string& password, const std::string& salt = "abcdefghijklmnopqrstuu") {
    auto data = std::make_unique<crypt_data>();
    std::memset(data.get(), 0, sizeof(crypt_data));
    const char* out = crypt_r(password.c_str(), ("$2b$04$" + salt).c_str(), data.get());
    EXPECT_TRUE(out && out[0] == '$');
    return out ? out : "";
}


TEST(BasicAuth, RightPasswordPassesWrongOneDoesNot) {
    BasicAuth auth(Users{{"alice", hash_of("s3cret")}});
    EXPECT_TRUE(auth.enabled());
    EXPECT_TRUE(auth.check(test::basic_authorization("alice", "s3cret")));
    EXPECT_FALSE(auth.check(test::basic_authorization("alice", "s3cret ")));
    EXPECT_FALSE(auth.check(test::basic_authorization("alice", "S3cret")));
    EXPECT_FALSE(auth.check(test::basic_authorization("alice", "")));
    EXPECT_FALSE(auth.check(test::basic_authorization("Alice", "s3cret")));
    EXPECT_FALSE(BasicAuth(Users{}).enabled());
}

TEST(BasicAuth, KnownVectorsOfEachPrefix) {
    // htpasswd -nbBC 4 "" secret; exporter-toolkit's dummy hash of "fakepassword" ($2y$, cost 10).
    BasicAuth auth(Users{{"a", "$2y$04$hSr5aWBCaiLq6TJBSmdqduh2AEKXghHQ6.oLR.95fU1spLJcKoB7W"},
                    {"b", "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"},
                    {"c", "$2a$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW"},
                    {"d", "$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW"}});
    EXPECT_TRUE(auth.check("a", "secret"));
    EXPECT_TRUE(auth.check("b", "fakepassword"));
    EXPECT_TRUE(auth.check("c", "secret"));
    EXPECT_TRUE(auth.check("d", "secret"));
    EXPECT_FALSE(auth.check("a", "fakepassword"));
}

TEST(BasicAuth, PasswordsWithColonsAndUnicodeWork) {
    BasicAuth auth(Users{{"bob", hash_of("a:b:ç")}});
    EXPECT_TRUE(auth.check(test::basic_authorization("bob", "a:b:ç")));
    EXPECT_FALSE(auth.check(test::basic_authorization("bob", "a")));
}

TEST(BasicAuth, SuccessesAreCachedFailuresAreNot) {
    BasicAuth auth(Users{{"alice", hash_of("s3cret")}});
    EXPECT_TRUE(auth.check(test::basic_authorization("alice", "s3cret")));
    EXPECT_EQ(auth.bcrypt_runs(), 1u);
    EXPECT_EQ(auth.cached(), 1u);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(auth.check(test::basic_authorization("alice", "s3cret")));
    EXPECT_EQ(auth.bcrypt_runs(), 1u);

    EXPECT_FALSE(auth.check(test::basic_authorization("alice", "guess")));
    EXPECT_FALSE(auth.check(test::basic_authorization("alice", "guess")));
    EXPECT_EQ(auth.bcrypt_runs(), 3u);
    EXPECT_EQ(auth.cached(), 1u);
}

TEST(BasicAuth, CacheIsKeyedByTheHashToo) {
    // A reload with a new hash for the same user must not let the old password in.
    BasicAuth before(Users{{"alice", hash_of("old")}});
    EXPECT_TRUE(before.check("alice", "old"));
    BasicAuth after(Users{{"alice", hash_of("new")}});
    EXPECT_FALSE(after.check("alice", "old"));
    EXPECT_TRUE(after.check("alice", "new"));
}

TEST(BasicAuth, CacheIsBounded) {
    std::map<std::string, std::string> users;
    const std::string hash = hash_of("pw");
    for (int i = 0; i < 150; ++i) users["user" + std::to_string(i)] = hash;
    BasicAuth auth(users);
    for (int i = 0; i < 150; ++i) ASSERT_TRUE(auth.check("user" + std::to_string(i), "pw"));
    EXPECT_LE(auth.cached(), BasicAuth::kCacheSize);
    EXPECT_GE(auth.cached(), BasicAuth::kCacheSize / 2);
    EXPECT_EQ(auth.bcrypt_runs(), 150u);
}

TEST(BasicAuth, UnknownUsersCostABcryptRun) {
    // Cost 10 (about 50 ms here; never under 10 ms on any machine that runs this).
    BasicAuth auth(Users{{"b", "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"}});
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(auth.check(test::basic_authorization("mallory", "fakepassword")));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(auth.bcrypt_runs(), 1u);
    EXPECT_GE(took, std::chrono::milliseconds{10});
    EXPECT_FALSE(auth.check(test::basic_authorization("mallory", "fakepassword")));  // and it is never cached
    EXPECT_EQ(auth.bcrypt_runs(), 2u);
    EXPECT_EQ(auth.cached(), 0u);
}

TEST(BasicAuth, MalformedHeadersAreRefusedWithoutBcrypt) {
    BasicAuth auth(Users{{"alice", hash_of("s3cret")}});
    for (const std::string& bad : std::vector<std::string>{std::string(""), std::string("Basic"), std::string("Basic "), std::string("Bearer ") + test::base64("alice:s3cret"),
          "Basic " + test::base64("alice"), "Basic " + test::base64("alice:s3cret") + "=", std::string("Basic !!!!"),
          "Basic " + test::base64("alice:s3cret").substr(1), "Basic  " + test::base64("alice:s3cret"), std::string("Basic YQ=a")})
        EXPECT_FALSE(auth.check(bad)) << bad;
    EXPECT_EQ(auth.bcrypt_runs(), 0u);
    // The scheme is case-insensitive (RFC 7617).
    EXPECT_TRUE(auth.check("basic " + test::base64("alice:s3cret")));
}

TEST(BasicAuth, ParseBasicAuthorization) {
    std::string user, password;
    ASSERT_TRUE(parse_basic_authorization("Basic " + test::base64("u:"), user, password));
    EXPECT_EQ(user, "u");
    EXPECT_EQ(password, "");
    ASSERT_TRUE(parse_basic_authorization("BASIC " + test::base64(":p:q"), user, password));
    EXPECT_EQ(user, "");
    EXPECT_EQ(password, "p:q");
}

// The limiter's question comes before bcrypt, and never for what costs no bcrypt run.
TEST(BasicAuth, MayRunBcryptIsAskedOnlyBeforeABcryptRun) {
    BasicAuth auth(Users{{"alice", hash_of("s3cret")}});
    int asked = 0;
    auto refuse = [&] {
        ++asked;
        return false;
    };
    EXPECT_EQ(auth.verify(test::basic_authorization("alice", "s3cret"), refuse), AuthVerdict::limited);
    EXPECT_EQ(auth.verify(test::basic_authorization("mallory", "x"), refuse), AuthVerdict::limited);
    EXPECT_EQ(auth.bcrypt_runs(), 0u);
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(auth.verify(test::basic_authorization("alice", "s3cret")), AuthVerdict::pass);
    EXPECT_EQ(auth.verify(test::basic_authorization("alice", "s3cret"), refuse), AuthVerdict::pass);  // remembered
    EXPECT_EQ(auth.verify("Basic !!!!", refuse), AuthVerdict::fail);               // malformed
    EXPECT_EQ(auth.verify(test::basic_authorization("alice", std::string(73, 'x')), refuse), AuthVerdict::fail);
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(auth.bcrypt_runs(), 1u);
}

TEST(BasicAuth, ConcurrentChecksAgree) {
    BasicAuth auth(std::map<std::string, std::string>{{"alice", hash_of("s3cret")},
                                                      {"bob", hash_of("hunter2", "zyxwvutsrqponmlkjihgff")}});
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) {
                if (!auth.check(test::basic_authorization(t % 2 ? "alice" : "bob", t % 2 ? "s3cret" : "hunter2"))) ++wrong;
                if (auth.check(test::basic_authorization("alice", "hunter2"))) ++wrong;
            }
        });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(auth.cached(), 2u);
}

}  // namespace
}  // namespace cargomon::web
