#pragma once
// Grouped SQL over every workflow at once, for the collectors that would otherwise ask
// the API once per workflow (batches, run_metrics): a cycle then costs a few calls
// whatever the workspace's size. Strategy auto falls back to the per-workflow calls
// when the token may not run SQL or the query is refused.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "cargo/client.h"
#include "collectors/collector.h"
#include "config/config.h"

namespace cargomon::collectors {

// The API's max_result_rows: a bigger answer is an error, not a truncation.
inline constexpr std::size_t kMaxQueryRows = 10'000;

// A ClickHouse string literal, quotes and backslashes escaped: it's -> 'it\'s'.
std::string sql_string(std::string_view text);

// Runs a query whose rows are ordered by workflow_uuid first, in pages of at most
// `page_rows` rows, and hands every row to `row` in order. `sql_for(condition)` returns
// the query with `condition` (a boolean SQL expression on workflow_uuid, "1" for the first
// page) in its WHERE and no final LIMIT; the query may limit rows per workflow (LIMIT n BY
// workflow_uuid). Pages split between workflows, never inside one: a full page's last
// workflow, which may go on past it, is asked again in the next page
// (workflow_uuid >= it), so each workflow's rows come from one answer. Throws
// CollectorError("mapping") when one workflow alone fills a page, and what the client
// throws.
void for_each_row_by_workflow(cargo::ApiClient& client, const CollectContext& context, const Clock& clock,
                              const std::function<std::string(const std::string& condition)>& sql_for,
                              const std::function<void(const cargo::QueryResult&, std::size_t row)>& row,
                              std::size_t page_rows = kMaxQueryRows);

// A column of `result` by name, or a ParseError naming `what` (the query's purpose).
std::size_t required_column(const cargo::QueryResult& result, std::string_view name, std::string_view what);
// The cell of row `r` in `column` as text ("" for null when `null_as_empty`) or as a number
// (64-bit counts may come as strings); a ParseError naming `what` otherwise.
std::string cell_text(const cargo::QueryResult& result, std::size_t r, std::string_view column, std::string_view what,
                      bool null_as_empty = false);
double cell_number(const cargo::QueryResult& result, std::size_t r, std::string_view column, std::string_view what);

// Picks SQL or the per-workflow API calls for one collection, after the collector's
// `strategy`. With auto, a refused query (a 4xx answer other than 401, a 5xx carrying
// ClickHouse's error for the query: cargo/query_errors.h, or an answer without the
// expected columns) falls back to the API for the whole collection, counted in
// cargomon_collector_sql_fallbacks_total{collector} and logged once per collector; other
// failures (network, a 5xx that is the server's, 401) would fail the API calls as well,
// so they fail the run. SQL is tried again at the next collection.
// Thread-safe: the scheduler never overlaps a collector with itself, and logged_ is atomic.
class SqlStrategy {
public:
    // `registry` may be nullptr (tests): fallbacks are then not counted.
    SqlStrategy(std::string collector, config::CountStrategy strategy, prometheus::Registry* registry);

    // Runs `sql`, or `api` when the strategy says so or `sql` is refused under auto.
    // `sql` must leave nothing behind when it throws (build its results in locals).
    // Returns true when the numbers came from SQL.
    bool run(const std::function<void()>& sql, const std::function<void()>& api);

private:
    std::string collector_;
    config::CountStrategy strategy_;
    prometheus::Counter* fallbacks_;
    std::atomic<bool> logged_{false};
};

}  // namespace cargomon::collectors
