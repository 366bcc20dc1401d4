#pragma once
// The four tables of a workspace, as Cargo exposes them to SQL (docs/cargo-api.md), one
// ClickHouse database per workspace.
#include <string>
#include <string_view>
#include <vector>

namespace cargomon::sim {

// CREATE DATABASE / TABLE statements for `database`, idempotent (IF NOT EXISTS).
std::vector<std::string> schema_statements(std::string_view database);

// The tables a caller's SQL may name, without a database prefix.
inline constexpr std::string_view kTables[] = {"runs", "batches", "spans", "records"};

}  // namespace cargomon::sim
