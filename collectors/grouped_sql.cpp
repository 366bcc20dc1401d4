#include "collectors/grouped_sql.h"

#include <spdlog/spdlog.h>

#include "cargo/query_errors.h"
#include "collectors/series.h"
#include "metrics/self_metrics.h"

namespace cargomon::collectors {

std::string sql_string(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::size_t required_column(const cargo::QueryResult& result, std::string_view name, std::string_view what) {
    if (auto c = result.column(name)) return *c;
    throw cargo::ParseError(std::string(what) + ": answer lacks column " + std::string(name), 200, "", "");
}

std::string cell_text(const cargo::QueryResult& result, std::size_t r, std::string_view column, std::string_view what,
                      bool null_as_empty) {
    const auto& cell = result.at(r, required_column(result, column, what));
    if (const auto* v = cell.text()) return *v;
    if (null_as_empty && cell.is_null()) return "";
    throw cargo::ParseError(std::string(what) + ": row " + std::to_string(r) + " has no text in " + std::string(column),
                            200, "", "");
}

double cell_number(const cargo::QueryResult& result, std::size_t r, std::string_view column, std::string_view what) {
    if (const auto v = result.at(r, required_column(result, column, what)).as_double()) return *v;
    throw cargo::ParseError(std::string(what) + ": row " + std::to_string(r) + " has no number in " + std::string(column),
                            200, "", "");
}

void for_each_row_by_workflow(cargo::ApiClient& client, const CollectContext& context, const Clock& clock,
                              const std::function<std::string(const std::string& condition)>& sql_for,
                              const std::function<void(const cargo::QueryResult&, std::size_t row)>& row,
                              std::size_t page_rows) {
    std::string condition = "1";
    for (;;) {
        check_time_left(context, clock);
        const auto result = client.query(sql_for(condition) + " LIMIT " + std::to_string(page_rows));
        const std::size_t n = result.row_count();
        if (n == 0) return;
        auto workflow_of = [&](std::size_t r) { return cell_text(result, r, "workflow_uuid", "grouped query"); };
        if (n < page_rows) {
            for (std::size_t r = 0; r < n; ++r) row(result, r);
            return;
        }
        const std::string last = workflow_of(n - 1);
        std::size_t end = n;
        while (end > 0 && workflow_of(end - 1) == last) --end;
        if (end == 0)
            throw CollectorError("mapping", "workflow " + last + " alone has more than " + std::to_string(page_rows) +
                                                " rows in a grouped query; use strategy: api for this collector");
        for (std::size_t r = 0; r < end; ++r) row(result, r);
        condition = "workflow_uuid >= " + sql_string(last);
    }
}

SqlStrategy::SqlStrategy(std::string collector, config::CountStrategy strategy, prometheus::Registry* registry)
    : collector_(std::move(collector)),
      strategy_(strategy),
      fallbacks_(registry ? &metrics::counter_family(*registry, "cargomon_collector_sql_fallbacks_total",
                                                     "Collections with strategy auto whose SQL query was refused, so "
                                                     "they called the API per workflow instead")
                                 .Add({{"collector", collector_}})
                          : nullptr) {}

bool SqlStrategy::run(const std::function<void()>& sql, const std::function<void()>& api) {
    if (strategy_ == config::CountStrategy::api) {
        api();
        return false;
    }
    try {
        sql();
        return true;
    } catch (const cargo::AuthorizationError&) {
        throw;
    } catch (const cargo::ApiError& e) {
        // The service's status for a query it cannot run is not documented: a query's own
        // failure under a 5xx falls back as one under a 4xx does.
        const bool refused = dynamic_cast<const cargo::RequestError*>(&e) || dynamic_cast<const cargo::ParseError*>(&e) ||
                             (dynamic_cast<const cargo::ServerError*>(&e) && cargo::is_query_failure(e));
        if (strategy_ == config::CountStrategy::sql || !refused) throw;
        if (fallbacks_) fallbacks_->Increment();
        if (!logged_.exchange(true))
            spdlog::warn("collector {}: the grouped SQL query was refused, calling the API per workflow instead: {}",
                         collector_, e.what());
    }
    api();
    return false;
}

}  // namespace cargomon::collectors
