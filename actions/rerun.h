#pragma once
// The `data` of the request that re-runs a batch's failed records (POST
// /orchestration/batches, whose body cargo/requests.h builds), as the contract spells it;
// one builder for `cargomon batch rerun` and the daemon's automatic re-runs. Creating a
// batch is not idempotent: the client never retries it.
#include <string>
#include <vector>

namespace cargomon::actions {

struct Rerun {
    enum class Kind { runs, record_ids };
    Kind kind = Kind::runs;
    // runs: the batch's failed runs again, from this node ("firstNode", "lastNode" or
    // "nextNode", the typings' BatchDataRunsReset);
    // only those of `run_uuids` when it is not empty (filter.uuids).
    std::string batch_uuid;
    std::string reset = "firstNode";
    std::vector<std::string> run_uuids;
    // record_ids: these records of the play's model.
    std::string model_uuid;
    std::vector<std::string> record_ids;
};

// The batch's `data`: {"kind":"runs","filter":{"kind":"runs","batchUuid":..,"statuses":["error"]
// [,"uuids":[..]]},"reset":{"from":..}} or {"kind":"recordIds","modelUuid":..,"ids":[..]}.
std::string rerun_data(const Rerun& rerun);

}  // namespace cargomon::actions
