#include <gtest/gtest.h>

#include "common/net.h"

using namespace cargomon;

TEST(HostPort, ParsesPrometheusListenAddresses) {
    auto a = parse_host_port(":9464");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "");
    EXPECT_EQ(a->port, 9464);
    auto b = parse_host_port("[::1]:80");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->host, "::1");
    auto c = parse_host_port("127.0.0.1:8123");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->host, "127.0.0.1");
    EXPECT_EQ(c->port, 8123);
    for (const char* bad : {"9464", "host:", "host:99999", "::1:80", "h:12x"}) EXPECT_FALSE(parse_host_port(bad)) << bad;
}

TEST(HostPort, FreePortIsBindable) {
    int p = free_loopback_port();
    EXPECT_GT(p, 0);
    EXPECT_LT(p, 65536);
}
