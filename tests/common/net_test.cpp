#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
    for (int i = 0; i < 5; ++i) {
        int p = free_loopback_port();
        ASSERT_GT(p, 0);
        ASSERT_LT(p, 65536);
        // Really free: another socket can bind it on 127.0.0.1 and listen there.
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_GE(fd, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(p));
        const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        const int err = errno;
        const int listening = bound == 0 ? ::listen(fd, 1) : -1;
        ::close(fd);
        EXPECT_EQ(bound, 0) << "port " << p << ": " << std::strerror(err);
        EXPECT_EQ(listening, 0) << "port " << p;
    }
}
