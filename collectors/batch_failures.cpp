#include "collectors/batch_failures.h"

#include "collectors/grouped_sql.h"
#include "collectors/series.h"
#include "common/text.h"

namespace cargomon::collectors {

std::map<std::string, std::vector<NodeFailures>> batch_failures(cargo::ApiClient& client, SystemTime since,
                                                                const CollectContext& context, const Clock& clock,
                                                                std::size_t page_rows) {
    const std::string after = sql_datetime(since);
    // Innermost: each failed run of a batch and the node and message of its last errored
    // execution, by the contract's columns only (spans have no execution order of their
    // own). Executions of a run follow one another, so start then finish orders them; they
    // are whole seconds, so an error a fallback caught can tie with the one that ended the
    // run, which is the one whose message the run carries; then the slug, so every page
    // and cycle picks the same. Then runs per (batch, node, message), then per (batch,
    // node) with the most frequent message (ties: the greatest, likewise).
    auto sql_for = [&](const std::string& condition) {
        return "SELECT workflow_uuid, batch_uuid, node_slug, sum(runs) AS failed_runs, "
               "argMax(message, (runs, message)) AS top_error FROM ("
               "SELECT workflow_uuid, batch_uuid, tupleElement(failed, 1) AS node_slug, "
               "tupleElement(failed, 2) AS message, count() AS runs FROM ("
               "SELECT run_uuid, any(run_workflow) AS workflow_uuid, any(run_batch) AS batch_uuid, "
               "argMax((node_slug, ifNull(execution_error_message, '')), (execution_started_at, "
               "ifNull(execution_finished_at, execution_started_at), ifNull(execution_error_message, '') = run_error, "
               "node_slug)) AS failed "
               "FROM spans ALL INNER JOIN (SELECT uuid AS run_uuid, workflow_uuid AS run_workflow, "
               "assumeNotNull(batch_uuid) AS run_batch, ifNull(error_message, '') AS run_error FROM runs "
               "WHERE status = 'error' AND isNotNull(batch_uuid) "
               "AND created_at >= " + after + " AND " + condition + ") USING run_uuid "
               "WHERE execution_status = 'error' AND execution_started_at >= " + after +
               " GROUP BY run_uuid) GROUP BY workflow_uuid, batch_uuid, node_slug, message) "
               "GROUP BY workflow_uuid, batch_uuid, node_slug "
               "ORDER BY workflow_uuid, batch_uuid, failed_runs DESC, node_slug LIMIT " +
               std::to_string(kFailedNodesPerBatch) + " BY batch_uuid";
    };
    constexpr const char* kWhat = "batch failures query";
    std::map<std::string, std::vector<NodeFailures>> out;
    for_each_row_by_workflow(client, context, clock, sql_for, [&](const cargo::QueryResult& result, std::size_t r) {
        auto text = [&](const char* column) { return cell_text(result, r, column, kWhat, true); };
        out[text("batch_uuid")].push_back({.node_slug = printable(text("node_slug"), kMaxErrorLabelBytes),
                                           .failed_runs = cell_number(result, r, "failed_runs", kWhat),
                                           .top_error = printable(text("top_error"), kMaxErrorLabelBytes)});
    }, page_rows);
    return out;
}

}  // namespace cargomon::collectors
