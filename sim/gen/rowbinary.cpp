#include "sim/gen/rowbinary.h"

#include <bit>
#include <cstdint>
#include <cstring>

namespace cargomon::sim {
namespace {

static_assert(std::endian::native == std::endian::little, "RowBinary is little-endian; so must the host be");

template <typename T>
void put_raw(std::string& out, T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.append(bytes, sizeof(T));
}

void put(std::string& out, std::string_view s) {
    std::uint64_t n = s.size();
    do {  // LEB128 length
        char byte = static_cast<char>(n & 0x7F);
        n >>= 7;
        if (n) byte |= static_cast<char>(0x80);
        out.push_back(byte);
    } while (n);
    out.append(s);
}

void put(std::string& out, const OptionalText& s) {
    out.push_back(s ? 0 : 1);
    if (s) put(out, *s);
}

// DateTime is seconds since the epoch as UInt32; the sim works in milliseconds, floored.
void put(std::string& out, SystemTime t) {
    auto s = std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
    put_raw(out, static_cast<std::uint32_t>(s));
}

void put(std::string& out, const OptionalTime& t) {
    out.push_back(t ? 0 : 1);
    if (t) put(out, *t);
}

void put(std::string& out, std::uint64_t v) { put_raw(out, v); }
void put(std::string& out, std::uint32_t v) { put_raw(out, v); }
void put(std::string& out, double v) { put_raw(out, v); }

template <typename... Fields>
void put_all(std::string& out, const Fields&... fields) {
    (put(out, fields), ...);
}

}  // namespace

std::string_view insert_table(Table table) {
    switch (table) {
        case Table::batches:
            return "batches_versions";
        case Table::runs:
            return "runs";
        case Table::spans:
            return "spans";
        case Table::records:
            return "records";
    }
    return "runs";
}

// Field order is the column order of sim/clickhouse/schema.cpp.
void append_row_binary(std::string& out, const BatchRow& r) {
    put_all(out, r.uuid, r.workspace_uuid, r.workflow_uuid, r.user_uuid, r.release_uuid, r.data, r.status,
            r.runs_status, r.runs_count, r.executed_runs_count, r.failed_runs_count, r.credits_used_count,
            r.error_message, r.created_at, r.updated_at, r.finished_at, r.version);
}

void append_row_binary(std::string& out, const RunRow& r) {
    put_all(out, r.uuid, r.workspace_uuid, r.workflow_uuid, r.user_uuid, r.release_uuid, r.batch_uuid, r.trace_uuid,
            r.record_id, r.record_title, r.status, r.error_message, r.created_at, r.updated_at, r.finished_at);
}

void append_row_binary(std::string& out, const SpanRow& r) {
    put_all(out, r.workspace_uuid, r.workflow_uuid, r.batch_uuid, r.trace_uuid, r.record_id, r.record_title, r.run_uuid,
            r.release_uuid, r.node_uuid, r.node_slug, r.node_kind, r.node_action_slug, r.node_connector_uuid,
            r.node_integration_slug, r.node_tool_uuid, r.node_agent_uuid, r.execution_index, r.execution_status,
            r.execution_error_message, r.execution_credits_used_count, r.execution_started_at, r.execution_updated_at,
            r.execution_finished_at);
}

void append_row_binary(std::string& out, const RecordRow& r) {
    put_all(out, r.id, r.title, r.workspace_uuid, r.workflow_uuid, r.batch_uuid, r.run_uuid, r.release_uuid, r.status,
            r.error_message, r.created_at, r.updated_at, r.finished_at);
}

RowBinaryBlocks::RowBinaryBlocks(std::size_t rows_per_block, Full full)
    : rows_per_block_(rows_per_block == 0 ? 1 : rows_per_block), full_(std::move(full)) {}

void RowBinaryBlocks::flush() {
    for (Table t : kAllTables)
        if (blocks_[static_cast<int>(t)].rows > 0) hand_on(t);
}

void RowBinaryBlocks::hand_on(Table table) {
    Block& b = blocks_[static_cast<int>(table)];
    std::string data = std::move(b.data);
    std::size_t rows = b.rows;
    b.data = std::string();
    b.data.reserve(data.capacity());
    b.rows = 0;
    full_(table, std::move(data), rows);
}

}  // namespace cargomon::sim
