#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace cargomon {

// A TCP port that is free on 127.0.0.1 right now (the kernel picks it).
int free_loopback_port();

struct HostPort {
    std::string host;  // "" means all interfaces; IPv6 without brackets
    int port = 0;
};

// "127.0.0.1:9464", ":9464", "[::1]:9464", "localhost:80"; nullopt when malformed.
std::optional<HostPort> parse_host_port(std::string_view text);

}  // namespace cargomon
