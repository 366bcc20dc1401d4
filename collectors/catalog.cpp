#include "collectors/catalog.h"

#include "collectors/collector.h"

namespace cargomon::collectors {

const std::string& WorkflowInfo::node_slug(const std::string& node_uuid) const {
    auto it = node_slugs.find(node_uuid);
    return it == node_slugs.end() ? node_uuid : it->second;
}

std::shared_ptr<const Workflows> WorkflowCatalog::get() const {
    std::lock_guard lock(mu_);
    return current_;
}

void WorkflowCatalog::set(std::shared_ptr<const Workflows> workflows) {
    std::lock_guard lock(mu_);
    current_ = std::move(workflows);
}

std::shared_ptr<const Workflows> WorkflowCatalog::require() const {
    auto workflows = get();
    if (!workflows) throw CollectorError("not_ready", "no workflows yet: discovery has not succeeded");
    return workflows;
}

}  // namespace cargomon::collectors
