#include "sim/clickhouse/schema.h"

namespace cargomon::sim {

// Why these keys: every API filter starts with a workflow and a creation window, so
// (workflow_uuid, created_at) lets ClickHouse skip all granules of other workflows and
// older days; batches are few and updated in place, hence ReplacingMergeTree behind a
// FINAL view so no reader ever sees two versions of a batch.
std::vector<std::string> schema_statements(std::string_view database) {
    const std::string db(database);
    return {
        "CREATE DATABASE IF NOT EXISTS " + db,
        "CREATE TABLE IF NOT EXISTS " + db + R"(.runs (
            uuid String, workspace_uuid String, workflow_uuid String, user_uuid Nullable(String),
            release_uuid Nullable(String), batch_uuid Nullable(String), trace_uuid String,
            record_id String, record_title String, status String, error_message Nullable(String),
            created_at DateTime, updated_at DateTime, finished_at Nullable(DateTime)
        ) ENGINE = MergeTree PARTITION BY toYYYYMM(created_at) ORDER BY (workflow_uuid, created_at, uuid)
          SETTINGS index_granularity = 1024)",
        "CREATE TABLE IF NOT EXISTS " + db + R"(.batches_versions (
            uuid String, workspace_uuid String, workflow_uuid String, user_uuid Nullable(String),
            release_uuid Nullable(String), data String, status String, runs_status Nullable(String),
            runs_count UInt64, executed_runs_count UInt64, failed_runs_count UInt64,
            credits_used_count Float64, error_message Nullable(String),
            created_at DateTime, updated_at DateTime, finished_at Nullable(DateTime), version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (workflow_uuid, created_at, uuid))",
        "CREATE VIEW IF NOT EXISTS " + db + R"(.batches AS SELECT
            uuid, workspace_uuid, workflow_uuid, user_uuid, release_uuid, data, status, runs_status,
            runs_count, executed_runs_count, failed_runs_count, credits_used_count, error_message,
            created_at, updated_at, finished_at
          FROM )" + db + ".batches_versions FINAL",
        "CREATE TABLE IF NOT EXISTS " + db + R"(.spans (
            workspace_uuid String, workflow_uuid String, batch_uuid String, trace_uuid String,
            record_id String, record_title String, run_uuid String, release_uuid Nullable(String),
            node_uuid String, node_slug String, node_kind String, node_action_slug String,
            node_connector_uuid Nullable(String), node_integration_slug Nullable(String),
            node_tool_uuid Nullable(String), node_agent_uuid Nullable(String),
            execution_index UInt32, execution_status String, execution_error_message Nullable(String),
            execution_credits_used_count Float64, execution_started_at DateTime,
            execution_updated_at DateTime, execution_finished_at Nullable(DateTime)
        ) ENGINE = MergeTree PARTITION BY toYYYYMM(execution_started_at)
          ORDER BY (workflow_uuid, execution_started_at, node_slug) SETTINGS index_granularity = 1024)",
        "CREATE TABLE IF NOT EXISTS " + db + R"(.records (
            id String, title String, workspace_uuid String, workflow_uuid String, batch_uuid Nullable(String),
            run_uuid String, release_uuid Nullable(String), status String, error_message Nullable(String),
            created_at DateTime, updated_at DateTime, finished_at Nullable(DateTime)
        ) ENGINE = MergeTree PARTITION BY toYYYYMM(created_at) ORDER BY (workflow_uuid, created_at, id)
          SETTINGS index_granularity = 1024)",
    };
}

}  // namespace cargomon::sim
