#pragma once
// The sim's ClickHouse written to directly, as the sim's own workload would: batches that
// finish (again) at a chosen time, as tests need them. Header-only; link sim_core.
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sim/clickhouse/clickhouse.h"
#include "tests/support/sim_process.h"

namespace cargomon::testing {

class Warehouse {
public:
    explicit Warehouse(const SimProcess& sim) : ch_(sim.clickhouse_url()) {
        database_ = ch_.query("SELECT database FROM system.tables WHERE name = 'batches_versions' LIMIT 1 FORMAT TSV");
        while (!database_.empty() && database_.back() == '\n') database_.pop_back();
        if (database_.empty()) throw std::runtime_error("no workspace database in the sim's ClickHouse");
    }

    // `batches` finish again, as they were, `ahead` seconds from now: a newer version of
    // each row. A minute ahead, a re-run an earlier case made of one of them (created
    // before now) is older than the look-up's margin before their end, as a re-run of an
    // earlier life; a second ahead is after the epoch of any daemon already started.
    void refinish(const std::vector<std::string>& batches, int ahead = 60) const {
        next_second();
        ch_.query("INSERT INTO " + database_ + ".batches_versions SELECT uuid, workspace_uuid, workflow_uuid, "
                  "user_uuid, release_uuid, data, status, runs_status, runs_count, executed_runs_count, "
                  "failed_runs_count, credits_used_count, error_message, created_at, updated_at, now() + " +
                  std::to_string(ahead) + ", " + version() + " FROM " + database_ + ".batches WHERE uuid IN (" +
                  in(batches) + ")");
    }

    // `rerun` ends as `like` did: its failed runs (the same records and messages) copied
    // under it, and it finished `success` with them failed, a second from now (so before
    // the epoch of any daemon a later case starts).
    void fail_like(const std::string& rerun, const std::string& like) const {
        next_second();
        ch_.query("INSERT INTO " + database_ + ".runs SELECT toString(generateUUIDv4()), workspace_uuid, "
                  "workflow_uuid, user_uuid, release_uuid, '" + rerun + "', trace_uuid, record_id, record_title, "
                  "status, error_message, now(), now(), now() FROM " + database_ + ".runs WHERE batch_uuid = '" +
                  like + "' AND status = 'error'");
        const std::string of_like = " FROM " + database_ + ".batches WHERE uuid = '" + like + "')";
        ch_.query("INSERT INTO " + database_ + ".batches_versions WITH (SELECT failed_runs_count" + of_like +
                  " AS n, (SELECT credits_used_count" + of_like + " AS c SELECT uuid, workspace_uuid, workflow_uuid, "
                  "user_uuid, release_uuid, data, 'success', 'unhealthy', n, n, n, c, NULL, created_at, now(), "
                  "now() + 1, " + version() + " FROM " + database_ + ".batches WHERE uuid = '" + rerun + "'");
    }

    // `rerun` finishes `success` now with `runs` runs of which `failed` failed, as the sim's
    // workload would end it (the sim leaves the batches the API creates pending).
    void finish(const std::string& rerun, int runs, int failed) const {
        next_second();
        const std::string n = std::to_string(runs), f = std::to_string(failed);
        ch_.query("INSERT INTO " + database_ + ".batches_versions SELECT uuid, workspace_uuid, workflow_uuid, "
                  "user_uuid, release_uuid, data, 'success', '" + (failed > 0 ? "unhealthy" : "healthy") + "', " + n +
                  ", " + n + ", " + f + ", credits_used_count, NULL, created_at, now(), now(), " + version() +
                  " FROM " + database_ + ".batches WHERE uuid = '" + rerun + "'");
    }

private:
    // Times in the sim are whole seconds: a batch created by an earlier case in the second
    // these rows finish in would look created after they finished.
    static void next_second() {
        const auto now = std::chrono::system_clock::now();
        std::this_thread::sleep_until(std::chrono::ceil<std::chrono::seconds>(now));
    }
    static std::string version() { return "toUInt64(toUnixTimestamp(now())) * 1000 + 120000"; }
    static std::string in(const std::vector<std::string>& uuids) {
        std::string out;
        for (const auto& u : uuids) out += (out.empty() ? "'" : ", '") + u + "'";
        return out;
    }
    sim::ClickHouseClient ch_;
    std::string database_;
};

}  // namespace cargomon::testing
