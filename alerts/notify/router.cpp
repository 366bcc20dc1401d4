#include "alerts/notify/router.h"

namespace cargomon::alerts::notify {
namespace {

void walk(const config::Route& route, const metrics::Labels& labels, std::vector<const config::Route*>& out) {
    const std::size_t before = out.size();
    for (const config::Route& child : route.routes) {
        if (!metrics::matches_all(child.matchers, labels)) continue;
        walk(child, labels, out);
        if (!child.continue_matching) break;
    }
    if (out.size() == before) out.push_back(&route);
}

}  // namespace

std::vector<const config::Route*> Router::match(const metrics::Labels& labels) const {
    std::vector<const config::Route*> out;
    walk(root_, labels, out);
    return out;
}

}  // namespace cargomon::alerts::notify
