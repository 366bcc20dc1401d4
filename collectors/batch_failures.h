#pragma once
// Where the failed runs of recent batches failed, for every batch at once: one grouped
// query over `spans` (joined to the failed `runs`) per collection, never one call per
// batch. A failed run failed at its last errored execution (earlier errors were caught by
// a node's fallback); per batch, the nodes where most of its runs failed, and at each the
// most frequent error message.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cargo/client.h"
#include "collectors/collector.h"

namespace cargomon::collectors {

struct NodeFailures {
    std::string node_slug;
    double failed_runs = 0;
    std::string top_error;  // "" when the executions had no message; printable() applied
};

// The nodes per batch the query keeps (LIMIT n BY batch_uuid): bounded series.
inline constexpr int kFailedNodesPerBatch = 3;
// Error messages are label values: cut here (at a UTF-8 boundary, "..." appended).
inline constexpr std::size_t kMaxErrorLabelBytes = 200;

// batch uuid -> its failing nodes, most failed runs first (ties by slug), at most
// kFailedNodesPerBatch. Only runs created at or after `since` count: the batches of a
// window started then, and their runs after them.
std::map<std::string, std::vector<NodeFailures>> batch_failures(cargo::ApiClient& client, SystemTime since,
                                                                const CollectContext& context, const Clock& clock,
                                                                std::size_t page_rows);


}  // namespace cargomon::collectors
