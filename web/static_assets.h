#pragma once
// The status page's files (web/assets/: its script, style sheet and icon), compiled into
// the binary by web/assets/embed.cmake, so the page loads nothing from anywhere but the
// daemon: it works offline, and behind the web config's TLS and basic auth as every
// other route does. web/routes.cpp serves each at its path.
#include <span>
#include <string_view>

namespace cargomon::web {

struct StaticAsset {
    std::string_view path;          // "/static/status.js"
    std::string_view content_type;  // with its charset where it has one
    std::string_view body;
};

std::span<const StaticAsset> static_assets();

}  // namespace cargomon::web
