#pragma once
// The workflows discovery found, shared with every per-workflow collector. Readers take
// an immutable snapshot; discovery swaps in a new one after each successful run.
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace cargomon::collectors {

struct WorkflowInfo {
    std::string uuid;
    std::string name;  // the play's or tool's name; the uuid when it has neither
    std::string kind;  // "play", "tool" or "none"
    bool enabled = true;  // a play's isEnabled; tools and bare workflows are always enabled
    std::optional<std::string> deployed_release_uuid;
    std::unordered_map<std::string, std::string> node_slugs;  // node uuid -> slug

    // A node's slug, or its uuid when the workflow does not list it.
    const std::string& node_slug(const std::string& node_uuid) const;
};

struct Workflows {
    std::vector<WorkflowInfo> covered;  // selected by include/exclude, sorted by uuid
};

// Thread-safe: discovery's thread calls set(), every collector thread get()/require();
// mu_ guards only the current_ pointer, never the Workflows it points to (immutable).
class WorkflowCatalog {
public:
    // nullptr until the first successful discovery.
    std::shared_ptr<const Workflows> get() const;
    void set(std::shared_ptr<const Workflows> workflows);
    bool ready() const { return get() != nullptr; }  // the daemon's readiness

    // The current set; throws CollectorError("not_ready") before the first discovery.
    std::shared_ptr<const Workflows> require() const;

private:
    mutable std::mutex mu_;  // held only to copy or swap the pointer
    std::shared_ptr<const Workflows> current_;
};

}  // namespace cargomon::collectors
