#include "sim/faults/request_stats.h"

#include <cctype>

#include "sim/faults/faults.h"

namespace cargomon::sim {
namespace {

// Lenient on purpose: any long run of hex digits and dashes is an id, so uuids of any
// layout collapse the same way.
bool looks_like_uuid(std::string_view segment) {
    if (segment.size() < 32) return false;
    for (char c : segment) {
        if (c != '-' && !std::isxdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

}  // namespace

std::string endpoint_pattern(std::string_view path) {
    std::string out;
    size_t pos = 0;
    while (pos < path.size()) {
        size_t slash = path.find('/', pos + 1);
        if (slash == std::string_view::npos) slash = path.size();
        std::string_view segment = path.substr(pos, slash - pos);  // with its leading '/'
        if (segment.size() > 1 && looks_like_uuid(segment.substr(1))) {
            out += "/{uuid}";
        } else {
            out += segment;
        }
        pos = slash;
    }
    return out;
}

void RequestStats::record(const httplib::Request& req, const httplib::Response& res) {
    if (req.path.starts_with("/_sim/")) return;
    std::string status = res.get_header_value(kFaultHeader) == "reset" ? "reset"
                                                                       : std::to_string(res.status);
    std::string endpoint = endpoint_pattern(req.path);
    std::lock_guard lock(mu_);
    ++counts_.total;
    Endpoint& e = counts_.endpoints[endpoint];
    ++e.total;
    ++e.by_status[status];
}

RequestStats::Snapshot RequestStats::snapshot() const {
    std::lock_guard lock(mu_);
    return counts_;
}

void RequestStats::reset() {
    std::lock_guard lock(mu_);
    counts_ = {};
}

}  // namespace cargomon::sim
