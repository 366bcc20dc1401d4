#include "collectors/batch_failures.h"

#include "collectors/grouped_sql.h"
#include "collectors/series.h"

namespace cargomon::collectors {

namespace {

// The length of the UTF-8 character starting at text[i], or 0 when it is not valid there
// (a stray continuation byte, a truncated or overlong sequence, a surrogate, past U+10FFFF).
std::size_t utf8_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
    if (n == 2 && c < 0xC2) return 0;                                       // overlong
    if (n == 3 && c == 0xE0 && byte(i + 1) < 0xA0) return 0;               // overlong
    if (n == 3 && c == 0xED && byte(i + 1) >= 0xA0) return 0;              // surrogate
    if (n == 4 && c == 0xF0 && byte(i + 1) < 0x90) return 0;               // overlong
    if (n == 4 && (c > 0xF4 || (c == 0xF4 && byte(i + 1) >= 0x90))) return 0;  // past U+10FFFF
    return n;
}

}  // namespace

std::string label_text(std::string_view text, std::size_t max_bytes) {
    std::string clean;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_length(text, i);
        if (n == 0) {
            ++i;
            continue;
        }
        const unsigned char c = static_cast<unsigned char>(text[i]);
        const bool control = n == 1 ? (c < 0x20 || c == 0x7F)
                                    : (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0);  // C1
        if (control || c == ' ') {
            if (!clean.empty() && clean.back() != ' ') clean += ' ';
        } else {
            clean.append(text.substr(i, n));
        }
        i += n;
    }
    while (!clean.empty() && clean.back() == ' ') clean.pop_back();
    if (clean.size() <= max_bytes) return clean;
    constexpr std::string_view kCut = "...";
    std::size_t end = max_bytes > kCut.size() ? max_bytes - kCut.size() : 0;
    while (end > 0 && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;  // not inside a character
    return clean.substr(0, end) + std::string(kCut.substr(0, std::min(kCut.size(), max_bytes)));
}

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
        out[text("batch_uuid")].push_back({.node_slug = label_text(text("node_slug"), kMaxErrorLabelBytes),
                                           .failed_runs = cell_number(result, r, "failed_runs", kWhat),
                                           .top_error = label_text(text("top_error"), kMaxErrorLabelBytes)});
    }, page_rows);
    return out;
}

}  // namespace cargomon::collectors
